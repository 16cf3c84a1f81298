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
		if s := ClosestCloud(cloud); s != "" {
			return nil, fmt.Errorf("unknown cloud %q; did you mean %q?", cloud, s)
		}
		return nil, fmt.Errorf("unknown cloud %q (known: %s)", cloud, strings.Join(Clouds, ", "))
	}
	return templates.ReadFile("templates/" + cloud + ".yaml")
}

// ClosestCloud names the cloud a mistyped or differently spelt name most
// likely meant, or "": upstream Sindri's other names (google, oracle,
// alicloud), else one edit away, swapped letters counting as one (gpc is
// gcp; mars is nothing).
func ClosestCloud(name string) string {
	if a, ok := cloudAliases[strings.ToLower(name)]; ok {
		return a
	}
	best, bestDist := "", 2
	if len(name) > 4 {
		bestDist = 3
	}
	for _, c := range Clouds {
		if d := osaDistance(strings.ToLower(name), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// osaDistance is the edit distance where swapping two adjacent letters is
// one edit (optimal string alignment).
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
