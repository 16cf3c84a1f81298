package inspec

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// cisGuard is the exact only_if every control in controls/cis.rb carries, so
// an image built with security.cis_hardening: false reports them as skipped.
const cisGuard = "only_if('CIS hardening disabled in sindri.yaml') { input('cis_hardening') }"

var controlRE = regexp.MustCompile(`(?m)^[ \t]*control[ \t]+'([^']*)'[ \t]+do[ \t]*$`)

// controls splits a controls file into control id -> body (up to the next
// control), failing on any `control` that is not `control 'ID' do`.
func controls(t *testing.T, name string, src []byte) (ids []string, bodies map[string]string) {
	t.Helper()
	if n, m := len(regexp.MustCompile(`(?m)^[ \t]*control\b`).FindAll(src, -1)), len(controlRE.FindAll(src, -1)); n != m {
		t.Fatalf("%s: %d `control` lines but only %d of the form control 'ID' do", name, n, m)
	}
	bodies = map[string]string{}
	locs := controlRE.FindAllSubmatchIndex(src, -1)
	for i, loc := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		id := string(src[loc[2]:loc[3]])
		ids = append(ids, id)
		bodies[id] = string(src[loc[0]:end])
	}
	return ids, bodies
}

func rbFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, b := range Files() {
		if strings.HasPrefix(name, "controls/") && strings.HasSuffix(name, ".rb") {
			out[name] = b
		}
	}
	if len(out) == 0 {
		t.Fatal("no controls/*.rb embedded")
	}
	return out
}

// TestRubySyntax runs `ruby -c` on every embedded control file. Without ruby
// it skips (apt-get install -y ruby), except under CI=true, where it fails.
func TestRubySyntax(t *testing.T) {
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ruby is not installed (apt-get install -y ruby); CI=true requires the syntax check")
		}
		t.Skip("ruby is not installed (apt-get install -y ruby); skipping the controls' syntax check (CI=true makes this a failure)")
	}
	dir := t.TempDir()
	for name, b := range rbFiles(t) {
		p := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(ruby, "-c", p).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Syntax OK")) {
			t.Errorf("ruby -c %s: %v\n%s", name, err, out)
		}
	}
}

type metadata struct {
	Name          string           `yaml:"name"`
	Title         string           `yaml:"title"`
	Maintainer    string           `yaml:"maintainer"`
	Copyright     string           `yaml:"copyright"`
	Summary       string           `yaml:"summary"`
	Version       string           `yaml:"version"`
	License       string           `yaml:"license"`
	Description   string           `yaml:"description"`
	InspecVersion string           `yaml:"inspec_version"`
	Supports      []map[string]any `yaml:"supports"`
	Inputs        []map[string]any `yaml:"inputs"`
}

func TestMetadata(t *testing.T) {
	var m metadata
	dec := yaml.NewDecoder(bytes.NewReader(Files()["inspec.yml"]))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("inspec.yml: %v", err)
	}
	if m.Name != "sindri-image" || m.Maintainer != "sindri-packer" || m.License != "Apache-2.0" || m.Title == "" {
		t.Errorf("inspec.yml: name %q maintainer %q license %q title %q", m.Name, m.Maintainer, m.License, m.Title)
	}
	if !strings.Contains(m.Description, "--sudo") {
		t.Error("inspec.yml: the description must tell to run with --sudo")
	}
	var platforms []string
	for _, s := range m.Supports {
		platforms = append(platforms, s["platform-name"].(string))
	}
	if slices.Sort(platforms); !slices.Equal(platforms, []string{"debian", "ubuntu"}) {
		t.Errorf("inspec.yml supports %v, want platform-name debian and ubuntu", m.Supports)
	}

	type want struct {
		typ      string
		required bool
		hasValue bool
		value    any
	}
	wants := map[string]want{
		"sindri_version":  {typ: "String", required: true},
		"profile":         {typ: "String", hasValue: true, value: ""},
		"extensions":      {typ: "Array", hasValue: true, value: []any{}},
		"cis_hardening":   {typ: "Boolean", hasValue: true, value: true},
		"ssh_user":        {typ: "String", hasValue: true, value: "sindri"},
		"docker_expected": {typ: "Boolean", hasValue: true, value: false},
	}
	seen := map[string]bool{}
	for _, in := range m.Inputs {
		name, _ := in["name"].(string)
		w, ok := wants[name]
		if !ok {
			t.Errorf("inspec.yml: unexpected input %q", name)
			continue
		}
		if seen[name] {
			t.Errorf("inspec.yml: input %q declared twice", name)
		}
		seen[name] = true
		if in["type"] != w.typ {
			t.Errorf("input %s: type %v, want %s", name, in["type"], w.typ)
		}
		if req, _ := in["required"].(bool); req != w.required {
			t.Errorf("input %s: required %v, want %v", name, in["required"], w.required)
		}
		if _, ok := in["default"]; ok {
			t.Errorf("input %s: use value:, not the deprecated default:", name)
		}
		v, has := in["value"]
		switch {
		case has != w.hasValue:
			t.Errorf("input %s: has value %v, want %v", name, has, w.hasValue)
		case has && w.typ == "Array":
			if l, ok := v.([]any); !ok || len(l) != 0 {
				t.Errorf("input %s: value %#v, want []", name, v)
			}
		case has && v != w.value:
			t.Errorf("input %s: value %#v, want %#v", name, v, w.value)
		}
		if d, _ := in["description"].(string); d == "" {
			t.Errorf("input %s: no description", name)
		}
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("inspec.yml: input %q missing", name)
		}
	}
}

func TestControls(t *testing.T) {
	impactRE := regexp.MustCompile(`(?m)^[ \t]*impact[ \t]+([0-9.]+)[ \t]*$`)
	idRE := regexp.MustCompile(`^sindri-[a-z]+-[0-9]{2}$`)
	where := map[string]string{}
	for name, src := range rbFiles(t) {
		ids, bodies := controls(t, name, src)
		if len(ids) == 0 {
			t.Errorf("%s: no controls", name)
		}
		for _, id := range ids {
			if prev, dup := where[id]; dup {
				t.Errorf("control id %s in %s and %s", id, prev, name)
			}
			where[id] = name
			if !idRE.MatchString(id) {
				t.Errorf("%s: control id %q is not sindri-<concern>-NN", name, id)
			}
			body := bodies[id]
			m := impactRE.FindStringSubmatch(body)
			if m == nil {
				t.Errorf("%s: %s has no impact", name, id)
			} else if f, err := strconv.ParseFloat(m[1], 64); err != nil || f < 0 || f > 1 {
				t.Errorf("%s: %s impact %s not within 0.0-1.0", name, id, m[1])
			}
			for _, kw := range []string{"title", "desc"} {
				if !regexp.MustCompile(`(?m)^[ \t]*` + kw + `[ \t(]`).MatchString(body) {
					t.Errorf("%s: %s has no %s", name, id, kw)
				}
			}
			if name == "controls/cis.rb" && !strings.Contains(body, cisGuard) {
				t.Errorf("%s: %s lacks the guard %s", name, id, cisGuard)
			}
		}
	}
	for _, f := range []string{"sindri", "ssh", "cis", "hygiene", "base"} {
		if _, ok := Files()["controls/"+f+".rb"]; !ok {
			t.Errorf("controls/%s.rb missing", f)
		}
	}
}

// TestFiles checks Files against the profile on disk: inspec.yml and every
// controls/*.rb, byte for byte, and nothing else; Names is sorted.
func TestFiles(t *testing.T) {
	disk, err := filepath.Glob("controls/*.rb")
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"inspec.yml"}, disk...)
	slices.Sort(want)
	got := Files()
	if names := Names(); !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, name := range want {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[name], b) {
			t.Errorf("Files()[%q] differs from the file on disk", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Files() has %d entries, want %d", len(got), len(want))
	}
}

// TestControlsFollowScripts keeps the controls in step with the provisioning
// scripts: the files they write and the values they set must be what the
// controls expect.
func TestControlsFollowScripts(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "scripts", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	all := ""
	for _, b := range rbFiles(t) {
		all += string(b)
	}
	cis := string(Files()["controls/cis.rb"])
	hardening := read("security-hardening.sh")

	for _, p := range []string{
		"/etc/ssh/sshd_config.d/50-sindri-hardening.conf", "/etc/sysctl.d/60-sindri-hardening.conf",
		"/etc/modprobe.d/60-sindri-cis.conf", "/etc/audit/rules.d/60-sindri.rules",
		"7783-7084-3265-9085-8269-3286-77", "/etc/default/ufw", "IPT_SYSCTL=",
	} {
		if !strings.Contains(hardening, p) || !strings.Contains(cis, p) {
			t.Errorf("%s: not in both security-hardening.sh and cis.rb", p)
		}
	}
	heredoc := func(src, start string) []string {
		i := strings.Index(src, start)
		if i < 0 {
			t.Fatalf("security-hardening.sh: %q not found", start)
		}
		body := src[i+len(start):]
		body = body[:strings.Index(body, "\nEOF\n")]
		var lines []string
		for _, l := range strings.Split(body, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	for _, l := range heredoc(hardening, "write_file \"${SSHD_DROPIN}\" 0644 <<'EOF'\n") {
		f := strings.Fields(l)
		if want := "%w[" + f[0] + " " + f[1] + "]"; len(f) != 2 || !strings.Contains(cis, want) {
			t.Errorf("sshd drop-in line %q: cis.rb lacks %s", l, want)
		}
	}
	for _, l := range heredoc(hardening, "write_file /etc/sysctl.d/60-sindri-hardening.conf 0644 <<'EOF'\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "-"), " = ")
		if want := "'" + k + "' => " + v + ","; !strings.Contains(cis, want) {
			t.Errorf("sysctl line %q: cis.rb lacks %s", l, want)
		}
	}
	if !strings.Contains(hardening, "Authorized use only. All activity on this system may be monitored and recorded.\nDisconnect now if you are not an authorized user.'") ||
		!strings.Contains(cis, `"Authorized use only. All activity on this system may be monitored and recorded.\n" \`+"\n"+`         "Disconnect now if you are not an authorized user.\n"`) {
		t.Error("login banner text differs between security-hardening.sh and cis.rb")
	}

	for script, paths := range map[string][]string{
		"install-sindri.sh": {"share/sindri-packer", "sindri.install", ".sindri/state", ".sindri/extensions", ".sindri/cache"},
		"cleanup.sh":        {"sindri-regenerate-host-keys.service", "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key", "ExecStart=/usr/bin/ssh-keygen -A"},
	} {
		src := read(script)
		for _, p := range paths {
			if !strings.Contains(src, p) || !strings.Contains(all, p) {
				t.Errorf("%s: %q not in both the script and the controls", script, p)
			}
		}
	}
	// The packages init.sh installs are the ones sindri-base-01 checks.
	init := read("init.sh")
	m := regexp.MustCompile(`BASE_PACKAGES=\(([^)]*)\)`).FindStringSubmatch(init)
	if m == nil || !strings.Contains(string(Files()["controls/base.rb"]), "%w["+m[1]+"]") {
		t.Errorf("init.sh BASE_PACKAGES %v not checked verbatim by base.rb", m)
	}
}

// issue 14: the design's checks of docker and wget run wherever the tool is
// installed, not only where the profile says Docker is expected.
func TestDockerAndWgetCheckedWhenInstalled(t *testing.T) {
	ids, bodies := controls(t, "controls/base.rb", Files()["controls/base.rb"])
	guards := map[string]string{}
	for _, id := range ids {
		b := bodies[id]
		for _, tool := range []string{"docker", "wget"} {
			if strings.Contains(b, "installed.call('"+tool+"')") && strings.Contains(b, "only_if(") {
				guards[tool] = id
			}
		}
	}
	for _, tool := range []string{"docker", "wget"} {
		if guards[tool] == "" {
			t.Errorf("no control of base.rb is guarded by %s being installed", tool)
		}
	}
	if !strings.Contains(string(Files()["controls/base.rb"]), "command -v #{Shellwords.escape(tool)}") {
		t.Error("installed does not look the tool up on PATH")
	}
}
