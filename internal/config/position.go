package config

import (
	"reflect"
	"runtime"
	"sync"
	"weak"
)

// Position is where a field's value was written.
type Position struct {
	File  string // the config file, or "--set" for an override
	Line  int    // 1-based; 0 when unknown
	Col   int
	Field string // dotted path as written, e.g. packer.instance_type
	// Set is false when the field was absent and took its default; the
	// position is then its parent's.
	Set bool
}

// positions keeps each parsed Config's field positions beside it, not in
// it, so a Config stays a plain value (comparable in tests, copyable); an
// entry goes when its Config is collected.
var positions sync.Map // weak.Pointer[Config] → map[slot]loc

func remember(c *Config, where map[slot]loc) {
	key := weak.Make(c)
	positions.Store(key, where)
	runtime.AddCleanup(c, func(k weak.Pointer[Config]) { positions.Delete(k) }, key)
}

// PositionOf returns where the value of the field ptr points at (a field
// of c, e.g. &c.Packer.Clouds.AWS.InstanceType) was written, when c came
// from Parse or Load.
func (c *Config) PositionOf(ptr any) (Position, bool) {
	v, ok := positions.Load(weak.Make(c))
	if !ok {
		return Position{}, false
	}
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return Position{}, false
	}
	l, ok := v.(map[slot]loc)[slot{rv.Pointer(), rv.Type().Elem()}]
	if !ok {
		return Position{}, false
	}
	return Position{File: l.file, Line: l.line, Col: l.col, Field: l.path, Set: l.set}, true
}
