package sindripacker_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/action"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

var update = flag.Bool("update", false, "rewrite the generated parts of README.md and docs/")

// actionYML is action.yml, in file order.
type actionYML struct {
	Name, Description string
	Branding          map[string]string
	Runs              struct {
		Using      string   `yaml:"using"`
		Image      string   `yaml:"image"`
		Entrypoint string   `yaml:"entrypoint"`
		Args       []string `yaml:"args"`
	}
	Inputs  []actionInput
	Outputs []actionInput
}

type actionInput struct {
	Name        string
	Description string  `yaml:"description"`
	Required    bool    `yaml:"required"`
	Default     *string `yaml:"default"`
}

func readActionYML(t *testing.T) actionYML {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Name        string            `yaml:"name"`
		Description string            `yaml:"description"`
		Author      string            `yaml:"author"`
		Branding    map[string]string `yaml:"branding"`
		Runs        yaml.Node         `yaml:"runs"`
		Inputs      yaml.Node         `yaml:"inputs"`
		Outputs     yaml.Node         `yaml:"outputs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	a := actionYML{Name: doc.Name, Description: doc.Description, Branding: doc.Branding}
	if err := doc.Runs.Decode(&a.Runs); err != nil {
		t.Fatal(err)
	}
	ordered := func(n *yaml.Node) []actionInput {
		var out []actionInput
		for i := 0; i+1 < len(n.Content); i += 2 {
			var in actionInput
			if err := n.Content[i+1].Decode(&in); err != nil {
				t.Fatalf("action.yml %s: %v", n.Content[i].Value, err)
			}
			in.Name = n.Content[i].Value
			out = append(out, in)
		}
		return out
	}
	a.Inputs, a.Outputs = ordered(&doc.Inputs), ordered(&doc.Outputs)
	return a
}

func actionInputs(t *testing.T) map[string]actionInput {
	t.Helper()
	m := map[string]actionInput{}
	for _, in := range readActionYML(t).Inputs {
		m[in.Name] = in
	}
	return m
}

// TestActionYML: action.yml is a Docker action whose entrypoint is
// `sindri-packer action`, and its inputs are exactly what the entrypoint
// reads, with the same defaults.
func TestActionYML(t *testing.T) {
	t.Parallel()
	a := readActionYML(t)
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Errorf("runs %+v, want using docker, image Dockerfile", a.Runs)
	}
	if got := append([]string{a.Runs.Entrypoint}, a.Runs.Args...); !slices.Equal(got, []string{"sindri-packer", "action"}) {
		t.Errorf("runs entrypoint+args %q, want the Dockerfile's ENTRYPOINT [sindri-packer action]", got)
	}
	if a.Branding["icon"] == "" || a.Branding["color"] == "" || a.Name == "" || a.Description == "" {
		t.Errorf("name %q, description %q, branding %v", a.Name, a.Description, a.Branding)
	}
	var yml, known []string
	for _, in := range a.Inputs {
		yml = append(yml, in.Name)
		if in.Description == "" {
			t.Errorf("input %s has no description", in.Name)
		}
		if in.Required {
			t.Errorf("input %s is required: every input has a default or is optional", in.Name)
		}
	}
	for _, in := range action.Inputs {
		known = append(known, in.Name)
		y, ok := actionInputs(t)[in.Name]
		if !ok {
			continue
		}
		def := ""
		if y.Default != nil {
			def = *y.Default
		}
		if def != in.Default {
			t.Errorf("input %s: default %q in action.yml, %q in internal/action", in.Name, def, in.Default)
		}
	}
	if !slices.Equal(yml, known) {
		t.Errorf("action.yml inputs %q\ninternal/action.Inputs %q (same names, same order)", yml, known)
	}
	// The command input lists every command.
	for _, c := range action.Commands {
		if d := actionInputs(t)["command"].Description; !strings.Contains(d, c) {
			t.Errorf("the command input's description does not name %s", c)
		}
	}
	var outs []string
	for _, o := range a.Outputs {
		outs = append(outs, o.Name)
	}
	want := []string{"images", "image-regions"}
	for _, c := range config.Clouds {
		want = append(want, c+"-image-id")
	}
	want = append(want, "manifest", "matrix", "config-hash", "config-hashes", "test-result", "instance-id", "instance-address")
	if !slices.Equal(outs, want) {
		t.Errorf("outputs %q, want %q", outs, want)
	}
}

// inputsTable is the README's inputs and outputs tables, generated from
// action.yml.
func inputsTable(a actionYML) string {
	var b strings.Builder
	b.WriteString("| input | default | description |\n|---|---|---|\n")
	for _, in := range a.Inputs {
		def := ""
		if in.Default != nil && *in.Default != "" {
			def = "`" + *in.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", in.Name, def, cell(in.Description))
	}
	b.WriteString("\n| output | description |\n|---|---|\n")
	for _, o := range a.Outputs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", o.Name, cell(o.Description))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "|", `\|`) }

// syncSection checks that the text between the BEGIN/END markers named
// name in file is want; with rewrite it writes want there instead.
func syncSection(file, name, want string, rewrite bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	text := string(data)
	begin := "<!-- BEGIN " + name + " (generated: go test . -update) -->\n"
	end := "<!-- END " + name + " -->"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q markers", file, strings.TrimSpace(begin), end)
	}
	if got := text[i+len(begin) : j]; got != want {
		if rewrite {
			return os.WriteFile(file, []byte(text[:i+len(begin)]+want+text[j:]), 0o644)
		}
		return fmt.Errorf("%s: the %s section differs from its source (run go test . -update)\n--- got:\n%s\n--- want:\n%s", file, name, got, want)
	}
	return nil
}

func generated(t *testing.T, file, name, want string) {
	t.Helper()
	if err := syncSection(file, name, want, *update); err != nil {
		t.Error(err)
	}
}

// TestSyncSectionFails: a README whose table lags action.yml fails, and
// -update's rewrite makes it pass.
func TestSyncSectionFails(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "README.md")
	stale := strings.Replace(inputsTable(readActionYML(t)), "| `command` | `build` |", "| `command` | `validate` |", 1)
	doc := "# x\n<!-- BEGIN action-inputs (generated: go test . -update) -->\n" + stale + "<!-- END action-inputs -->\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	want := inputsTable(readActionYML(t))
	if err := syncSection(file, "action-inputs", want, false); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("stale table: error %v", err)
	}
	if err := syncSection(file, "action-inputs", want, true); err != nil {
		t.Fatal(err)
	}
	if err := syncSection(file, "action-inputs", want, false); err != nil {
		t.Errorf("after rewrite: %v", err)
	}
	if err := syncSection(filepath.Join(t.TempDir(), "none.md"), "action-inputs", want, false); err == nil {
		t.Error("missing file: no error")
	}
}

// TestREADMEInputs: the README's inputs/outputs tables are action.yml's.
func TestREADMEInputs(t *testing.T) {
	generated(t, "README.md", "action-inputs", inputsTable(readActionYML(t)))
}

// fieldsTable documents a config struct from its tags: key, default,
// description, allowed values.
func fieldsTable(prefix string, typ reflect.Type) string {
	var b strings.Builder
	b.WriteString("| field | default | description |\n|---|---|---|\n")
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "-" || !f.IsExported() {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if opts == "inline" {
				walk(prefix, ft)
				continue
			}
			doc := f.Tag.Get("doc")
			if e := f.Tag.Get("enum"); e != "" {
				doc += " (one of " + strings.ReplaceAll(e, ",", ", ") + ")"
			}
			if f.Tag.Get("required") == "true" {
				doc += " **required**"
			}
			def := ""
			if d := f.Tag.Get("default"); d != "" {
				def = "`" + d + "`"
			}
			fmt.Fprintf(&b, "| `%s%s` | %s | %s |\n", prefix, key, def, cell(doc))
			if ft.Kind() == reflect.Struct {
				walk(prefix+key+".", ft)
			}
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				walk(prefix+key+"[].", ft.Elem())
			}
		}
	}
	walk(prefix, typ)
	return b.String()
}

// TestDocsConfigFields: each cloud page's field table is its config
// struct's tags (the same tags drive decoding, defaults and the schema).
func TestDocsConfigFields(t *testing.T) {
	for file, typ := range map[string]reflect.Type{
		"docs/aws.md":            reflect.TypeFor[config.AWS](),
		"docs/azure.md":          reflect.TypeFor[config.Azure](),
		"docs/gcp.md":            reflect.TypeFor[config.GCP](),
		"docs/oci.md":            reflect.TypeFor[config.OCI](),
		"docs/alibaba.md":        reflect.TypeFor[config.Alibaba](),
		"docs/qemu.md":           reflect.TypeFor[config.QEMU](),
		"docs/image-building.md": reflect.TypeFor[config.Build](),
	} {
		prefix := "packer."
		if typ.Name() == "Build" {
			prefix = "packer.build."
		}
		generated(t, file, "config-fields", fieldsTable(prefix, typ))
	}
}
