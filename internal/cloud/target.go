package cloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// ErrNotSupported is returned (wrapped) by an operation a target cannot
// do, e.g. stopping an instance of the local qemu target. Callers check it
// in one place (Supported) instead of asserting capability interfaces.
var ErrNotSupported = errors.New("not supported by this target")

// Supported reports whether err says the operation is not supported; any
// other error (or nil) means it is.
func Supported(err error) bool { return !errors.Is(err, ErrNotSupported) }

// Target is one build target: a cloud, or the local qemu target. All that
// the tool knows about it lives behind this one shape, in
// internal/cloud/<name>; nothing above that folder switches on a name.
// Every method exists on every target: what one cannot do answers
// ErrNotSupported (Base supplies those answers and the neutral defaults).
type Target interface {
	// Name is the target's name in sindri.yaml, e.g. "aws".
	Name() string

	Packer
	Settings
	Builds
	Images
	Instances
	Sweeper
	// CheckCredentials is what doctor asks: a cheap identity call through
	// the standard credential chain. The description names the identity
	// (account, subscription, project, tenancy), never a secret.
	// ErrNotSupported means the target needs no credentials.
	CheckCredentials(ctx context.Context, c *config.Config) (string, error)
}

// Packer is a target's Packer side: its plugin and its source block.
type Packer interface {
	// Plugin is the Packer plugin providing the builder.
	Plugin() Plugin
	// SourceType is the builder type, e.g. "amazon-ebs".
	SourceType() string
	// Variables are extra Packer variables the source uses, set at build
	// time (never secrets); nil when there are none.
	Variables(c *config.Config) []Variable
	// Source fills the body of source "<type>" "sindri".
	Source(body *hclwrite.Body, c *config.Config, m Meta)
	// SSHUser is the user the provisioners connect as.
	SSHUser(c *config.Config) string
}

// OneRegion answers Regions and PinRegion for a target that builds its
// image in one region and copies it nowhere.
type OneRegion struct {
	Target string // the target's name, the key of its block
	Field  string // the field of the block that names the build region
	// Of reads that field; it is called only when the block exists.
	Of func(*config.CloudSet) string
}

// Regions is Field and the region it names, or "" and nil when c has no
// block of Target.
func (o OneRegion) Regions(c *config.Config) (string, []string) {
	if c == nil || !c.Packer.Clouds.Has(o.Target) {
		return "", nil
	}
	return o.Field, []string{o.Of(&c.Packer.Clouds)}
}

// Pin is PinRegion: the override of Field. ErrNotSupported when c has no
// block of Target.
func (o OneRegion) Pin(c *config.Config, region string) ([]string, error) {
	if field, _ := o.Regions(c); field == "" {
		return nil, fmt.Errorf("%s: the config has no %s block: %w", o.Target, o.Target, ErrNotSupported)
	}
	return []string{c.Packer.FieldPath(o.Target, o.Field) + "=" + region}, nil
}

// SignInHint is a target's answer to CredentialHint: Text, how to give it
// credentials, for an error whose message Errors matches.
type SignInHint struct {
	// Errors matches the target's messages for missing, expired or
	// refused credentials.
	Errors *regexp.Regexp
	Text   string
}

// For returns Text when err is a credential failure, else "".
func (h SignInHint) For(err error) string {
	if err == nil || !h.Errors.MatchString(err.Error()) {
		return ""
	}
	return h.Text
}

// Prerequisite is a program a target needs on the host besides packer.
type Prerequisite struct {
	Tool string // the program's name on PATH
	Hint string // how to install it
}

// Settings is what a target knows about its configuration and the
// machine: the fields that name regions, its secrets, the tools it needs.
type Settings interface {
	// Regions returns where the image is built, then the regions it is
	// copied or replicated to, and the field of the target's block that
	// names the build region ("" when the target has no region).
	Regions(c *config.Config) (field string, regions []string)
	// PinRegion returns the --set overrides (field paths as
	// config.Packer.FieldPath makes them) that build the image in region
	// only, nothing copied elsewhere. ErrNotSupported without regions.
	PinRegion(c *config.Config, region string) ([]string, error)
	// SecretEnv names the environment variables that hold the target's
	// credentials: masked in every log, never readable from sindri.yaml.
	SecretEnv() []string
	// Prerequisites are the host programs a build needs besides packer.
	Prerequisites() []Prerequisite
	// Placeholders are what an offline `packer validate` needs so that the
	// plugin accepts the template without real credentials: environment
	// entries (KEY=value) and Packer variables; files it writes go below
	// dir. Values are clearly fake.
	Placeholders(dir string) (env []string, vars map[string]string, err error)
	// ValidImageID checks the form of the target's image IDs: an ID that
	// does not match is never written as an output, into the manifest or
	// the job summary, nor accepted as a config image_id.
	ValidImageID(id string) error
	// HashInputs are target-specific inputs of the config hash (e.g. the
	// digest of a local base image); nil when there are none.
	HashInputs(c *config.Config) ([]string, error)
	// CredentialHint says how to give the target credentials (the login
	// command, the variables or file it reads) when err says they are
	// missing, expired or refused; "" for any other error.
	CredentialHint(err error) string
}

// Builds are the steps of a build that differ between targets.
type Builds interface {
	// FindImage is the build cache: the newest image carrying hash, or nil.
	FindImage(ctx context.Context, c *config.Config, hash string) (*Image, error)
	// Prepare runs before packer: extra Packer variables and a cleanup.
	Prepare(ctx context.Context, run *BuildRun) (vars map[string]string, cleanup func(), err error)
	// Describe turns packer's artifact into the image; parsed is what the
	// manifest said, read the same way for every target.
	Describe(run *BuildRun, art Artifact, parsed *Image) *Image
	// Local reports whether packer's artifact is a local file that Promote
	// registers after the image test (qemu). A cloud's image exists once
	// packer returns; a failed one is deleted with DeleteImage.
	Local() bool
	// Promote registers a local artifact that passed its test; clouds
	// answer ErrNotSupported.
	Promote(ctx context.Context, run *BuildRun, art Artifact) (*Image, error)
	// KeepFailed keeps a local artifact that failed its test
	// (--keep-failed-images) and says where; clouds answer ErrNotSupported.
	KeepFailed(run *BuildRun, art Artifact) (string, error)
}

// Images is a target's inventory of the images this tool made, found by
// TagManagedBy.
type Images interface {
	// ListImages returns this tool's images in the configured region,
	// newest first.
	ListImages(ctx context.Context, c *config.Config) ([]Image, error)
	// GetImage returns one image; ErrNotFound when it does not exist.
	GetImage(ctx context.Context, c *config.Config, id string) (*Image, error)
	// DeleteImage deletes the image and what only it uses (AWS: its
	// snapshots). Deleting an image that is gone already succeeds.
	DeleteImage(ctx context.Context, c *config.Config, id string) error
	// DeprecateImage marks the image deprecated, natively where the cloud
	// can (AWS deprecation time, GCP deprecation status, Azure gallery
	// end-of-life and exclude-from-latest), with TagDeprecated elsewhere.
	DeprecateImage(ctx context.Context, c *config.Config, id string, d Deprecation) error
}

// Instances is the whole lifecycle of instances: the temporary ones of
// image tests and the long-lived ones of deploy. Instances are found again
// by their tags, so no local state is needed.
type Instances interface {
	Launch(ctx context.Context, req LaunchRequest) (*Instance, error)
	// Terminate destroys an instance Launch returned, waiting until it is
	// gone.
	Terminate(ctx context.Context, inst *Instance) error
	ListInstances(ctx context.Context, c *config.Config, f InstanceFilter) ([]Instance, error)
	StopInstance(ctx context.Context, c *config.Config, id string) error
	StartInstance(ctx context.Context, c *config.Config, id string) error
	// TerminateInstance destroys an instance found by ListInstances; one
	// that is gone already succeeds.
	TerminateInstance(ctx context.Context, c *config.Config, id string) error
}

// Sweeper finds and deletes temporary resources (TagTemporary=Temporary)
// that a cancelled or crashed run left behind. It never returns an image
// or a deployed instance.
type Sweeper interface {
	Leftovers(ctx context.Context, c *config.Config, f SweepFilter) ([]Resource, error)
	// DeleteResource deletes one leftover; one that is gone already
	// succeeds. Deleting an instance waits until it is terminated.
	DeleteResource(ctx context.Context, c *config.Config, r Resource) error
}

// Base supplies the neutral answers of the optional parts of Target; every
// target embeds it and overrides what it does. It never pretends: what a
// target cannot do answers ErrNotSupported.
type Base struct{}

func (Base) Variables(*config.Config) []Variable                    { return nil }
func (Base) PinRegion(*config.Config, string) ([]string, error)     { return nil, ErrNotSupported }
func (Base) SecretEnv() []string                                    { return nil }
func (Base) Prerequisites() []Prerequisite                          { return nil }
func (Base) HashInputs(*config.Config) ([]string, error)            { return nil, nil }
func (Base) Describe(_ *BuildRun, _ Artifact, parsed *Image) *Image { return parsed }
func (Base) Local() bool                                            { return false }

func (Base) CredentialHint(error) string { return "" }

func (Base) Placeholders(string) ([]string, map[string]string, error) { return nil, nil, nil }

func (Base) Prepare(context.Context, *BuildRun) (map[string]string, func(), error) {
	return nil, nil, nil
}

func (Base) Promote(context.Context, *BuildRun, Artifact) (*Image, error) {
	return nil, ErrNotSupported
}

func (Base) KeepFailed(*BuildRun, Artifact) (string, error) { return "", ErrNotSupported }

func (Base) ListInstances(context.Context, *config.Config, InstanceFilter) ([]Instance, error) {
	return nil, ErrNotSupported
}

func (Base) StopInstance(context.Context, *config.Config, string) error  { return ErrNotSupported }
func (Base) StartInstance(context.Context, *config.Config, string) error { return ErrNotSupported }
func (Base) TerminateInstance(context.Context, *config.Config, string) error {
	return ErrNotSupported
}

func (Base) Leftovers(context.Context, *config.Config, SweepFilter) ([]Resource, error) {
	return nil, ErrNotSupported
}

func (Base) DeleteResource(context.Context, *config.Config, Resource) error { return ErrNotSupported }

func (Base) CheckCredentials(context.Context, *config.Config) (string, error) {
	return "", ErrNotSupported
}

// Env is the one seam through which a target reads its environment
// (endpoints, credential files, tokens): the command line passes its own
// environment down, so tests and the Action never touch the process's.
// A nil Env reads the process environment.
type Env func(key string) (string, bool)

// EnvList makes an Env from KEY=value pairs; a later entry wins.
func EnvList(kv []string) Env {
	return func(key string) (string, bool) {
		for i := len(kv) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(kv[i], "="); ok && k == key {
				return v, true
			}
		}
		return "", false
	}
}

// Lookup reads key; a nil Env reads the process environment.
func (e Env) Lookup(key string) (string, bool) {
	if e == nil {
		return os.LookupEnv(key)
	}
	return e(key)
}

// Get reads key, "" when it is not set.
func (e Env) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}
