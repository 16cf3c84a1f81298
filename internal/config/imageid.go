package config

// imageIDs checks every image_id against its cloud's form with check
// (targets.CheckImageID; package config cannot import the clouds): a
// configured image_id becomes the build's step output as it is. qemu's
// output_dir is checked the same way, since its images' IDs are paths
// inside it. A nil check checks nothing.
func (v *validator) imageIDs(c *Config, check func(cloud, id string) error) {
	if check == nil {
		return
	}
	s := &c.Packer.Clouds
	ids := map[string]*string{}
	if s.AWS != nil {
		ids["aws"] = &s.AWS.ImageID
	}
	if s.Azure != nil {
		ids["azure"] = &s.Azure.ImageID
	}
	if s.GCP != nil {
		ids["gcp"] = &s.GCP.ImageID
	}
	if s.OCI != nil {
		ids["oci"] = &s.OCI.ImageID
	}
	if s.Alibaba != nil {
		ids["alibaba"] = &s.Alibaba.ImageID
	}
	if s.QEMU != nil {
		ids["qemu"] = &s.QEMU.ImageID
	}
	for _, name := range Clouds {
		if id := ids[name]; id != nil && *id != "" {
			if err := check(name, *id); err != nil {
				v.fail(id, "%v", err)
			}
		}
	}
	if q := s.QEMU; q != nil && q.OutputDir != "" {
		if err := check("qemu", q.OutputDir); err != nil {
			v.fail(&q.OutputDir, "built images are named by their path inside it, which becomes a step output: %v", err)
		}
	}
}
