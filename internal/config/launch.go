package config

import "reflect"

// LaunchNeeds checks the fields of the named cloud's block that launching
// an instance needs although a build does not (tagged launch:"required",
// e.g. alibaba's vswitch_id): one diagnostic per empty one, at the field
// (or, when absent, its block), so that a command that will launch (the
// image test after a build, test, deploy) stops before it starts anything.
// nil when nothing is missing or the set has no such block.
func (c *Config) LaunchNeeds(name string) Diagnostics {
	b := c.Packer.Clouds.Block(name)
	if b == nil {
		return nil
	}
	rv := reflect.ValueOf(b).Elem()
	var out Diagnostics
	for _, f := range fieldsOf(rv.Type()) {
		fv := rv.FieldByIndex(f.index)
		if f.tag.Get("launch") != "required" || fv.Kind() != reflect.String || fv.String() != "" {
			continue
		}
		d := Diagnostic{File: c.File, Field: c.Packer.FieldPath(name, f.key),
			Message: "missing: launching an instance (the image test after a build, test, deploy) needs it; build --skip-tests builds without it"}
		if pos, ok := c.PositionOf(fv.Addr().Interface()); ok {
			d.File, d.Line, d.Col = pos.File, pos.Line, pos.Col
		}
		out = append(out, d)
	}
	return out
}
