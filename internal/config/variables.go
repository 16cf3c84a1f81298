package config

import "reflect"

// PackerVariable is a field of a cloud block that the rendered template
// declares as a Packer variable (tagged var:"true"), so that
// `packer build -var NAME=VALUE` on the template overrides it.
type PackerVariable struct {
	Name  string // the field's key, also the variable's name
	Doc   string // the field's doc tag
	Value string // the configured value: the variable's default
}

// PackerVariables returns the named cloud's var-tagged fields that have a
// value, in field order; nil when the set has no such block.
func (s *CloudSet) PackerVariables(name string) []PackerVariable {
	b := s.Block(name)
	if b == nil {
		return nil
	}
	rv := reflect.ValueOf(b).Elem()
	var out []PackerVariable
	for _, f := range fieldsOf(rv.Type()) {
		fv := rv.FieldByIndex(f.index)
		if f.tag.Get("var") != "true" || fv.Kind() != reflect.String || fv.String() == "" {
			continue
		}
		out = append(out, PackerVariable{Name: f.key, Doc: f.tag.Get("doc"), Value: fv.String()})
	}
	return out
}
