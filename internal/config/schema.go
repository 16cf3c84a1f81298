package config

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// SchemaID is the $id of the published JSON Schema.
const SchemaID = "https://github.com/sindri-dev/sindri-packer/schema/sindri.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of sindri.yaml, generated
// from the same struct tags the decoder and validator use.
func Schema() []byte {
	root := schemaOf(reflect.TypeOf(Config{}))
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "sindri-packer configuration (sindri.yaml)"
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return append(out, '\n')
}

type obj = map[string]any

func schemaOf(t reflect.Type) obj {
	if t == reflect.TypeOf(Packer{}) {
		return packerSchema()
	}
	props := obj{}
	var required []string
	for _, f := range fieldsOf(t) {
		sf := t.FieldByIndex(f.index)
		props[f.key] = fieldSchema(sf.Type, f.tag)
		if f.tag.Get("required") == "true" {
			required = append(required, f.key)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// packerSchema describes both forms: cloud: NAME with that cloud's fields
// inline, or clouds: {NAME: {...}}.
func packerSchema() obj {
	set := reflect.TypeOf(CloudSet{})
	pt := reflect.TypeOf(Packer{})
	clouds, _ := pt.FieldByName("Clouds")
	build, _ := pt.FieldByName("Build")
	cs := schemaOf(set)
	cs["description"] = clouds.Tag.Get("doc")
	cs["minProperties"] = 1 // the decoder wants at least one cloud
	props := obj{
		"cloud":  obj{"type": "string", "enum": Clouds, "description": "target cloud (single-cloud form)"},
		"clouds": cs,
		"build":  fieldSchema(build.Type, build.Tag),
	}
	// The multi-cloud form has nothing beside clouds: and build:.
	branches := []any{obj{
		"if":   obj{"required": []string{"clouds"}},
		"then": obj{"propertyNames": obj{"enum": []string{"clouds", "build"}}},
	}}
	for _, f := range fieldsOf(set) {
		cloudT := set.FieldByIndex(f.index).Type.Elem()
		branch := schemaOf(cloudT)
		bp := branch["properties"].(obj)
		bp["cloud"] = obj{"const": f.key}
		bp["build"] = obj{}
		then := obj{"properties": bp, "additionalProperties": false}
		if r, ok := branch["required"]; ok {
			then["required"] = r
		}
		branches = append(branches, obj{
			"if":   obj{"required": []string{"cloud"}, "properties": obj{"cloud": obj{"const": f.key}}},
			"then": then,
		})
		for k, v := range bp {
			if _, ok := props[k]; !ok {
				props[k] = v
			}
		}
	}
	return obj{
		"type":                 "object",
		"description":          "image build settings",
		"properties":           props,
		"additionalProperties": false,
		"oneOf":                []any{obj{"required": []string{"cloud"}}, obj{"required": []string{"clouds"}}},
		"allOf":                branches,
	}
}

func fieldSchema(t reflect.Type, tag reflect.StructTag) obj {
	var s obj
	switch t.Kind() {
	case reflect.Pointer:
		s = schemaOf(t.Elem())
	case reflect.Struct:
		s = schemaOf(t)
	case reflect.String:
		s = obj{"type": "string"}
		if e, ok := tag.Lookup("enum"); ok {
			s["enum"] = strings.Split(e, ",")
		}
		if p, ok := tag.Lookup("pattern"); ok {
			s["pattern"] = patterns[p].String()
		}
	case reflect.Bool:
		s = obj{"type": "boolean"}
	case reflect.Int:
		s = obj{"type": "integer"}
		if v, ok := tag.Lookup("min"); ok {
			n, _ := strconv.Atoi(v)
			s["minimum"] = n
		}
		if v, ok := tag.Lookup("max"); ok {
			n, _ := strconv.Atoi(v)
			s["maximum"] = n
		}
	case reflect.Slice:
		items := fieldSchema(t.Elem(), tag)
		if t.Elem().Kind() == reflect.String {
			items = obj{"type": "string"} // list items may not be null
			if p, ok := tag.Lookup("pattern"); ok {
				items["pattern"] = patterns[p].String()
			}
		}
		s = obj{"type": "array", "items": items}
		if tag.Get("split") == "true" {
			// Also one string of items separated by commas or spaces.
			s["type"] = []string{"array", "string", "null"}
			if p, ok := tag.Lookup("pattern"); ok {
				item := strings.TrimSuffix(strings.TrimPrefix(patterns[p].String(), "^"), "$")
				s["pattern"] = `^[\s,]*(` + item + `([\s,]+` + item + `)*)?[\s,]*$`
			}
		}
	case reflect.Map:
		s = obj{"type": "object", "additionalProperties": obj{"type": "string"}}
	}
	// "key:" with nothing after it means "use the default", so null is
	// allowed wherever the decoder accepts it.
	if tag.Get("required") != "true" && !hasRequired(t) {
		s = nullable(s)
	}
	if d, ok := tag.Lookup("doc"); ok {
		s["description"] = d
	}
	if d, ok := tag.Lookup("default"); ok {
		switch t.Kind() {
		case reflect.Bool:
			s["default"] = d == "true"
		case reflect.Int:
			n, _ := strconv.Atoi(d)
			s["default"] = n
		default:
			s["default"] = d
		}
	}
	return s
}

// nullable lets a schema also accept null.
func nullable(s obj) obj {
	if t, ok := s["type"].(string); ok {
		s["type"] = []string{t, "null"}
	}
	if e, ok := s["enum"].([]string); ok {
		vals := make([]any, 0, len(e)+1)
		for _, v := range e {
			vals = append(vals, v)
		}
		s["enum"] = append(vals, nil)
	}
	return s
}

// hasRequired reports whether a (pointer to a) struct has required fields,
// so that null, meaning "all defaults", is not a valid value for it.
func hasRequired(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for _, f := range fieldsOf(t) {
		if f.tag.Get("required") == "true" {
			return true
		}
	}
	return false
}
