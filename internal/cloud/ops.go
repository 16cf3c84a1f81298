package cloud

import (
	"cmp"
	"errors"
	"slices"
	"time"
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

// InstanceFilter selects instances by our tags; empty fields match all.
type InstanceFilter struct {
	RunID      string
	Deployment string
	// Temporary selects only instances marked TagTemporary=Temporary.
	Temporary bool
}

// Tags are the tags every instance f selects carries: TagManagedBy, and
// one for each field f sets.
func (f InstanceFilter) Tags() map[string]string {
	want := map[string]string{TagManagedBy: ManagedBy}
	if f.RunID != "" {
		want[TagRunID] = f.RunID
	}
	if f.Deployment != "" {
		want[TagDeployment] = f.Deployment
	}
	if f.Temporary {
		want[TagTemporary] = Temporary
	}
	return want
}

// HasTags reports whether have carries every tag of want.
func HasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// Resource kinds that cleanup sweeps (KindOrder is the order they are
// deleted in).
const (
	KindInstance      = "instance"
	KindImage         = "image" // only an unfinished build's intermediate image, tagged temporary
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

// KindOrder is the order cleanup lists and deletes leftovers in:
// instances first, as the rest is in use while they run.
var KindOrder = []string{KindInstance, KindImage, KindDisk, KindKeyPair, KindSecurityGroup, KindNetwork}

// CompareKinds orders two resource kinds by KindOrder; a kind not in it
// comes last.
func CompareKinds(a, b string) int {
	rank := func(kind string) int {
		if i := slices.Index(KindOrder, kind); i >= 0 {
			return i
		}
		return len(KindOrder)
	}
	return cmp.Compare(rank(a), rank(b))
}

// OldEnough reports whether a resource created at created passes Before.
// An unknown creation time (zero) fails a set Before: the resource may
// belong to a run in progress, so an age filter leaves it alone.
func (f SweepFilter) OldEnough(created time.Time) bool {
	return f.Before.IsZero() || (!created.IsZero() && created.Before(f.Before))
}
