package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/repave"
)

// defaultSweepAge protects the runs still in flight when cleanup is given
// no run id: their temporary resources are younger than this.
const defaultSweepAge = 3 * time.Hour

func (c *Command) cleanupCmd(g *global) *cobra.Command {
	var runID, olderThan string
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "cleanup [--run-id ID] [--older-than D] [--dry-run]",
		Short: "Sweep temporary instances, key pairs, security groups and disks a cancelled run left behind",
		Long: `cleanup finds the temporary resources of builds and image tests by their
tags (sindri-packer=temporary, sindri-run-id=<run>) in every selected cloud and
deletes them: instances first, then unfinished images, disks, key pairs,
security groups and networks. Deployed instances and the images builds keep
are never touched; the only images swept are temporary ones a killed build
left (aws: the unencrypted intermediate AMI of encrypt_boot, with its
snapshots).

--run-id sweeps one run (in GitHub Actions: <run id>-<attempt>, as build tags
it); without it, only resources older than --older-than (default 3h) go, so
runs still in flight are safe. --dry-run lists what would be deleted.
Exit codes: 0 swept (or nothing to sweep), 3 a cloud API call failed (a
listing or a deletion; the rest is still swept).`,
		Example: "  sindri-packer cleanup --dry-run\n  sindri-packer cleanup --run-id 1234567890-1\n  sindri-packer cleanup --older-than 1d --clouds aws,gcp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cloud.SweepFilter{RunID: runID}
			age := time.Duration(0)
			if olderThan != "" {
				d, err := repave.ParseAge(olderThan)
				if err != nil {
					return badInput("cleanup: --older-than: %v", err)
				}
				age = d
			} else if runID == "" {
				age = defaultSweepAge
			}
			if age > 0 {
				f.Before = time.Now().Add(-age)
			}
			cfg, clouds, err := c.load(g)
			if err != nil {
				return err
			}
			s := &sweep{c: c, cfg: cfg, targets: map[string]cloud.Target{}}
			s.find(cmd.Context(), clouds, f)
			s.print(asJSON)
			if len(s.found) == 0 && s.failed == 0 {
				fmt.Fprintf(c.Stderr, "cleanup: nothing left behind in %s\n", strings.Join(clouds, ", "))
			}
			if !dryRun {
				s.delete(cmd.Context())
			} else if len(s.found) > 0 {
				fmt.Fprintf(c.Stderr, "cleanup: --dry-run: %d resource(s) would be deleted\n", len(s.found))
			}
			if s.failed > 0 {
				if cmd.Context().Err() != nil {
					return errFindings // interrupted: the calls were cut short
				}
				return toolFailure(fmt.Errorf("cleanup: %d cloud API call(s) failed", s.failed))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&runID, "run-id", "", "sweep only this run's resources")
	fl.StringVar(&olderThan, "older-than", "", "sweep only resources older than this, e.g. 6h or 2d (default 3h without --run-id)")
	fl.BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	fl.BoolVar(&asJSON, "json", false, "print the leftovers as JSON")
	return cmd
}

// sweep is one cleanup run: the leftovers found per cloud and how many
// API calls failed.
type sweep struct {
	c       *Command
	cfg     *config.Config
	targets map[string]cloud.Target
	found   []leftover
	failed  int
}

// leftover is one resource found, with its cloud.
type leftover struct {
	cloud string
	cloud.Resource
}

// find lists every cloud's leftovers, instances first within a cloud; a
// target with nothing to sweep is skipped.
func (s *sweep) find(ctx context.Context, clouds []string, f cloud.SweepFilter) {
	for _, name := range clouds {
		t, err := s.c.target(name)
		if err != nil {
			fmt.Fprintf(s.c.Stderr, "%s: skipped: %v\n", name, err)
			continue
		}
		rs, err := t.Leftovers(ctx, s.cfg, f)
		if !cloud.Supported(err) {
			fmt.Fprintf(s.c.Stderr, "%s: skipped: nothing to sweep for this target\n", name)
			continue
		}
		if err != nil {
			fmt.Fprintf(s.c.Stderr, "list leftovers: %s\n", s.c.cloudError(name, err))
			s.failed++
			continue
		}
		s.targets[name] = t
		for _, r := range rs {
			s.found = append(s.found, leftover{name, r})
		}
	}
	slices.SortStableFunc(s.found, func(a, b leftover) int {
		if a.cloud != b.cloud {
			return strings.Compare(a.cloud, b.cloud)
		}
		return cloud.CompareKinds(a.Kind, b.Kind)
	})
}

// print lists the leftovers on stdout: a table, or JSON.
func (s *sweep) print(asJSON bool) {
	if asJSON {
		rows := []map[string]any{}
		for _, r := range s.found {
			rows = append(rows, map[string]any{"cloud": r.cloud, "resource": r.Resource})
		}
		_ = writeJSON(s.c.Stdout, rows)
		return
	}
	if len(s.found) == 0 {
		return
	}
	tw := tabwriter.NewWriter(s.c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLOUD\tKIND\tID\tNAME\tRUN\tCREATED")
	for _, r := range s.found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.cloud, r.Kind, r.ID, dash(r.Name), dash(r.RunID), when(r.Created))
	}
	tw.Flush()
}

// delete deletes the leftovers in order; a failure is counted and the
// rest still go.
func (s *sweep) delete(ctx context.Context) {
	for _, r := range s.found {
		if err := s.targets[r.cloud].DeleteResource(ctx, s.cfg, r.Resource); err != nil {
			fmt.Fprintf(s.c.Stderr, "delete %s %s: %s\n", r.Kind, r.ID, s.c.cloudError(r.cloud, err))
			s.failed++
			continue
		}
		fmt.Fprintf(s.c.Stderr, "%s: deleted %s %s\n", r.cloud, r.Kind, r.ID)
	}
}
