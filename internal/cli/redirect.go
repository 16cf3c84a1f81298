package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// seedDeployForms answers the seed's `sindri deploy --list-images` (an alias
// of images list, read-only) and `--delete-image ID` (destructive, so it
// names the command to run instead of running it).
func (c *Command) seedDeployForms(ctx context.Context, g *global, f *deployFlags) error {
	if f.listImages && f.deleteImage != "" {
		return badInput("deploy: give --list-images or --delete-image, not both")
	}
	if f.listImages {
		fmt.Fprintln(c.Stderr, "deploy --list-images: running sindri-packer images list")
		return c.runImagesList(ctx, g, false)
	}
	return badInput("deploy --delete-image is the seed's form; delete the image with: %s", c.imagesDeleteLine(g, f.deleteImage))
}

// imagesDeleteLine is the images delete command for the current flags: the
// same --config and --set, and --clouds naming the one cloud it acts on.
func (c *Command) imagesDeleteLine(g *global, id string) string {
	args := []string{"sindri-packer", "images", "delete"}
	if g.config != "sindri.yaml" {
		args = append(args, "--config", quoteArg(g.config))
	}
	for _, s := range g.sets {
		args = append(args, "--set", quoteArg(s))
	}
	clouds := g.clouds
	if clouds == "" || clouds == "all" {
		clouds = ""
		if cfg, err := config.Load(c.path(g.config), config.Options{Getenv: c.lookupEnv, Sets: g.sets, Credentials: secretEnv}); err == nil {
			if sel := cfg.Selected(); len(sel) == 1 {
				clouds = sel[0]
			} else {
				return strings.Join(append(args, "--clouds", "CLOUD", quoteArg(id)), " ") +
					" (CLOUD: the image's cloud, one of " + strings.Join(sel, ", ") + ")"
			}
		}
	}
	if clouds != "" {
		args = append(args, "--clouds", quoteArg(clouds))
	}
	return strings.Join(append(args, quoteArg(id)), " ")
}

// quoteArg quotes a command-line argument for a POSIX shell when it needs it.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '_' || r == '-' || r == '+' || r == '@' || r == ':' || r == ',' || r == '=' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
