package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("Schema() does not compile: %v", err)
	}
	return sch
}

// yamlToJSON converts a sindri.yaml to the JSON an editor validates,
// with ${VAR} expanded in strings.
func yamlToJSON(t *testing.T, data []byte, env map[string]string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	v, err := expandAll(v, lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	// Round trip through encoding/json so the validator sees JSON types.
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func expandAll(v any, getenv func(string) (string, bool)) (any, error) {
	switch v := v.(type) {
	case string:
		return expand(v, getenv)
	case []any:
		for i := range v {
			e, err := expandAll(v[i], getenv)
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
	case map[string]any:
		for k := range v {
			e, err := expandAll(v[k], getenv)
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
	}
	return v, nil
}

func TestSchemaIsJSON(t *testing.T) {
	data := Schema()
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	if s["$id"] != SchemaID || s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$id = %v, $schema = %v", s["$id"], s["$schema"])
	}
	if !bytes.HasSuffix(data, []byte("}\n")) {
		t.Error("Schema() does not end with a newline")
	}
	if !bytes.Equal(data, Schema()) {
		t.Error("Schema() is not deterministic")
	}
	// Every cloud has a block in the multi-cloud form.
	clouds := s["properties"].(map[string]any)["packer"].(map[string]any)["properties"].(map[string]any)["clouds"].(map[string]any)["properties"].(map[string]any)
	for _, c := range Clouds {
		if _, ok := clouds[c]; !ok {
			t.Errorf("schema has no packer.clouds.%s", c)
		}
	}
}

// Every field in the schema carries its doc tag as a description.
func TestSchemaDescribesEveryField(t *testing.T) {
	var s any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if props, ok := m["properties"].(map[string]any); ok && !strings.Contains(path, "allOf") {
			for k, p := range props {
				pm, _ := p.(map[string]any)
				if _, ok := pm["description"]; !ok {
					t.Errorf("%s.%s has no description", path, k)
				}
			}
		}
		for k, c := range m {
			switch c := c.(type) {
			case map[string]any:
				walk(path+"."+k, c)
			case []any:
				for i, e := range c {
					walk(fmt.Sprintf("%s.%s[%d]", path, k, i), e)
				}
			}
		}
	}
	walk("$", s)
}

func TestSchemaAcceptsGoodConfigs(t *testing.T) {
	sch := compileSchema(t)
	// Files whose ${VAR} fill integer or boolean fields: the schema sees
	// the YAML text, where those are strings.
	typedVars := map[string]bool{"env": true}
	files, _ := filepath.Glob(filepath.Join("testdata", "ok", "*.yaml"))
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(yamlToJSON(t, data, testEnv))
			if typedVars[name] {
				if err == nil {
					t.Error("validates although listed as using ${VAR} for typed fields; drop it from the list")
				}
				return
			}
			if err != nil {
				t.Errorf("schema rejects a config that loads:\n%v", err)
			}
		})
	}
}

func TestSchemaAcceptsTemplates(t *testing.T) {
	sch := compileSchema(t)
	for _, cloud := range Clouds {
		data, err := Template(cloud)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data, templateEnv)); err != nil {
			t.Errorf("%s template: %v", cloud, err)
		}
	}
}

// The schema refuses what the decoder refuses, where a schema can tell.
func TestSchemaRejectsBadConfigs(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{
		"unknown-key", "unknown-key-multi", "unknown-key-multi-inline", "unknown-key-build",
		"unknown-key-top", "unknown-key-no-match", "enum", "unknown-cloud", "unknown-cloud-map",
		"cloud-and-clouds", "no-cloud", "range-min", "range-max", "wrong-type-quoted",
		"wrong-type-bool", "wrong-type-list-for-string", "wrong-type-mapping-for-list",
		"required-azure", "required-gcp", "required-oci", "required-gallery", "names",
		"provider", "patterns", "ssh-timeout-unparseable",
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "err", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(yamlToJSON(t, data, testEnv)); err == nil {
				t.Error("schema accepts it")
			}
		})
	}
	for name, data := range map[string]string{
		"null block with required fields": "packer:\n  clouds:\n    azure:\n",
		"null list item":                  "packer:\n  cloud: qemu\n  build: {extensions: [a, ~]}\n",
		"null cloud":                      "packer:\n  cloud:\n",
		"null tag value":                  "packer:\n  cloud: aws\n  tags: {a: ~}\n",
		"neither form":                    "packer: {}\n",
		"no cloud block":                  "packer:\n  clouds: {}\n",
		"null clouds":                     "packer:\n  clouds:\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse("x.yaml", []byte(data), testOptions()); err == nil {
				t.Fatal("the decoder accepts it; the case is wrong")
			}
			if err := sch.Validate(yamlToJSON(t, []byte(data), testEnv)); err == nil {
				t.Error("schema accepts it")
			}
		})
	}
}
