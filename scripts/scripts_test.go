package scripts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestFilesAndNames(t *testing.T) {
	onDisk, err := filepath.Glob("*.sh")
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) == 0 {
		t.Fatal("no *.sh in the package folder")
	}
	slices.Sort(onDisk)

	names := Names()
	if !slices.Equal(names, onDisk) {
		t.Errorf("Names() = %q, want every *.sh of the folder %q", names, onDisk)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Names() not sorted: %q", names)
	}

	files := Files()
	if len(files) != len(onDisk) {
		t.Errorf("Files() has %d entries, want %d", len(files), len(onDisk))
	}
	for _, name := range onDisk {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := files[name]; !ok {
			t.Errorf("Files() lacks %s", name)
		} else if !bytes.Equal(got, want) {
			t.Errorf("Files()[%s] differs from the file on disk", name)
		}
	}
	// The folder's other files are not provisioning scripts.
	for name := range files {
		if !strings.HasSuffix(name, ".sh") || strings.Contains(name, "/") {
			t.Errorf("Files() holds %q", name)
		}
	}
}

// TestBuildOrderScriptsExist checks every step of README.md's build order
// is embedded, and every embedded script is documented there.
func TestBuildOrderScriptsExist(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := Names()
	for _, want := range []string{
		"init.sh", "install-sindri.sh", "install-extensions.sh", "run-ansible.sh",
		"security-hardening.sh", "openscap-scan.sh", "cleanup.sh",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is not embedded", want)
		}
	}
	for _, name := range names {
		if !bytes.Contains(readme, []byte("\n## "+name+"\n")) {
			t.Errorf("README.md has no section for %s", name)
		}
	}
}

func TestBashSyntax(t *testing.T) {
	bash := need(t, "bash")
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), bash, "-n", name).CombinedOutput()
			if err != nil {
				t.Errorf("bash -n %s: %v\n%s", name, err, out)
			}
		})
	}
}

// TestScriptHeaders checks the rules README.md sets for every script.
func TestScriptHeaders(t *testing.T) {
	for name, data := range Files() {
		t.Run(name, func(t *testing.T) {
			s := string(data)
			if !strings.HasPrefix(s, "#!/usr/bin/env bash\n") {
				t.Error("does not start with #!/usr/bin/env bash")
			}
			if !strings.Contains(s, "\nset -euo pipefail\n") {
				t.Error("lacks set -euo pipefail")
			}
			if !strings.Contains(s, `readonly SCRIPT="`+name+`"`) {
				t.Errorf("log prefix is not hard-coded as %s", name)
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	t.Parallel()
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is not installed (required when CI=true)")
		}
		t.Skip("shellcheck is not installed; install it to lint the provisioning scripts")
	}
	args := append([]string{"-x", "-S", "style", "--format", "gcc"}, Names()...)
	out, err := exec.CommandContext(t.Context(), sc, args...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck -x -S style: %v\n%s", err, out)
	}
}

// --- running scripts on the host ---------------------------------------------

// need returns the path of a program the test needs, or skips.
func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (required when CI=true)", prog)
		}
		t.Skipf("%s is not installed", prog)
	}
	return p
}

// currentUser is the login name the scripts run sindri as: the user running
// the test, so nothing needs root or another account.
func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skipf("cannot determine the current user: %v", err)
	}
	if !regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`).MatchString(u.Username) {
		t.Skipf("user name %q is not one the scripts accept", u.Username)
	}
	if err := exec.Command("id", "-u", u.Username).Run(); err != nil {
		t.Skipf("id -u %s: %v", u.Username, err)
	}
	return u.Username
}

// result is one script run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runScript runs one of the scripts with bash and an explicit environment:
// only PATH from the host, plus env. No proxy or curl configuration of the
// host leaks in.
func runScript(t *testing.T, name string, env map[string]string) result {
	t.Helper()
	bash := need(t, "bash")
	script, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bash, script)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v", name, err)
	}
	return r
}
