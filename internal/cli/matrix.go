package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
)

// matrixEntry is one job of strategy.matrix.
type matrixEntry struct {
	Cloud  string `json:"cloud"`
	Region string `json:"region"`
}

func (c *Command) matrixCmd(g *global) *cobra.Command {
	var perRegion bool
	cmd := &cobra.Command{
		Use:   "matrix [--per-region]",
		Short: "Print a GitHub Actions strategy.matrix with one job per cloud",
		Long: `matrix prints {"include":[{"cloud":..,"region":..},..]} for the selected
clouds, for strategy.matrix: fromJSON(needs.plan.outputs.matrix). Inside
GitHub Actions it is also the step output "matrix".

With --per-region a cloud that copies its image to more regions (aws
ami_regions, azure gallery replication_regions) gets one job per region
instead; each job builds natively in its region, without copies:
  sindri-packer build --clouds "${{ matrix.cloud }}" --region "${{ matrix.region }}"
Scale past one runner this way, then merge the jobs' manifests with summarize.`,
		Example: "  sindri-packer matrix\n  sindri-packer matrix --clouds aws,gcp --per-region",
		Args:    cobra.NoArgs,
		RunE: c.withConfig(g, true, func(_ context.Context, cfg *config.Config, clouds []string) error {
			var include []matrixEntry
			for _, name := range clouds {
				t, err := c.target(name)
				if err != nil {
					return badInput("matrix: %v", err)
				}
				_, all := t.Regions(cfg)
				// ami_regions may repeat the build region: one job per region.
				var regions []string
				for _, r := range all {
					if !slices.Contains(regions, r) {
						regions = append(regions, r)
					}
				}
				if !perRegion || len(regions) == 1 {
					include = append(include, matrixEntry{Cloud: name, Region: regions[0]})
					continue
				}
				for _, r := range regions {
					include = append(include, matrixEntry{Cloud: name, Region: r})
				}
			}
			data, _ := json.Marshal(map[string][]matrixEntry{"include": include})
			fmt.Fprintln(c.Stdout, string(data))
			rep := gha.New(c.getenv, c.Stderr)
			if err := rep.SetOutput("matrix", string(data)); err != nil {
				return toolFailure(err)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&perRegion, "per-region", false, "one job per region for clouds that copy images to several regions")
	return cmd
}

func (c *Command) summarizeCmd() *cobra.Command {
	var dir, out string
	cmd := &cobra.Command{
		Use:   "summarize --manifests DIR [--manifest FILE]",
		Short: "Merge the manifests of matrix jobs into one summary and one set of outputs",
		Long: `summarize reads every sindri-packer manifest under DIR (for example the
downloaded artifacts of a build matrix), merges their clouds into one
manifest (--manifest), prints the table and, inside GitHub Actions, writes the
job summary and the same outputs build writes. When a cloud appears in
several manifests the most recent result wins. Exit 1 if any cloud failed.`,
		Example: "  sindri-packer summarize --manifests manifests/",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return badInput("summarize: --manifests DIR is required")
			}
			if fi, err := os.Stat(c.path(dir)); err != nil || !fi.IsDir() {
				return badInput("summarize: --manifests %s: not a folder", dir)
			}
			merged, n, err := mergeManifests(c.path(dir), c.path(out))
			if err != nil {
				return badInput("summarize: %v", err)
			}
			if n == 0 {
				return badInput("summarize: no sindri-packer manifest under %s", dir)
			}
			rep := gha.New(c.getenv, c.Stdout)
			return c.report(rep, merged, out, false)
		},
	}
	cmd.Flags().StringVar(&dir, "manifests", "", "folder searched (recursively) for manifests")
	cmd.Flags().StringVar(&out, "manifest", "sindri-manifest.json", "where to write the merged manifest")
	return cmd
}

// mergeManifests merges every manifest found under dir, skipping the output
// file itself and JSON files that are not manifests.
func mergeManifests(dir, out string) (*pipeline.Manifest, int, error) {
	var found []*pipeline.Manifest
	absOut, _ := filepath.Abs(out)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		if abs, _ := filepath.Abs(p); abs == absOut {
			return nil
		}
		m, err := pipeline.ReadManifest(p)
		if err != nil {
			return nil // another JSON file: not ours
		}
		found = append(found, m)
		return nil
	})
	if err != nil || len(found) == 0 {
		return nil, 0, err
	}
	slices.SortStableFunc(found, func(a, b *pipeline.Manifest) int { return a.FinishedAt.Compare(b.FinishedAt) })
	merged := &pipeline.Manifest{Clouds: map[string]*pipeline.CloudResult{}}
	var runIDs []string
	hashes := map[string]string{}
	for _, m := range found {
		if !slices.Contains(runIDs, m.RunID) {
			runIDs = append(runIDs, m.RunID)
		}
		if merged.StartedAt.IsZero() || m.StartedAt.Before(merged.StartedAt) {
			merged.StartedAt = m.StartedAt
		}
		if m.FinishedAt.After(merged.FinishedAt) {
			merged.FinishedAt = m.FinishedAt
		}
		merged.SindriVersion, merged.PackerVersion = m.SindriVersion, m.PackerVersion
		for name, r := range m.Clouds {
			merged.Clouds[name] = r
			hashes[name] = r.ConfigHash
		}
	}
	merged.RunID = strings.Join(runIDs, ",")
	merged.ConfigHash = pipeline.RunHash(hashes)
	return merged, len(found), nil
}
