package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/report"
)

// Table renders the manifest as a markdown table: the job summary inside
// GitHub Actions, and what the terminal shows outside it.
func (m *Manifest) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### sindri-packer build `%s`\n\n", m.RunID)
	// Each cloud's config hash is in its row: the hash its image carries
	// and its build log shows (the run's hash over them tags nothing).
	fmt.Fprintf(&b, "Sindri %s · Packer %s\n\n", m.SindriVersion, m.PackerVersion)
	t := report.NewTable(
		report.Column{Name: "cloud"}, report.Column{Name: "regions", Dash: true},
		report.Column{Name: "image ID", Code: true, Dash: true}, report.Column{Name: "status"},
		report.Column{Name: "duration"}, report.Column{Name: "cached"},
		report.Column{Name: "config hash", Code: true, Dash: true})
	for _, name := range m.Names() {
		r := m.Clouds[name]
		status := string(r.Status)
		if r.Error != "" {
			status += ": " + r.Error
		}
		cached := "no"
		if r.Status == StatusCached {
			cached = "yes"
		}
		t.Row(name, strings.Join(slices.Sorted(maps.Keys(r.Images)), ", "), r.ImageID, status,
			duration(r.BuildSeconds), cached, short(r.ConfigHash))
	}
	return b.String() + t.Markdown()
}

func duration(sec float64) string {
	switch {
	case sec == 0:
		return "—"
	case sec < 60:
		return fmt.Sprintf("%.1fs", sec)
	default:
		return fmt.Sprintf("%dm%02ds", int(sec)/60, int(sec)%60)
	}
}

// Outputs are the step outputs of a run: images (cloud → image ID),
// image-regions (cloud → region → ID, for clouds with regions),
// <cloud>-image-id, config-hashes (cloud → config hash), manifest, and
// config-hash when the run has exactly one cloud (every matrix job): that
// cloud's hash, the one its image carries and its log shows. With several
// clouds there is no single hash an image carries, so there is none.
func (m *Manifest) Outputs(manifestPath string) map[string]string {
	out := map[string]string{"manifest": manifestPath}
	hashes := map[string]string{}
	for _, name := range m.Names() {
		if h := m.Clouds[name].ConfigHash; h != "" {
			hashes[name] = h
		}
	}
	out["config-hashes"] = mustJSON(hashes)
	if names := m.Names(); len(names) == 1 && hashes[names[0]] != "" {
		out["config-hash"] = hashes[names[0]]
	}
	images := map[string]string{}
	regions := map[string]map[string]string{}
	for _, name := range m.Names() {
		r := m.Clouds[name]
		if r.ImageID == "" {
			continue
		}
		images[name] = r.ImageID
		out[name+"-image-id"] = r.ImageID
		if len(r.Images) > 0 {
			regions[name] = r.Images
		}
	}
	out["images"] = mustJSON(images)
	out["image-regions"] = mustJSON(regions)
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v) // maps of strings always marshal, keys sorted
	if err != nil {
		panic(err)
	}
	return string(b)
}

// cloudName and regionName are the forms of a result's cloud and of the
// regions its images are in; both become parts of output names and JSON.
var (
	cloudName  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	regionName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
)

// CheckImageIDs checks every image ID of every result with valid (the
// cloud's own form, targets.ValidImageID) before anything is written: a
// result holding an ID that does not match fails, its IDs removed, so an
// ID that packer printed or a manifest carried can reach no output, no
// manifest and no summary unless it has its cloud's form. A result under a
// cloud name that is not one is dropped. It returns what it refused.
func (m *Manifest) CheckImageIDs(valid func(cloud, id string) error) error {
	var errs []error
	for name, r := range m.Clouds {
		if !cloudName.MatchString(name) {
			delete(m.Clouds, name)
			errs = append(errs, fmt.Errorf("manifest: %q is not a cloud name; its result was dropped", name))
			continue
		}
		if field, err := r.checkIDs(name, valid); err != nil {
			// The refused text itself goes to the log only.
			r.Status, r.Error = StatusFailed, "refused the image ID in "+field+": it is not of the form of "+name+" image IDs"
			r.ImageID, r.Images, r.Extra = "", nil, nil
			errs = append(errs, fmt.Errorf("%s: %s: %w", name, field, err))
		}
	}
	return errors.Join(errs...)
}

func (r *CloudResult) checkIDs(name string, valid func(cloud, id string) error) (field string, err error) {
	if r.ImageID != "" {
		if err := valid(name, r.ImageID); err != nil {
			return "image_id", err
		}
	}
	for _, region := range slices.Sorted(maps.Keys(r.Images)) {
		if !regionName.MatchString(region) {
			return "images", fmt.Errorf("%q is not a region name", region)
		}
		if err := valid(name, r.Images[region]); err != nil {
			return "images", err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		if err := valid(name, r.Extra[k]); err != nil {
			return "extra", err
		}
	}
	return "", nil
}
