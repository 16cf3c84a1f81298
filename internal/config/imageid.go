package config

import "reflect"

// imageIDs checks every image_id against its cloud's form with check
// (targets.CheckImageID; package config cannot import the clouds): a
// configured image_id becomes the build's step output as it is. A field
// tagged imageid:"why" (qemu's output_dir: its images' IDs are paths
// inside it) is checked the same way, the tag saying why. A nil check
// checks nothing.
func (v *validator) imageIDs(c *Config, check func(cloud, id string) error) {
	if check == nil {
		return
	}
	for _, name := range Clouds {
		b := c.Packer.Clouds.Block(name)
		if b == nil {
			continue
		}
		if id := &b.common().ImageID; *id != "" {
			if err := check(name, *id); err != nil {
				v.fail(id, "%v", err)
			}
		}
		block := reflect.ValueOf(b).Elem()
		for _, f := range fieldsOf(block.Type()) {
			why := f.tag.Get("imageid")
			p, ok := block.FieldByIndex(f.index).Addr().Interface().(*string)
			if why == "" || !ok || *p == "" {
				continue
			}
			if err := check(name, *p); err != nil {
				v.fail(p, "%s: %v", why, err)
			}
		}
	}
}
