package container

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

func init() {
	// Journeys that fail on today's product; see knownBroken.
	for name, why := range map[string]string{} {
		knownBroken[name] = why
	}
}

// target is one cloud as the journeys use it: its test double and what a
// build job gives it (the values of init's placeholders as the job's env,
// the double's fixed names through the set input).
type target struct {
	name string
	fake func(t *testing.T) cloudtest.Fake // nil: qemu, no cloud
	env  map[string]string
	set  string
	// deploySet is what a deployment needs set beyond a build's: alibaba's
	// VSwitch, which init leaves commented out (launching refuses without).
	deploySet string
}

var targets = []target{
	{name: "aws", fake: func(t *testing.T) cloudtest.Fake { return awsfake.New(t) }, set: "packer.region=" + awsfake.DefaultRegion},
	{name: "azure", fake: func(t *testing.T) cloudtest.Fake { return azurefake.New(t) },
		env: map[string]string{"AZURE_SUBSCRIPTION_ID": azurefake.Subscription},
		set: "packer.resource_group=" + azurefake.ResourceGroup + "\npacker.location=" + azurefake.Location},
	{name: "gcp", fake: func(t *testing.T) cloudtest.Fake { return gcpfake.New(t) },
		env: map[string]string{"GCP_PROJECT_ID": "fake-project"}},
	{name: "oci", fake: func(t *testing.T) cloudtest.Fake { return ocifake.New(t) },
		env: map[string]string{"OCI_COMPARTMENT_OCID": ocifake.Compartment, "OCI_SUBNET_OCID": ocifake.Subnet},
		set: "packer.availability_domain=" + ocifake.AvailabilityDomain + "\npacker.region=" + ocifake.Region},
	{name: "alibaba", fake: func(t *testing.T) cloudtest.Fake { return alibabafake.New(t) }, set: "packer.region=" + alibabafake.Region,
		deploySet: "packer.vswitch_id=" + alibabafake.VSwitchID},
	{name: "qemu"},
}

// initJob is a pull request job whose checkout holds what `sindri-packer
// init --cloud <cloud>` wrote (run with the image's own binary).
func initJob(t *testing.T, event, cloudName string) *job {
	t.Helper()
	j := newJob(t, event)
	if r := j.cli("init", "--cloud", cloudName); r.code != 0 {
		t.Fatalf("init --cloud %s: %s", cloudName, r)
	}
	return j
}

func errorsOf(r stepResult) []annotation {
	var out []annotation
	for _, a := range r.annotations {
		if a.level == "error" {
			out = append(out, a)
		}
	}
	return out
}

// TestPRValidateInitConfig: the README's PR check (validate, pr-comment)
// on the file init writes, for every target: no credentials, no real IDs.
func TestPRValidateInitConfig(t *testing.T) {
	t.Parallel()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			skipKnownBroken(t)
			j := initJob(t, "pull_request", tg.name)
			r := j.run(map[string]string{"command": "validate", "pr-comment": "true"})
			if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "validate: ok ("+tg.name+")") {
				t.Fatalf("want exit 0 and validate: ok (%s)\n%s", tg.name, r)
			}
			if errs := errorsOf(r); len(errs) > 0 {
				t.Errorf("error annotations on a passing check: %+v", errs)
			}
			comments := j.api.prComments()
			if len(comments) != 1 || !strings.Contains(comments[0], "validate passed") {
				t.Fatalf("PR comments %q, want one saying validate passed", comments)
			}
			// The next run of the check updates that comment.
			if r := j.run(map[string]string{"command": "validate", "pr-comment": "true"}); r.code != 0 {
				t.Fatalf("second run: %s", r)
			}
			if n := len(j.api.prComments()); n != 1 {
				t.Errorf("%d comments after a second run, want the one updated", n)
			}
		})
	}
}

// TestPRValidateSummaryAndComment: a passing PR check leaves a job summary,
// and its comment names the run and the commit it checked.
func TestPRValidateSummaryAndComment(t *testing.T) {
	t.Parallel()
	j := initJob(t, "pull_request", "aws")
	r := j.run(map[string]string{"command": "validate", "pr-comment": "true"})
	if r.code != 0 {
		t.Fatalf("validate: %s", r)
	}
	t.Run("summary", func(t *testing.T) {
		skipKnownBroken(t)
		if !strings.Contains(r.summary, "aws") {
			t.Errorf("job summary %q: want the validate results (aws)", r.summary)
		}
	})
	t.Run("comment_names_run", func(t *testing.T) {
		skipKnownBroken(t)
		comments := j.api.prComments()
		if len(comments) != 1 {
			t.Fatalf("comments: %q", comments)
		}
		for _, want := range []string{"https://github.com/" + repository + "/actions/runs/" + runID, headSHA[:7]} {
			if !strings.Contains(comments[0], want) {
				t.Errorf("comment lacks %q:\n%s", want, comments[0])
			}
		}
	})
}

// brokenConfig has one mistake, on line 6.
const brokenConfig = `name: broken
provider: packer
packer:
  cloud: aws
  region: us-west-2
  instance_typo: t3.large
  build:
    sindri_version: 3.0.1
`

// TestPRValidateBrokenConfig: a config error is exit 2, an error annotation
// at the user's file and line (workspace-relative, so it lands on the
// diff), and a PR comment that carries the diagnostics.
func TestPRValidateBrokenConfig(t *testing.T) {
	t.Parallel()
	wantError := func(t *testing.T, r stepResult, file string) {
		t.Helper()
		if r.code != 2 {
			t.Fatalf("want exit 2 (bad config)\n%s", r)
		}
		if !slices.ContainsFunc(errorsOf(r), func(a annotation) bool {
			return a.file == file && a.line == 6 && strings.Contains(a.message, "instance_typo")
		}) {
			t.Errorf("no error annotation at %s:6 naming instance_typo: %+v", file, r.annotations)
		}
	}
	t.Run("annotation_at_root", func(t *testing.T) {
		t.Parallel()
		skipKnownBroken(t)
		j := newJob(t, "pull_request")
		j.write("sindri.yaml", brokenConfig)
		wantError(t, j.run(map[string]string{"command": "validate"}), "sindri.yaml")
	})
	t.Run("annotation_in_working_folder", func(t *testing.T) {
		t.Parallel()
		skipKnownBroken(t)
		j := newJob(t, "pull_request")
		j.write("images/sindri.yaml", brokenConfig)
		wantError(t, j.run(map[string]string{"command": "validate", "working-directory": "images"}), "images/sindri.yaml")
	})
	t.Run("comment_has_diagnostics", func(t *testing.T) {
		t.Parallel()
		skipKnownBroken(t)
		j := newJob(t, "pull_request")
		j.write("sindri.yaml", brokenConfig)
		r := j.run(map[string]string{"command": "validate", "pr-comment": "true"})
		if r.code != 2 {
			t.Fatalf("want exit 2\n%s", r)
		}
		comments := j.api.prComments()
		if len(comments) != 1 || !strings.Contains(comments[0], "sindri.yaml:6") || !strings.Contains(comments[0], "instance_typo") {
			t.Errorf("PR comments %q: want one carrying sindri.yaml:6 and the message", comments)
		}
	})
}

// matrixInclude is the matrix output's include list.
type matrixInclude struct {
	Include []struct {
		Cloud  string `json:"cloud"`
		Region string `json:"region"`
	} `json:"include"`
}

// TestMatrixBuildSummarize: build-images.yml for an init config: the
// matrix job (no cloud values: it only plans), one build job per entry
// (dry-run, against the cloud's test double, the placeholders' values in
// the job's env), the manifests as actions/download-artifact lays them
// out, and the summarize job.
func TestMatrixBuildSummarize(t *testing.T) {
	t.Parallel()
	forEachDouble(t, func(t *testing.T, tg target) {
		plan := initJob(t, "push", tg.name)
		config := plan.read("sindri.yaml")
		r := plan.run(map[string]string{"command": "matrix", "clouds": tg.name})
		if r.code != 0 {
			t.Fatalf("matrix: %s", r)
		}
		var m matrixInclude
		if err := json.Unmarshal([]byte(r.outputs["matrix"]), &m); err != nil || len(m.Include) == 0 {
			t.Fatalf("matrix output %q: %v", r.outputs["matrix"], err)
		}
		summarize := newJob(t, "push")
		for _, entry := range m.Include {
			if entry.Cloud != tg.name {
				t.Fatalf("matrix entry %+v for a %s config", entry, tg.name)
			}
			build := newJob(t, "push")
			build.write("sindri.yaml", config)
			if tg.fake != nil {
				build.useFake(tg.fake(t).Env())
			}
			for k, v := range tg.env {
				build.env[k] = v
			}
			r := build.run(map[string]string{"command": "build", "clouds": entry.Cloud, "dry-run": "true", "set": tg.set, "skip-tests": "false"})
			if r.code != 0 || r.outputs["manifest"] == "" {
				t.Fatalf("build %+v: want exit 0 and a manifest output\n%s", entry, r)
			}
			summarize.write(filepath.Join("manifests", "sindri-manifest-"+entry.Cloud+"-"+entry.Region, filepath.Base(r.outputs["manifest"])),
				build.read(r.outputs["manifest"]))
		}
		r = summarize.run(map[string]string{"command": "summarize", "manifests": "manifests"})
		if r.code != 0 {
			t.Fatalf("summarize: %s", r)
		}
		if !strings.Contains(r.summary, tg.name) || r.outputs["config-hash"] == "" {
			t.Errorf("summarize: want a summary naming %s and a config-hash output\n%s", tg.name, r)
		}
	})
}

// manifestHash reads the config hash of cloud from a manifest file.
func manifestHash(t *testing.T, data, cloudName string) string {
	t.Helper()
	var m struct {
		Clouds map[string]struct {
			ConfigHash string `json:"config_hash"`
		} `json:"clouds"`
	}
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	h := m.Clouds[cloudName].ConfigHash
	if h == "" {
		t.Fatalf("no config hash for %s in %s", cloudName, data)
	}
	return h
}

// TestBuildCachedImage: the build job when the image of this config
// already exists (on the EC2 test double): no packer run, the outputs name
// that image, and config-hash is the hash the image carries.
func TestBuildCachedImage(t *testing.T) {
	t.Parallel()
	j := initJob(t, "push", "aws")
	fake := awsfake.New(t)
	j.useFake(fake.Env())
	with := map[string]string{"command": "build", "clouds": "aws", "sindri-version": "3.0.1"}
	dry := j.run(map[string]string{"command": "build", "clouds": "aws", "sindri-version": "3.0.1", "dry-run": "true"})
	if dry.code != 0 {
		t.Fatalf("dry run: %s", dry)
	}
	hash := manifestHash(t, j.read(dry.outputs["manifest"]), "aws")
	ami := fake.SeedImage("sindri-dev-cached", hash, time.Now().Add(-time.Hour))
	r := j.run(with)
	if r.code != 0 {
		t.Fatalf("build: %s", r)
	}
	if r.outputs["aws-image-id"] != ami {
		t.Errorf("aws-image-id %q, want the cached %s\n%s", r.outputs["aws-image-id"], ami, r)
	}
	var images map[string]string
	if err := json.Unmarshal([]byte(r.outputs["images"]), &images); err != nil || images["aws"] != ami {
		t.Errorf("images output %q: want {\"aws\":%q} (%v)", r.outputs["images"], ami, err)
	}
	t.Run("config_hash_is_the_images", func(t *testing.T) {
		skipKnownBroken(t)
		if r.outputs["config-hash"] != hash {
			t.Errorf("config-hash output %q, the image carries %q", r.outputs["config-hash"], hash)
		}
	})
}

// TestCleanup: the build job's "sweep what a cancelled build left behind"
// step, on every cloud's test double: what this run left goes, another
// run's stays.
func TestCleanup(t *testing.T) {
	t.Parallel()
	forEachFake(t, func(t *testing.T, tg target, j *job, fake cloudtest.Fake) {
		mine := fake.SeedLeftover(cloud.KindInstance, runID+"-1", time.Now().Add(-time.Hour))
		other := fake.SeedLeftover(cloud.KindInstance, "9999-1", time.Now().Add(-time.Hour))
		r := j.run(map[string]string{"command": "cleanup", "clouds": tg.name, "run-id": runID + "-1", "set": tg.set})
		if r.code != 0 {
			t.Fatalf("cleanup: %s", r)
		}
		var live []string
		for _, res := range fake.Live() {
			live = append(live, res.ID)
		}
		if slices.Contains(live, mine) || !slices.Contains(live, other) {
			t.Errorf("after cleanup of run %s-1: live %v; want %s gone and %s kept\n%s", runID, live, mine, other, r)
		}
	})
}

// forEachFake runs journey, in parallel, for every target with a cloud
// test double (QEMU has none: the image has no QEMU), on a push job whose
// checkout holds what init wrote, with the double's variables and the
// target's env in the job's env.
func forEachFake(t *testing.T, journey func(t *testing.T, tg target, j *job, fake cloudtest.Fake)) {
	t.Helper()
	forEachDouble(t, func(t *testing.T, tg target) {
		j := initJob(t, "push", tg.name)
		fake := tg.fake(t)
		j.useFake(fake.Env())
		for k, v := range tg.env {
			j.env[k] = v
		}
		journey(t, tg, j, fake)
	})
}

// forEachDouble runs journey as a parallel subtest for every target with
// a cloud test double. The image has no QEMU (action.yml, Dockerfile): the
// local target is built with the CLI on the host.
func forEachDouble(t *testing.T, journey func(t *testing.T, tg target)) {
	t.Helper()
	for _, tg := range targets {
		if tg.fake == nil {
			continue
		}
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			skipKnownBroken(t)
			journey(t, tg)
		})
	}
}

// TestRepaveDryRun: the scheduled repave job on the EC2 test double: an
// image older than max-age (30d, the input's default) is due for a
// rebuild, a younger one is not.
func TestRepaveDryRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		age  time.Duration
		due  bool
	}{{"40_days_old", 40 * 24 * time.Hour, true}, {"5_days_old", 5 * 24 * time.Hour, false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			skipKnownBroken(t)
			j := initJob(t, "push", "aws")
			fake := awsfake.New(t)
			j.useFake(fake.Env())
			dry := j.run(map[string]string{"command": "build", "clouds": "aws", "sindri-version": "3.0.1", "dry-run": "true"})
			if dry.code != 0 {
				t.Fatalf("build dry run: %s", dry)
			}
			ami := fake.SeedImage("sindri-dev-current", manifestHash(t, j.read(dry.outputs["manifest"]), "aws"), time.Now().Add(-c.age))
			r := j.run(map[string]string{"command": "repave", "clouds": "aws", "sindri-version": "3.0.1", "dry-run": "true"})
			if r.code != 0 || !strings.Contains(r.summary, ami) {
				t.Fatalf("repave: want exit 0 and a summary naming %s\n%s", ami, r)
			}
			if due := strings.Contains(r.summary, "would build"); due != c.due {
				t.Errorf("image %v old, max-age 30d: rebuild due = %v, want %v\n%s", c.age, due, c.due, r)
			}
			if len(fake.Live()) == 0 || slices.ContainsFunc(fake.Requests(), func(req string) bool {
				return strings.Contains(req, "RunInstances") || strings.Contains(req, "DeregisterImage")
			}) {
				t.Errorf("a dry run changed the cloud: %v", fake.Requests())
			}
		})
	}
}

// TestActionLifecycleCommands: the commands of the README's lifecycle that
// the Action must run as well as the CLI does (issue 11).
func TestActionLifecycleCommands(t *testing.T) {
	t.Parallel()
	t.Run("images", func(t *testing.T) {
		t.Parallel()
		skipKnownBroken(t)
		j := initJob(t, "push", "aws")
		fake := awsfake.New(t)
		j.useFake(fake.Env())
		ami := fake.SeedImage("sindri-dev-listed", "some-hash", time.Now())
		r := j.run(map[string]string{"command": "images", "clouds": "aws", "set": "packer.region=" + awsfake.DefaultRegion})
		if r.code != 0 || !strings.Contains(r.stdout, ami) {
			t.Errorf("images: want exit 0 and %s listed\n%s", ami, r)
		}
	})
	for _, command := range []string{"status", "stop", "start", "destroy", "doctor"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			skipKnownBroken(t)
			j := initJob(t, "push", "aws")
			j.useFake(awsfake.New(t).Env())
			r := j.run(map[string]string{"command": command, "clouds": "aws"})
			for _, a := range errorsOf(r) {
				if a.title == "sindri-packer input command" {
					t.Fatalf("the Action refuses command %s: %s\n%s", command, a.message, r)
				}
			}
		})
	}
}

// TestImageLabels: the test image says what it is: a test build whose
// cinc-auditor is a stand-in that cannot run a profile.
func TestImageLabels(t *testing.T) {
	t.Parallel()
	j := newJob(t, "push")
	r := j.podman(nil, "image", "inspect", "--format", `{{index .Labels "dev.sindri.cinc-auditor"}}`, j.image)
	if !strings.Contains(r.stdout, "stand-in") {
		t.Errorf("label dev.sindri.cinc-auditor = %q, want it to say stand-in", r.stdout)
	}
	r = j.podman(nil, "run", "--rm", "--entrypoint", "cinc-auditor", j.image, "exec", "/nonexistent")
	if r.code == 0 || !strings.Contains(r.stderr, "STAND-IN") {
		t.Errorf("cinc-auditor exec in the test image: exit %d, stderr %q; want a failure naming the stand-in", r.code, r.stderr)
	}
	r = j.podman(nil, "run", "--rm", "--entrypoint", "packer", j.image, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "Packer v") {
		t.Errorf("packer version in the image: %s", r)
	}
}

// actionOutputs reads the outputs action.yml declares.
func actionOutputs(t *testing.T) map[string]any {
	t.Helper()
	var a struct {
		Outputs map[string]any `yaml:"outputs"`
	}
	readActionYML(t, &a)
	return a.Outputs
}

// liveInstances returns the instances the double holds now, by ID.
func liveInstances(fake cloudtest.Fake) map[string]cloudtest.FakeResource {
	out := map[string]cloudtest.FakeResource{}
	for _, res := range fake.Live() {
		if res.Kind == cloud.KindInstance {
			out[res.ID] = res
		}
	}
	return out
}

// TestDeployLifecycle: the README's deploy journey through the Action, on
// every cloud's test double: a build job with deploy (the image of this
// config is already there, so the build finds it and deploy launches it,
// with the key of the ssh-public-key input), then status, stop, start and
// destroy as separate steps of later jobs. Launching waits until the
// instance runs with an address, not for SSH: no SSH server is needed.
// QEMU is not here: the image has no QEMU (the local target is deployed
// with the CLI on the host).
func TestDeployLifecycle(t *testing.T) {
	t.Parallel()
	forEachFake(t, func(t *testing.T, tg target, j *job, fake cloudtest.Fake) {
		key, err := sshkey.Generate(t.TempDir(), "ci-deploy-key")
		if err != nil {
			t.Fatal(err)
		}
		d := &deployJourney{t: t, tg: tg, j: j, fake: fake, key: key.Authorized,
			common: map[string]string{"clouds": tg.name, "set": strings.TrimSpace(tg.set + "\n" + tg.deploySet), "sindri-version": "3.0.1"}}
		d.deploy()
		d.stopStartDestroy()
	})
}

// deployJourney is one cloud's run of TestDeployLifecycle: its job, the
// double, the inputs every step gives, and what the deploy made.
type deployJourney struct {
	t      *testing.T
	tg     target
	j      *job
	fake   cloudtest.Fake
	key    string            // the ssh-public-key input
	common map[string]string // inputs of every step
	image  string            // the cached image the build finds
	id     string            // the deployed instance
}

// step runs the Action with the common inputs and with.
func (d *deployJourney) step(with map[string]string) stepResult {
	d.t.Helper()
	all := map[string]string{}
	for k, v := range d.common {
		all[k] = v
	}
	for k, v := range with {
		all[k] = v
	}
	return d.j.run(all)
}

// deploy: a dry run gives the config hash, the double gets an image with
// it, a build with deploy finds that image and launches it, a second one
// finds the deployment.
func (d *deployJourney) deploy() {
	t, tg, fake := d.t, d.tg, d.fake
	t.Helper()
	dry := d.step(map[string]string{"command": "build", "dry-run": "true"})
	if dry.code != 0 {
		t.Fatalf("build dry run: %s", dry)
	}
	d.image = fake.SeedImage("sindri-dev-deployed", manifestHash(t, d.j.read(dry.outputs["manifest"]), tg.name), time.Now().Add(-time.Hour))

	r := d.step(map[string]string{"command": "build", "deploy": "true", "ssh-public-key": d.key})
	if r.code != 0 {
		t.Fatalf("build with deploy: %s", r)
	}
	if r.outputs[tg.name+"-image-id"] != d.image {
		t.Errorf("%s-image-id %q, want the cached %s", tg.name, r.outputs[tg.name+"-image-id"], d.image)
	}
	id := r.outputs["instance-id"]
	inst, ok := liveInstances(fake)[id]
	if id == "" || !ok {
		t.Fatalf("instance-id output %q is not a live instance of the double %v\n%s", id, liveInstances(fake), r)
	}
	d.id = id
	for name := range r.outputs {
		if _, ok := actionOutputs(t)[name]; !ok {
			t.Errorf("build with deploy set output %s, which action.yml does not declare", name)
		}
	}
	if len(liveInstances(fake)) != 1 {
		t.Errorf("instances after deploy: %v, want the one deployment", liveInstances(fake))
	}
	if !strings.Contains(r.stdout, "deployed ") || !strings.Contains(r.stdout, id) {
		t.Errorf("the log does not say what was deployed\n%s", r)
	}
	if stoppedState(inst.State) {
		t.Errorf("%s after deploy: state %q", id, inst.State)
	}

	// A second build with deploy finds the deployment: nothing new.
	if again := d.step(map[string]string{"command": "build", "deploy": "true", "ssh-public-key": d.key}); again.code != 0 ||
		!strings.Contains(again.stdout, "already exists") || len(liveInstances(fake)) != 1 {
		t.Errorf("second build with deploy: want exit 0, already exists, still one instance\n%s", again)
	}
}

// status: the status step shows the deployment, stopped or not.
func (d *deployJourney) status(stopped bool) {
	d.t.Helper()
	r := d.step(map[string]string{"command": "status"})
	if st := instanceState(r.stdout, d.id); r.code != 0 || st == "" || stoppedState(st) != stopped {
		d.t.Errorf("status: want exit 0 and %s (stopped: %v)\n%s", d.id, stopped, r)
	}
}

// stopStartDestroy: status, stop, start and destroy as separate steps;
// destroy removes the deployment and keeps the image.
func (d *deployJourney) stopStartDestroy() {
	t, fake, id := d.t, d.fake, d.id
	t.Helper()
	d.status(false)
	if r := d.step(map[string]string{"command": "stop"}); r.code != 0 || !strings.Contains(r.stdout+r.stderr, id) {
		t.Fatalf("stop: want exit 0 naming %s\n%s", id, r)
	}
	d.status(true)
	if st := liveInstances(fake)[id].State; !stoppedState(st) {
		t.Errorf("the double's %s after stop: state %q", id, st)
	}
	if r := d.step(map[string]string{"command": "start"}); r.code != 0 || !strings.Contains(r.stdout+r.stderr, id) {
		t.Fatalf("start: want exit 0 naming %s\n%s", id, r)
	}
	d.status(false)
	if st := liveInstances(fake)[id].State; stoppedState(st) {
		t.Errorf("the double's %s after start: state %q", id, st)
	}
	if r := d.step(map[string]string{"command": "destroy"}); r.code != 0 || !strings.Contains(r.stdout+r.stderr, id) {
		t.Fatalf("destroy: want exit 0 naming %s\n%s", id, r)
	}
	if left := liveInstances(fake); len(left) != 0 {
		t.Errorf("instances after destroy: %v", left)
	}
	if r := d.step(map[string]string{"command": "status"}); r.code != 1 || !strings.Contains(r.stdout+r.stderr, "no deployment") {
		t.Errorf("status after destroy: want exit 1, no deployment\n%s", r)
	}
	// The image stays: destroy removes the deployment only.
	if !slices.ContainsFunc(fake.Live(), func(res cloudtest.FakeResource) bool { return res.ID == d.image }) {
		t.Errorf("image %s is gone after destroy", d.image)
	}
}

// instanceState is the STATE column of status's table for instance id.
func instanceState(table, id string) string {
	lines := strings.Split(table, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "CLOUD ") {
			continue
		}
		col := strings.Index(l, "STATE")
		for _, row := range lines[i+1:] {
			if strings.Contains(row, id) && col >= 0 && col < len(row) {
				if f := strings.Fields(row[col:]); len(f) > 0 {
					return f[0]
				}
			}
		}
	}
	return ""
}

// stoppedState reports whether a double's instance state is a stopped one
// in its cloud's words (stopped, STOPPED, TERMINATED on GCE, deallocated
// on Azure).
func stoppedState(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "stop") || strings.Contains(s, "terminated") || strings.Contains(s, "dealloc")
}
