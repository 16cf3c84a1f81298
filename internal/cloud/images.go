package cloud

import (
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

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

	// Filled by ImageManager: where the image lives, the cloud's state
	// (available, pending, ...), its Sindri release and, when deprecated,
	// since when.
	Region        string
	State         string
	SindriVersion string
	Deprecated    time.Time
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
	// VarFiles are Packer variable files a Preparer wrote into WorkDir:
	// credentials go there, never onto packer's command line.
	VarFiles []string
}

// Artifact is what a successful packer build produced.
type Artifact struct {
	ID    string   // the artifact ID packer reported
	Files []string // files it consists of (local targets)
	// String is packer's full description of the artifact.
	String string
}

// LaunchRequest asks for a temporary instance booted from an image.
type LaunchRequest struct {
	Config  *config.Config
	ImageID string
	RunID   string
	// User is the login user cloud-init creates; PublicKey (an
	// authorized_keys line) is the only key it authorizes.
	User      string
	PublicKey string
	// WorkDir holds local files of the instance (overlay, seed, logs).
	WorkDir string
	// Deployment, when set, launches a long-lived instance of that
	// deployment (tag TagDeployment) instead of a temporary one
	// (TagTemporary), and Name names it.
	Deployment string
	Name       string
	// AllowSSHFrom is the CIDR a temporary firewall rule opens port 22 to,
	// where the cloud needs one; "" means 0.0.0.0/0 (the runner's address
	// is unknown; the instance takes only the one-off key).
	AllowSSHFrom string
}

// Temporary reports whether the instance is a run's temporary instance.
func (r LaunchRequest) Temporary() bool { return r.Deployment == "" }

// InstanceTags are the tags of an instance launched for req, in the
// cloud-neutral form the clouds adapt.
func InstanceTags(req LaunchRequest) map[string]string {
	t := map[string]string{TagManagedBy: ManagedBy, TagRunID: req.RunID}
	if req.Temporary() {
		t[TagTemporary] = Temporary
	} else {
		t[TagDeployment] = req.Deployment
	}
	return t
}

// UserData is the cloud-init user data every instance boots with: the
// login user with only the one-off (or deploy) key, passwordless sudo.
// It is encoded as YAML, never pasted: a deploy key's comment is the
// user's text, and pasted unquoted a ": " in it turned the key into a
// mapping (dropped) and a line break added keys of its own (runcmd).
// A value with anything but printable characters is double-quoted, the
// one YAML style that escapes any character (the encoder's own choice for
// it, a literal block, cannot hold e.g. a line of only a tab).
func UserData(req LaunchRequest) string {
	user := mapping(
		"name", quoted(req.User),
		"sudo", quoted("ALL=(ALL) NOPASSWD:ALL"),
		"shell", quoted("/bin/bash"),
		"ssh_authorized_keys", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{quoted(req.PublicKey)}},
	)
	doc := mapping("users", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{user}})
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// A tree of strings always encodes.
	_ = enc.Encode(doc)
	_ = enc.Close()
	return b.String()
}

func quoted(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// mapping makes a mapping of key, value, key, value... in that order.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < len(kv); i += 2 {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv[i].(string)}, kv[i+1].(*yaml.Node))
	}
	return m
}

// Instance is a running temporary instance.
type Instance struct {
	ID   string // the cloud's instance ID (qemu: its process and overlay)
	Host string // address SSH reaches
	Port int
	User string
	// Console is where the boot log can be read, if the target keeps one.
	Console string

	// Filled by InstanceManager.ListInstances (and by Launch where known).
	Name       string
	State      string // the cloud's word: running, stopped, ...
	ImageID    string
	RunID      string
	Deployment string
	Temporary  bool
	Created    time.Time
	Region     string
	// handle is the target's own state for Terminate.
	Handle any
}

// Retired reports whether the image was deprecated at or before now: such
// an image is never a cache hit.
func (im Image) Retired(now time.Time) bool { return Retired(im.Deprecated, now) }

// Retired reports whether an image deprecated at deprecated (zero: never)
// is retired at now, the rule of Image.Retired for a target that reads the
// time before it makes an Image.
func Retired(deprecated, now time.Time) bool {
	return !deprecated.IsZero() && !deprecated.After(now)
}

// CacheHit is the build cache's pick from imgs, newest first: the first
// image built from hash and not retired at now; nil when there is none.
func CacheHit(imgs []Image, hash string, now time.Time) *Image {
	for _, img := range imgs {
		if img.ConfigHash == hash && !img.Retired(now) {
			return &img
		}
	}
	return nil
}
