package cloud

import (
	"context"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Image is an image this tool made, as a cloud reports it.
type Image struct {
	ID         string            // the primary ID (first region's)
	Regions    map[string]string // region → ID, for clouds that copy images
	Name       string
	ConfigHash string
	Created    time.Time
	// Extra holds cloud-specific IDs, e.g. Azure's gallery image version.
	Extra map[string]string
}

// ImageFinder is the build cache: it finds the image carrying a config
// hash. Targets without one always build.
type ImageFinder interface {
	FindImage(ctx context.Context, c *config.Config, hash string) (*Image, error)
}

// BuildRun is what one build of one target knows while it runs.
type BuildRun struct {
	Config        *config.Config
	RunID         string
	Hash          string
	SindriVersion string
	// WorkDir is a private folder for this build's temporary files; it is
	// removed after the build.
	WorkDir string
}

// Preparer is implemented by targets that must set up per-run inputs
// before packer starts (keys, output folders, an accelerator probe). The
// returned variables are passed to packer; cleanup always runs.
type Preparer interface {
	Prepare(ctx context.Context, run *BuildRun) (vars map[string]string, cleanup func(), err error)
}

// Artifact is what a successful packer build produced.
type Artifact struct {
	ID    string   // the artifact ID packer reported
	Files []string // files it consists of (local targets)
	// String is packer's full description of the artifact.
	String string
}

// Promoter is implemented by targets whose built image must be registered
// before it counts as the cached image of its hash (the qemu store moves
// the qcow2 into place). Promotion happens only after the image passed.
type Promoter interface {
	Promote(ctx context.Context, run *BuildRun, art Artifact) (*Image, error)
}

// Describer turns a packer artifact into an Image for targets that need no
// promotion (cloud images are registered by packer itself).
type Describer interface {
	Describe(run *BuildRun, art Artifact) *Image
}
