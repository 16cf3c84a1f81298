package validate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// checksumPlaceholder stands in, for packer validate only, for a checksum
// that packer would download: well-formed, so every other check runs, and
// matching no image.
const checksumPlaceholder = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// offline returns the configuration to render for packer validate: c, or
// a copy in which every value packer validate would fetch is replaced by a
// placeholder, with one notice per replaced field at its sindri.yaml line.
//
// What packer validate fetches was read from the plugins' Prepare code:
// only the qemu builder's iso_checksum of the form "file:SOURCE" (our
// base_image_checksum), which it downloads through go-getter to check the
// checksum early (http(s), s3, gcs, git and local paths alike). Its
// iso_url (base_image) is not fetched by validate; the cloud builders make
// no calls in Prepare with the settings we render.
func offline(c *config.Config) (*config.Config, []Finding) {
	q := c.Packer.Clouds.QEMU
	if q == nil || !strings.HasPrefix(q.BaseImageChecksum, "file:") {
		return c, nil
	}
	cp := *c
	qc := *q
	qc.BaseImageChecksum = checksumPlaceholder
	cp.Packer.Clouds.QEMU = &qc
	n := Finding{File: c.File, Tool: "sindri-packer", Level: LevelNotice}
	field := "base_image_checksum"
	if p, ok := c.PositionOf(&q.BaseImageChecksum); ok {
		field = p.Field
		if p.File == c.File {
			n.Line, n.Col = p.Line, p.Col
		}
	}
	n.Message = field + ": the checksum file is not fetched during validate, which stays offline; build downloads and checks it"
	return &cp, []Finding{n}
}

// unshare is the util-linux program that gives packer validate an empty
// network namespace.
var unshare = "unshare"

// isolateNetwork returns the command packer validate runs under: a new
// network namespace without any interface up, when one can be made here
// (as root, or through an unprivileged user namespace), else nil; an
// unprivileged container usually allows neither, and validate then relies
// on offline() alone. PATH is the host's, where unshare is looked up.
func isolateNetwork(ctx context.Context, path string) []string {
	bin := lookPath(unshare, path)
	if bin == "" {
		return nil
	}
	for _, wrap := range [][]string{
		{bin, "--net", "--"},
		{bin, "--user", "--map-root-user", "--net", "--"},
	} {
		// The probe runs unshare itself inside the namespace, so it needs
		// nothing else on PATH.
		cmd := exec.CommandContext(ctx, wrap[0], append(wrap[1:], bin, "--version")...)
		cmd.Env = []string{}
		if cmd.Run() == nil {
			return wrap
		}
	}
	return nil
}

// lookPath finds an executable file in a PATH list; "" when there is none.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
