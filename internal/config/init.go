package config

import (
	"embed"
	"fmt"
	"slices"
	"strings"
)

//go:embed templates/*.yaml
var templates embed.FS

// Template returns the documented sindri.yaml that `init --cloud` writes.
func Template(cloud string) ([]byte, error) {
	if !slices.Contains(Clouds, cloud) {
		if s := suggest(cloud, Clouds); s != "" {
			return nil, fmt.Errorf("unknown cloud %q; did you mean %q?", cloud, s)
		}
		return nil, fmt.Errorf("unknown cloud %q (known: %s)", cloud, strings.Join(Clouds, ", "))
	}
	return templates.ReadFile("templates/" + cloud + ".yaml")
}
