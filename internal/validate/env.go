package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// packerWrapCookie is the value packer's main.go checks (PACKER_WRAP_COOKIE)
// to skip its panicwrap re-exec.
const packerWrapCookie = "49C22B1A-3A93-4C98-97FA-E07D18C787B5"

// isolatedEnv builds the whole environment of a validate run: a fresh HOME
// (so no real ~/.oci, ~/.aws, ~/.azure or gcloud file is read), each
// target's clearly fake placeholders (cloud.Target Placeholders: builders
// that insist on credentials even to validate), and only PATH and
// PACKER_PLUGIN_PATH from the host. It also returns per-cloud Packer
// variables that point at the fakes.
func isolatedEnv(host []string, targets []cloud.Target) ([]string, map[string]map[string]string, func(), error) {
	home, err := os.MkdirTemp("", "sindri-validate-home-")
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup := func() { os.RemoveAll(home) }
	env := []string{
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"PACKER_CONFIG_DIR=" + filepath.Join(home, ".packer.d"),
		"PACKER_CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
		"CHECKPOINT_DISABLE=1",
		"AWS_EC2_METADATA_DISABLED=true",
		// Packer normally re-executes itself under a crash-reporting
		// wrapper (panicwrap); this cookie, which Terraform sets the same
		// way, says the wrapper is already there. Each validate then starts
		// one packer process instead of two: about 40% less time. Without
		// the wrapper packer logs everything to stderr whatever PACKER_LOG
		// says (packer 1.9.4 main.go, wrappedMain); Run reads diagnostics
		// from stdout only and never shows that log.
		"PACKER_WRAP_COOKIE=" + packerWrapCookie,
	}
	vars := map[string]map[string]string{}
	for _, t := range targets {
		e, v, err := t.Placeholders(home)
		if err != nil {
			cleanup()
			return nil, nil, nil, fmt.Errorf("%s placeholders: %w", t.Name(), err)
		}
		env = append(env, e...)
		if len(v) > 0 {
			vars[t.Name()] = v
		}
	}
	for _, kv := range host {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "PACKER_PLUGIN_PATH" {
			env = append(env, kv)
		}
	}
	return env, vars, cleanup, nil
}
