package cloud

import (
	"context"
	"errors"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Tag keys every cloud writes (adapted to its rules, e.g. GCP labels are
// lower-case) and reads back to find what this tool made.
const (
	TagManagedBy     = "managed-by"     // value ManagedBy on every image and resource
	TagConfigHash    = "config-hash"    // the build cache key
	TagSindriVersion = "sindri-version" // the release baked in
	TagRunID         = "sindri-run-id"  // the run that made a temporary resource
	TagTemporary     = "sindri-packer"  // value Temporary on what a run must remove
	TagDeployment    = "sindri-deployment"
	// TagDeprecated marks a deprecated image where the cloud has no native
	// deprecation (OCI, Alibaba): its value is an RFC 3339 time.
	TagDeprecated = "sindri-deprecated"

	ManagedBy = "sindri-packer"
	Temporary = "temporary"
)

// ErrNotFound is returned (wrapped) when an image or instance does not exist.
var ErrNotFound = errors.New("not found")

// Deprecation describes how an image is retired.
type Deprecation struct {
	// At is when the image counts as deprecated; the zero time means now.
	At time.Time
	// Replacement is the image that replaces it, when known (GCP records it).
	Replacement string
}

// ImageManager is a cloud's inventory of the images this tool made,
// found by TagManagedBy. It includes the build cache (FindImage).
type ImageManager interface {
	ImageFinder
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

// InstanceFilter selects instances by our tags; empty fields match all.
type InstanceFilter struct {
	RunID      string
	Deployment string
	// Temporary selects only instances marked TagTemporary=Temporary.
	Temporary bool
}

// InstanceManager is the whole lifecycle of instances: the temporary ones
// of image tests and the long-lived ones of deploy. Instances are found
// again by their tags, so no local state is needed.
type InstanceManager interface {
	InstanceLauncher
	ListInstances(ctx context.Context, c *config.Config, f InstanceFilter) ([]Instance, error)
	StopInstance(ctx context.Context, c *config.Config, id string) error
	StartInstance(ctx context.Context, c *config.Config, id string) error
	// TerminateInstance destroys an instance found by ListInstances;
	// one that is gone already succeeds.
	TerminateInstance(ctx context.Context, c *config.Config, id string) error
}

// Resource kinds that cleanup sweeps, in the order they are deleted
// (instances first: the others are still in use while they run).
const (
	KindInstance      = "instance"
	KindDisk          = "disk"
	KindKeyPair       = "key-pair"
	KindSecurityGroup = "security-group"
	KindNetwork       = "network"
)

// Resource is a temporary resource a run left behind, found by our tags.
type Resource struct {
	Kind    string    `json:"kind"`
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Region  string    `json:"region,omitempty"`
	RunID   string    `json:"run_id,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// SweepFilter selects leftovers; empty fields match all.
type SweepFilter struct {
	RunID string
	// Before keeps only resources created before this time.
	Before time.Time
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

// CredentialChecker is what doctor asks of a cloud: a cheap identity call
// through the SDK's standard credential chain. The description names the
// identity (account, subscription, project, tenancy), never a secret.
type CredentialChecker interface {
	CheckCredentials(ctx context.Context, c *config.Config) (string, error)
}
