// Package verify tests a built image on a temporary instance: SSH readiness,
// built-in checks (among them the in-effect check of every setting file the
// provisioning scripts wrote, see effective.go), then InSpec (or
// cinc-auditor) with the JSON reporter.
package verify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// Statuses of a control and of a run, as InSpec names them.
const (
	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Exit codes of `inspec exec` (and cinc-auditor, the same program).
// 0/100/101 are InSpec's "distinct exit" codes (on by default since
// InSpec 3, inspec/inspec PR #3178; Inspec::RunnerRspec#exit_code in
// lib/inspec/runner_rspec.rb): 100 when any control failed, else 101 when
// any control (or a whole profile) was skipped. 172 and 174 are Chef's
// licence checks (docs.chef.io/inspec/license, /inspec/troubleshooting).
const (
	exitPassed     = 0
	exitFailed     = 100
	exitSkipped    = 101
	exitEULA       = 172
	exitLicenseKey = 174
)

// File names inside RunOptions.WorkDir.
const (
	InputsFile = "inputs.yml"
	ReportFile = "inspec.json"
)

// waitDelay bounds how long RunInSpec waits for inspec's output pipes to
// close once the process is gone (a grandchild that left the process
// group could otherwise hold them open for ever).
const waitDelay = 5 * time.Second

// ErrNotFound is returned by FindInSpec when neither program is on PATH.
var ErrNotFound = errors.New("neither inspec nor cinc-auditor found in PATH: install InSpec " +
	"(RubyGems: gem install inspec-bin, or Chef's packages) or cinc-auditor (Cinc's packages)")

// ErrExitMismatch is wrapped by the error RunInSpec returns, together with
// a Result, when InSpec's exit code and its JSON report disagree.
var ErrExitMismatch = errors.New("inspec exit code and report disagree")

// Target is where InSpec connects.
type Target struct {
	Host    string
	Port    int // 22 when zero
	User    string
	KeyFile string
}

// Inputs are the profile's inputs (see the InSpec profile's inspec.yml).
type Inputs struct {
	SindriVersion  string
	Profile        string
	Extensions     []string
	CISHardening   bool
	SSHUser        string
	DockerExpected bool
}

// InputsFor are the inputs an image built from c is tested against, for
// the given Sindri release and login user. The build's test stage and the
// test command both take them from here, so both expect the same image.
func InputsFor(c *config.Config, sindriVersion, sshUser string) Inputs {
	b := &c.Packer.Build
	return Inputs{
		SindriVersion:  sindriVersion,
		Profile:        b.Profile,
		Extensions:     b.Extensions,
		CISHardening:   b.Security.CISHardening,
		SSHUser:        sshUser,
		DockerExpected: slices.Contains(b.Extensions, "docker"),
	}
}

// Control is one control's outcome.
type Control struct {
	ID      string  `json:"id"`
	Title   string  `json:"title,omitempty"`
	Impact  float64 `json:"impact"`
	Status  string  `json:"status"`            // passed, failed, skipped
	Message string  `json:"message,omitempty"` // failures' or skips' messages, one per line
}

// Result is one InSpec run.
type Result struct {
	Status   string    `json:"status"` // passed, failed, skipped
	ExitCode int       `json:"exit_code"`
	Passed   int       `json:"passed"` // controls
	Failed   int       `json:"failed"`
	Skipped  int       `json:"skipped"`
	Controls []Control `json:"controls"` // failures first, then by id
	// ProfileSkips holds "NAME: reason" for each profile InSpec skipped
	// as a whole (an unsupported platform); such a run is "skipped".
	ProfileSkips []string      `json:"profile_skips,omitempty"`
	Duration     time.Duration `json:"duration_ns"` // as InSpec measured it
}

// RunOptions configure RunInSpec.
type RunOptions struct {
	Bin        string // inspec or cinc-auditor, see FindInSpec
	ProfileDir string
	WorkDir    string // receives inputs.yml and inspec.json; created if missing
	Target     Target
	Inputs     Inputs
	Env        []string  // the complete environment of inspec (nothing is inherited: pass PATH, HOME)
	Log        io.Writer // inspec's cli reporter output and its stderr, as they come
}

// FindInSpec looks for "inspec", then "cinc-auditor", in the directories
// of path (a PATH value, passed in rather than read from the environment).
// An inspec anywhere on path wins over cinc-auditor. Relative entries are
// ignored, as os/exec refuses programs found through them.
func FindInSpec(path string) (bin string, err error) {
	for _, name := range []string{"inspec", "cinc-auditor"} {
		for _, dir := range filepath.SplitList(path) {
			if !filepath.IsAbs(dir) {
				continue
			}
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", ErrNotFound
}

// RunInSpec writes WorkDir/inputs.yml, runs
//
//	BIN exec PROFILE -t ssh://USER@HOST:PORT -i KEY --sudo
//	    --input-file WORKDIR/inputs.yml --reporter json:WORKDIR/inspec.json cli --no-color
//	    [--chef-license accept-silent]
//
// (the licence flag only for a binary named "inspec": cinc-auditor has no
// licence to accept) and reads the report.
//
// Exit codes 0, 100 and 101 (all passed, a failure, only skips) give a
// Result read from the report. The report is the authority on controls; if
// the exit code tells a different story, the Result carries the stricter of
// the two statuses (failed > skipped > passed, so a disagreement can never
// pass an image) and comes with an error wrapping ErrExitMismatch. Any
// other exit code, a missing or unreadable report, or a cancelled context
// is an error alone; it quotes the end of inspec's stderr and stdout.
func RunInSpec(ctx context.Context, o RunOptions) (*Result, error) {
	name := filepath.Base(o.Bin)
	o, err := o.normalize()
	if err != nil {
		return nil, fmt.Errorf("%s exec: %w", name, err)
	}
	if err := os.MkdirAll(o.WorkDir, 0o700); err != nil {
		return nil, fmt.Errorf("%s exec: %w", name, err)
	}
	inputs := filepath.Join(o.WorkDir, InputsFile)
	reportFile := filepath.Join(o.WorkDir, ReportFile)
	if err := writeInputs(inputs, o.Inputs); err != nil {
		return nil, fmt.Errorf("%s exec: %w", name, err)
	}
	// A report left by an earlier run must not pass for this one's.
	if err := os.Remove(reportFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s exec: %w", name, err)
	}

	cmd := exec.CommandContext(ctx, o.Bin, o.args(inputs, reportFile)...)
	// Never nil: a nil Env would hand inspec this process's whole
	// environment, cloud credentials included.
	cmd.Env = append([]string{}, o.Env...)
	cmd.Dir = o.WorkDir
	// Its own process group, killed as a whole on cancel: inspec is a Ruby
	// program that may run helpers, and a helper still holding the output
	// pipes would keep Wait waiting.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	stdout, stderr := &report.Tail{Max: tailMax}, &report.Tail{Max: tailMax}
	log := &lockedWriter{w: o.Log}
	cmd.Stdout = io.MultiWriter(stdout, log)
	cmd.Stderr = io.MultiWriter(stderr, log)

	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s exec: %w", name, ctx.Err())
	}
	if cmd.ProcessState == nil { // it never started
		return nil, fmt.Errorf("%s exec: %w", name, runErr)
	}
	code := cmd.ProcessState.ExitCode()
	output := func() string { return quoteOutput(stderr.Lines(), stdout.Lines()) }
	switch code {
	case exitPassed, exitFailed, exitSkipped:
	default:
		return nil, fmt.Errorf("%s exec: %s%s", name, exitMeaning(cmd.ProcessState), output())
	}
	data, err := os.ReadFile(reportFile)
	if err != nil {
		return nil, fmt.Errorf("%s exec: exit %d but no report: %w%s", name, code, err, output())
	}
	res, err := ParseReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s exec: exit %d: %s: %w%s", name, code, reportFile, err, output())
	}
	res.ExitCode = code
	if byExit := exitStatus[code]; byExit != res.Status {
		reported := res.Status
		res.Status = stricter(byExit, reported)
		return res, fmt.Errorf("%s exec: %w: exit %d means %s, the report says %s (%d failed, %d skipped); taking %s",
			name, ErrExitMismatch, code, byExit, reported, res.Failed, res.Skipped, res.Status)
	}
	return res, nil
}

var exitStatus = map[int]string{exitPassed: StatusPassed, exitFailed: StatusFailed, exitSkipped: StatusSkipped}

func stricter(a, b string) string {
	rank := map[string]int{StatusPassed: 0, StatusSkipped: 1, StatusFailed: 2}
	if rank[a] >= rank[b] {
		return a
	}
	return b
}

// exitMeaning says what an unexpected exit means.
func exitMeaning(ps *os.ProcessState) string {
	code := ps.ExitCode()
	var why string
	switch code {
	case -1:
		return ps.String() // "signal: killed"
	case 1:
		why = "usage error or crash"
	case 5, 6:
		why = "profile signature missing or invalid"
	case exitEULA:
		why = "the Chef licence was not accepted"
	case exitLicenseKey:
		why = "InSpec 6 needs a Chef licence key (CHEF_LICENSE_KEY); cinc-auditor needs none"
	default:
		why = "unexpected"
	}
	return "exit " + strconv.Itoa(code) + " (" + why + ")"
}

// normalize checks the options and makes the paths absolute, as inspec
// runs in WorkDir.
func (o RunOptions) normalize() (RunOptions, error) {
	for _, f := range []struct{ v, name string }{
		{o.Bin, "Bin"}, {o.ProfileDir, "ProfileDir"}, {o.WorkDir, "WorkDir"},
		{o.Target.Host, "Target.Host"}, {o.Target.User, "Target.User"}, {o.Target.KeyFile, "Target.KeyFile"},
	} {
		if f.v == "" {
			return o, fmt.Errorf("%s is empty", f.name)
		}
	}
	if o.Target.Port == 0 {
		o.Target.Port = 22
	}
	if o.Target.Port < 0 || o.Target.Port > 65535 {
		return o, fmt.Errorf("Target.Port %d out of range", o.Target.Port)
	}
	for _, p := range []*string{&o.ProfileDir, &o.WorkDir, &o.Target.KeyFile} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return o, err
		}
		*p = abs
	}
	if strings.ContainsRune(o.Bin, filepath.Separator) {
		abs, err := filepath.Abs(o.Bin)
		if err != nil {
			return o, err
		}
		o.Bin = abs
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

// args is inspec's command line.
func (o RunOptions) args(inputs, report string) []string {
	target := url.URL{
		Scheme: "ssh",
		User:   url.User(o.Target.User),
		Host:   net.JoinHostPort(o.Target.Host, strconv.Itoa(o.Target.Port)), // [v6]:port
	}
	args := []string{
		"exec", o.ProfileDir,
		"-t", target.String(),
		"-i", o.Target.KeyFile,
		"--sudo",
		"--input-file", inputs,
		"--reporter", "json:" + report, "cli",
		"--no-color",
	}
	if filepath.Base(o.Bin) == "inspec" {
		// Without it InSpec prompts for the EULA, or exits 172 with no
		// terminal. cinc-auditor (the same code, rebuilt by Cinc) has none.
		args = append(args, "--chef-license", "accept-silent")
	}
	return args
}

// inputsYAML is inputs.yml; the keys are the inputs of inspec/inspec.yml.
type inputsYAML struct {
	SindriVersion  string   `yaml:"sindri_version"`
	Profile        string   `yaml:"profile"`
	Extensions     []string `yaml:"extensions"`
	CISHardening   bool     `yaml:"cis_hardening"`
	SSHUser        string   `yaml:"ssh_user"`
	DockerExpected bool     `yaml:"docker_expected"`
}

func writeInputs(path string, in Inputs) error {
	ext := in.Extensions
	if ext == nil {
		ext = []string{} // "[]", not null: the input is typed Array
	}
	data, err := yaml.Marshal(inputsYAML{
		SindriVersion:  in.SindriVersion,
		Profile:        in.Profile,
		Extensions:     ext,
		CISHardening:   in.CISHardening,
		SSHUser:        in.SSHUser,
		DockerExpected: in.DockerExpected,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// execJSON is the part of the JSON reporter's document we read. Schema:
// Inspec::Schema::ExecJson (lib/inspec/schema/exec_json.rb; required
// platform, profiles, statistics, version) as written by
// lib/inspec/reporters/json.rb in InSpec 5 and 6.
type execJSON struct {
	Profiles *[]struct {
		Name          string `json:"name"`
		Status        string `json:"status"` // loaded, skipped, failed (InSpec 4.x+)
		StatusMessage string `json:"status_message"`
		SkipMessage   string `json:"skip_message"` // = status_message when skipped, kept for old readers
		Controls      []struct {
			ID      string  `json:"id"`
			Title   string  `json:"title"` // may be null
			Impact  float64 `json:"impact"`
			Results []struct {
				Status      string `json:"status"` // passed, failed, skipped
				CodeDesc    string `json:"code_desc"`
				Message     string `json:"message"`
				SkipMessage string `json:"skip_message"`
			} `json:"results"`
		} `json:"controls"`
	} `json:"profiles"`
	Statistics struct {
		Duration float64 `json:"duration"` // seconds
	} `json:"statistics"`
	Version string `json:"version"`
}

// ParseReport reads the document of InSpec's JSON reporter (`--reporter
// json`).
//
// A control's status follows InSpec's own count, which also decides its
// exit code (statistics in lib/inspec/formatters/base.rb, the same rule as
// the cli reporter's profile summary): failed if any result failed, else
// skipped if any result was skipped (an only_if'ed control has a single
// skipped result whose skip_message says why), else passed. Impact does
// not change that: a failing control of impact 0.0 is failed and makes
// InSpec exit 100. (Only the opt-in --enhanced-outcomes mode calls impact
// 0.0 "not_applicable", lib/inspec/enhanced_outcomes.rb; we do not use
// it.) A control without results (filtered out, or with no tests) is not
// counted by InSpec and is left out here too.
//
// The same control id in several profiles (a wrapper profile and the one
// it includes) is counted once, as InSpec's all_unique_controls does.
//
// A report that lists no profile, a profile that failed to load, or no
// control result at all (nothing was tested) is an error.
func ParseReport(data []byte) (*Result, error) {
	var r execJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("inspec json report: %w", err)
	}
	if r.Profiles == nil {
		return nil, errors.New("inspec json report: no \"profiles\": not the document of --reporter json")
	}
	if len(*r.Profiles) == 0 {
		return nil, errors.New("inspec json report: no profiles: nothing was tested")
	}
	res := &Result{Duration: time.Duration(math.Round(r.Statistics.Duration * float64(time.Second)))}
	seen := map[string]bool{}
	for _, p := range *r.Profiles {
		switch p.Status {
		case "failed":
			return nil, fmt.Errorf("inspec json report: profile %s failed to load: %s", p.Name, p.StatusMessage)
		case StatusSkipped:
			why := cmp.Or(p.StatusMessage, p.SkipMessage, "skipped")
			res.ProfileSkips = append(res.ProfileSkips, p.Name+": "+why)
		}
		for _, c := range p.Controls {
			if len(c.Results) == 0 || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			ctl := Control{ID: c.ID, Title: c.Title, Impact: c.Impact, Status: StatusPassed}
			var failures, skips []string
			skipped := false
			for _, rs := range c.Results {
				switch rs.Status {
				case StatusFailed:
					msg := strings.TrimSpace(rs.CodeDesc)
					if m := strings.TrimSpace(rs.Message); m != "" {
						msg += ": " + m
					}
					failures = append(failures, msg)
				case StatusSkipped:
					skipped = true
					if m := strings.TrimSpace(rs.SkipMessage); m != "" && !slices.Contains(skips, m) {
						skips = append(skips, m)
					}
				}
			}
			switch {
			case len(failures) > 0:
				ctl.Status, ctl.Message = StatusFailed, strings.Join(failures, "\n")
				res.Failed++
			case skipped:
				ctl.Status, ctl.Message = StatusSkipped, strings.Join(skips, "\n")
				res.Skipped++
			default:
				res.Passed++
			}
			res.Controls = append(res.Controls, ctl)
		}
	}
	if len(res.Controls) == 0 && len(res.ProfileSkips) == 0 {
		return nil, errors.New("inspec json report: no control has results: nothing was tested")
	}
	slices.SortStableFunc(res.Controls, func(a, b Control) int {
		return cmp.Or(
			cmp.Compare(boolRank(a.Status != StatusFailed), boolRank(b.Status != StatusFailed)),
			strings.Compare(a.ID, b.ID),
		)
	})
	switch {
	case res.Failed > 0:
		res.Status = StatusFailed
	case res.Skipped > 0 || len(res.ProfileSkips) > 0:
		res.Status = StatusSkipped
	default:
		res.Status = StatusPassed
	}
	return res, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tailMax is how much of each stream an error quotes.
const tailMax = 4 << 10

// quoteOutput formats the ends of stderr and stdout for an error.
func quoteOutput(stderr, stdout string) string {
	var b strings.Builder
	for _, s := range []struct{ name, text string }{{"stderr", stderr}, {"stdout", stdout}} {
		if s.text != "" {
			fmt.Fprintf(&b, "\n--- %s (end) ---\n%s", s.name, s.text)
		}
	}
	if b.Len() == 0 {
		return " (no output)"
	}
	return b.String()
}

// lockedWriter serializes writes: exec copies stdout and stderr from two
// goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return len(p), nil
	}
	if _, err := l.w.Write(p); err != nil {
		l.w = nil // a broken log must not break the run
	}
	return len(p), nil
}
