package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Table renders the manifest as a markdown table: the job summary inside
// GitHub Actions, and what the terminal shows outside it.
func (m *Manifest) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### sindri-packer build `%s`\n\n", m.RunID)
	fmt.Fprintf(&b, "Sindri %s · Packer %s · config hash `%s`\n\n", m.SindriVersion, m.PackerVersion, short(m.ConfigHash))
	b.WriteString("| cloud | regions | image ID | status | duration | cached |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, name := range m.Names() {
		r := m.Clouds[name]
		regions := strings.Join(slices.Sorted(maps.Keys(r.Images)), ", ")
		id := r.ImageID
		if id == "" {
			id = "—"
		} else {
			id = "`" + id + "`"
		}
		status := string(r.Status)
		if r.Error != "" {
			status += ": " + cell(r.Error)
		}
		cached := "no"
		if r.Status == StatusCached {
			cached = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, orDash(regions), id, status, duration(r.BuildSeconds), cached)
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
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
// <cloud>-image-id, config-hash and manifest.
func (m *Manifest) Outputs(manifestPath string) map[string]string {
	out := map[string]string{"config-hash": m.ConfigHash, "manifest": manifestPath}
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
