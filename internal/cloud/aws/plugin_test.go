package aws_test

// The plugin-driven suite: the real, pinned packer-plugin-amazon
// (amazon-ebs, aws-sdk-go v1, a client we did not write) runs `packer
// build` of the template we render against awsfake, so a misunderstanding
// shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only, no proxy): the
// rendered template (plugintest.Template) gets custom_endpoint_ec2 = the
// double's plain-HTTP URL; the plugin's copies to ami_regions use the
// same endpoint, and the double reads the region from each request's
// SigV4 scope. With static keys the plugin calls no STS, so no second
// endpoint is needed.
//
// What that skips: communicator = "none" (no SSH to a real machine is
// possible here), so ssh_username and ssh_timeout go and every
// provisioner block is removed: the plugin never waits for SSH, the
// scripts never run and its temporary key pair is never used (it is still
// created, passed to RunInstances and deleted); the temporary group opens
// port 0 instead of 22.
import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
)

// pluginRun is the amazon-ebs build of pluginConfig's template against f:
// the double's endpoint, its static keys and no instance metadata service
// (the plugin calls no STS with static keys), 1s polls.
func pluginRun(t *testing.T, f *awsfake.Fake, dir, hash string) plugintest.Build {
	t.Helper()
	packer, plugins := plugintest.Tools(t, "amazon")
	return plugintest.Build{
		Packer: packer, Plugins: plugins, Dir: dir,
		Template: plugintest.Template(t, pluginConfig, "aws", filepath.Join(dir, "out"), awsfake.SindriVersion,
			map[string]cty.Value{"custom_endpoint_ec2": cty.StringVal(f.URL())}),
		Env: []string{
			"NO_PROXY=*", "no_proxy=*", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_ACCESS_KEY_ID=" + awsfake.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + awsfake.SecretAccessKey,
			"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
			"AWS_POLL_DELAY_SECONDS=1", "AWS_MAX_ATTEMPTS=120",
		},
		Vars: map[string]string{"config_hash": hash, "run_id": pluginRunID},
	}
}

// startKillable starts b as Build.Run would, in its own process group, so
// the test can kill packer and its plugin at once, as a cancelled CI job
// does; the caller kills (syscall.Kill(-pid, SIGKILL)) and waits.
func startKillable(t *testing.T, b plugintest.Build) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	args := []string{"build", "-machine-readable", "-var", "manifest_path=" + filepath.Join(b.Dir, "manifest.json")}
	for k, v := range b.Vars {
		args = append(args, "-var", k+"="+v)
	}
	cmd := exec.CommandContext(t.Context(), b.Packer, append(args, b.Template)...)
	cmd.Dir = filepath.Dir(b.Template)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + b.Dir, "TMPDIR=" + b.Dir,
		"PACKER_PLUGIN_PATH=" + b.Plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
	}, b.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// pluginConfig builds in us-west-2 and copies the AMI to us-east-1; the
// source AMI comes from Canonical's filter (seedSource).
const pluginConfig = "packer:\n  cloud: aws\n  ami_regions: [us-east-1]\n  build:\n    sindri_version: " + awsfake.SindriVersion + "\n"

const pluginHash, pluginRunID = "plugin-hash", "plugin-run"

// seedSource adds the public Ubuntu AMI of Canonical's account that the
// rendered source_ami_filter selects.
func seedSource(f *awsfake.Fake) string {
	return f.AddImage(awsfake.ImageSpec{
		Name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101", Owner: "099720109477",
		Public: true, Created: time.Now().Add(-48 * time.Hour),
	})
}

// TestPluginBuildsAgainstTheDouble: the real amazon-ebs builder builds
// our rendered template on the double, with EC2's eventual consistency
// switched on (a new instance unseen for 2 calls, a terminated
// instance's group held for 2 deletes); then, on the same state, our
// side sees exactly what it made.
func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	f := awsfake.New(t)
	f.SetConsistencyWindows(2, 2)
	source := seedSource(f)
	dir := t.TempDir()
	b := pluginRun(t, f, dir, "")
	cmds := plugintest.NewCommands(t, f, dir, b.Packer, "aws", pluginConfig, pluginRunID)
	// The plugin builds with the config hash our build --dry-run computes.
	hash := cmds.Hash(t)
	b.Vars["config_hash"] = hash
	ours := len(f.Requests())
	manifest, out, runErr := b.Run(t)
	stop := plugintest.Report(t, "aws plugin-driven: packer-plugin-amazon", f.Requests()[ours:],
		"the build finished: source AMI, key pair, security group, instance, stop, image, encrypted copy, copy to us-east-1, tags, manifest, clean-up", out, runErr)
	if runErr != nil {
		t.Fatal(stop)
	}
	checkPluginCalls(t, f, source)
	checkPolicyAllows(t, f, ours)
	ids := checkArtifact(t, f, manifest, hash)
	checkNothingTemporary(t, f, source, hash)
	checkCommands(t, f, cmds, ids["us-west-2"], hash)
	checkOurSide(t, f, ids, hash)
}

// TestPluginKeepsTheImageWithoutEncryptBoot: with encrypt_boot false
// there is no intermediate: the AMI the plugin creates, and tags with
// run_tags (sindri-packer=temporary included) before it adds tags, is the
// build's image. Our side must take it for the cache hit, list it, and
// cleanup must not touch it (the list and the cache ignored it, and
// cleanup --run-id deregistered it, by the temporary tag alone).
func TestPluginKeepsTheImageWithoutEncryptBoot(t *testing.T) {
	f := awsfake.New(t)
	seedSource(f)
	dir := t.TempDir()
	const yaml = "packer:\n  cloud: aws\n  encrypt_boot: false\n  build:\n    sindri_version: " + awsfake.SindriVersion + "\n"
	b := pluginRun(t, f, dir, "")
	b.Template = plugintest.Template(t, yaml, "aws", filepath.Join(dir, "out"), awsfake.SindriVersion,
		map[string]cty.Value{"custom_endpoint_ec2": cty.StringVal(f.URL())})
	cmds := plugintest.NewCommands(t, f, dir, b.Packer, "aws", yaml, pluginRunID)
	hash := cmds.Hash(t)
	b.Vars["config_hash"] = hash
	manifest, out, err := b.Run(t)
	if err != nil {
		t.Fatal(plugintest.LastError(out))
	}
	id := packerpkg.RegionIDs(plugintest.Artifact(t, manifest, "aws", hash, pluginRunID).ArtifactID)["us-west-2"]
	if len(f.Calls("CopyImage")) != 0 {
		t.Fatal("the plugin copied the AMI: encrypt_boot false was not applied")
	}
	for _, r := range f.Live() {
		if r.ID == id && r.Tags["sindri-packer"] != "temporary" {
			t.Errorf("the plugin no longer leaves run_tags on its image (%v): revisit temporaryImage", r.Tags)
		}
	}
	checkCommands(t, f, cmds, id, hash)
}

// checkPluginCalls: the plugin went through every step this suite
// claims, with what our template asked for.
func checkPluginCalls(t *testing.T, f *awsfake.Fake, source string) {
	t.Helper()
	for _, a := range []string{"DescribeRegions", "DescribeImages", "CreateKeyPair", "CreateSecurityGroup",
		"AuthorizeSecurityGroupIngress", "RunInstances", "DescribeInstances", "StopInstances", "CreateImage",
		"CopyImage", "CreateTags", "DeregisterImage", "DeleteSnapshot", "TerminateInstances",
		"DeleteSecurityGroup", "DeleteKeyPair"} {
		if len(f.Calls(a)) == 0 {
			t.Errorf("the plugin never called %s", a)
		}
	}
	if f.Stale() < 4 {
		t.Errorf("the consistency windows answered %d times, want the plugin to have gone through both (4)", f.Stale())
	}
	runs := f.Calls("RunInstances")
	if len(runs) != 1 {
		t.Fatalf("RunInstances called %d times", len(runs))
	}
	run := runs[0].Form
	if run.Get("ImageId") != source || run.Get("KeyName") == "" || run.Get("MetadataOptions.HttpTokens") != "required" {
		t.Errorf("RunInstances: image %s (source %s), key %q, http tokens %q", run.Get("ImageId"), source, run.Get("KeyName"), run.Get("MetadataOptions.HttpTokens"))
	}
	insts := f.Calls("TerminateInstances")
	if len(insts) > 0 {
		md := f.InstanceMetadata(insts[0].Form.Get("InstanceId.1"))
		if md.HTTPTokens != "required" || md.HopLimit != 1 {
			t.Errorf("the build instance ran with metadata options %+v, want IMDSv2 required, hop limit 1", md)
		}
	}
	var regions []string
	for _, c := range f.Calls("CopyImage") {
		regions = append(regions, c.Region)
	}
	slices.Sort(regions)
	if strings.Join(regions, ",") != "us-east-1,us-west-2" {
		t.Errorf("CopyImage went to %v, want the encrypted copy in us-west-2 and the one in us-east-1", regions)
	}
}

// checkPolicyAllows: docs/aws.md's least-privilege policy names every
// action the plugin called.
func checkPolicyAllows(t *testing.T, f *awsfake.Fake, from int) {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/aws.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Calls("")[from:] {
		if !strings.Contains(string(doc), `"ec2:`+c.Action+`"`) {
			t.Errorf("the plugin called %s, which the policy in docs/aws.md does not allow", c.Action)
		}
	}
}

// checkArtifact reads the plugin's manifest the way the pipeline's
// artifact step does (packer.ReadManifest, RegionIDs by the target's
// regions, ValidImageID) and returns region -> AMI ID.
func checkArtifact(t *testing.T, f *awsfake.Fake, manifest string, hash string) map[string]string {
	t.Helper()
	b := plugintest.Artifact(t, manifest, "aws", hash, pluginRunID)
	key, regions := aws.Cloud{}.Regions(cloudtest.Load(t, pluginConfig))
	ids := packerpkg.RegionIDs(b.ArtifactID)
	if key != "region" || len(ids) != len(regions) {
		t.Fatalf("artifact %q: want an AMI in each of %v", b.ArtifactID, regions)
	}
	for _, r := range regions {
		if err := (aws.Cloud{}).ValidImageID(ids[r]); err != nil {
			t.Errorf("the plugin's AMI in %s: %v", r, err)
		}
	}
	live := map[string]cloudtest.FakeResource{}
	for _, r := range f.Live() {
		live[r.ID] = r
	}
	want := fmt.Sprint(awsfake.ImageTags(hash))
	for _, r := range regions {
		im, ok := live[ids[r]]
		if !ok || im.Region != r || im.State != "available" || im.Name != b.CustomData["image_name"] || fmt.Sprint(im.Tags) != want {
			t.Errorf("AMI %s of the artifact in %s: %+v, want available, named %q, tagged %s", ids[r], r, im, b.CustomData["image_name"], want)
		}
	}
	return ids
}

// checkNothingTemporary: what the plugin leaves is its AMIs and their
// snapshots, tagged as the images; no instance, volume, security group,
// key pair, nor the unencrypted intermediate AMI.
func checkNothingTemporary(t *testing.T, f *awsfake.Fake, source string, hash string) {
	t.Helper()
	images := 0
	for _, r := range f.Live() {
		switch {
		case r.ID == source, r.Kind == "snapshot" && r.Tags["managed-by"] == "":
			// Canonical's AMI and its snapshot.
		case r.Kind == "image" || r.Kind == "snapshot":
			images++
			if r.Tags["sindri-packer"] != "" || r.Tags["config-hash"] != hash {
				t.Errorf("%s %s is not tagged as the build's image: %v", r.Kind, r.ID, r.Tags)
			}
		default:
			t.Errorf("left behind by the plugin: %s %s (%v)", r.Kind, r.ID, r.Tags)
		}
	}
	if images != 4 {
		t.Errorf("%d images and snapshots of the build, want an AMI and a snapshot in each region", images)
	}
}

// checkCommands runs our commands on the state the plugin left: build
// --dry-run takes its AMI for the cache hit, images list shows exactly it,
// repave --dry-run reports it and changes nothing, cleanup finds nothing.
func checkCommands(t *testing.T, f *awsfake.Fake, cmds plugintest.Commands, id, hash string) {
	t.Helper()
	cmds.Writes = func() int {
		n := 0
		for _, a := range []string{"EnableImageDeprecation", "DeregisterImage", "DeleteSnapshot", "CreateTags", "TerminateInstances", "DeleteSecurityGroup", "DeleteKeyPair", "DeleteVolume"} {
			n += len(f.Calls(a))
		}
		return n
	}
	cmds.CheckReadOnly(t, id, hash, "ubuntu/images")
}

// checkOurSide runs our client on the state the plugin left: the build
// cache, the image list, deprecate, the sweep and delete.
func checkOurSide(t *testing.T, f *awsfake.Fake, ids map[string]string, hash string) {
	t.Helper()
	plugintest.OurSide{
		Target: aws.Cloud{Env: fakeEnv(f), Tuning: fastTuning}, Config: cloudtest.Load(t, pluginConfig),
		ID: ids["us-west-2"], Hash: hash, Runs: []string{pluginRunID},
		Found:  func(img cloud.Image) bool { return img.Regions["us-east-1"] == ids["us-east-1"] },
		Listed: func(img cloud.Image) bool { return img.SindriVersion == awsfake.SindriVersion },
		Deprecated: func(t *testing.T) {
			if len(f.Calls("EnableImageDeprecation")) != 2 {
				t.Errorf("EnableImageDeprecation called %d times, want the AMI and its copy", len(f.Calls("EnableImageDeprecation")))
			}
		},
	}.Check(t)
	for _, r := range f.Live() {
		if r.Tags["managed-by"] != "" {
			t.Errorf("after DeleteImage: %s %s in %s is left", r.Kind, r.ID, r.Region)
		}
	}
}

// TestPluginLeftoversAreWhatItMade: a build the plugin cannot finish nor
// clean up (CreateImage refused, then its terminate, group delete and key
// delete refused) leaves its instance, group and key pair; Leftovers of
// its run finds exactly the double's temporary resources, and deleting
// them leaves none.
func TestPluginLeftoversAreWhatItMade(t *testing.T) {
	f := awsfake.New(t)
	seedSource(f)
	denied := func(action string) cloudtest.Fault {
		return cloudtest.Fault{Match: "Action=" + action, Status: 403, Code: "UnauthorizedOperation"}
	}
	f.Inject(denied("CreateImage"), denied("TerminateInstances"), denied("DeleteSecurityGroup"), denied("DeleteKeyPair"))
	_, out, runErr := pluginRun(t, f, t.TempDir(), pluginHash).Run(t)
	if runErr == nil || f.Pending() != 0 {
		t.Fatalf("the build should have failed at CreateImage and its clean-up (faults left %d):\n%s", f.Pending(), out)
	}
	var want []string
	for _, r := range f.Live() {
		// An attached volume goes with its instance: no leftover of its own.
		if r.Tags["sindri-packer"] == "temporary" && r.Kind != "disk" {
			want = append(want, r.Kind+" "+r.ID)
		}
	}
	plugintest.CheckLeftovers(t, aws.Cloud{Env: fakeEnv(f), Tuning: fastTuning}, cloudtest.Load(t, pluginConfig), pluginRunID, want, 3)
	for _, r := range f.Live() {
		if r.Tags["sindri-packer"] == "temporary" {
			t.Errorf("after the sweep: %s %s is left", r.Kind, r.ID)
		}
	}
}

// TestPluginsIntermediateAMIIsNoCacheHit: with encrypt_boot the plugin
// first makes an unencrypted AMI tagged with run_tags (config hash
// included), copies it encrypted, then deregisters it. A build killed in
// between leaves it available: the build cache and the image list must
// not take it for the build's image (they did: only managed-by and
// config-hash were looked at), and `cleanup --run-id` of the killed run
// must sweep it with its snapshot, as it sweeps the run's instance, key
// pair and group (it did not list AMIs: the AMI and snapshot stayed).
func TestPluginsIntermediateAMIIsNoCacheHit(t *testing.T) {
	f := awsfake.New(t)
	seedSource(f)
	var before []string // the source AMI and its snapshot
	for _, r := range f.Live() {
		before = append(before, r.ID)
	}
	// Both copies hang; once the plugin waits on them, packer and its
	// plugin are killed, as a cancelled CI job kills them.
	f.Inject(cloudtest.Fault{Match: "Action=CopyImage", Hang: true}, cloudtest.Fault{Match: "Action=CopyImage", Hang: true})
	b := pluginRun(t, f, t.TempDir(), pluginHash)
	cmd, out := startKillable(t, b)
	for deadline := time.Now().Add(3 * time.Minute); len(f.Calls("CopyImage")) < 2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(f.Calls("CopyImage")) < 2 {
		t.Fatalf("the plugin never reached CopyImage:\n%s", out)
	}
	var intermediate string
	for _, r := range f.Live() {
		if r.Kind == "image" && r.Tags["sindri-packer"] == "temporary" && r.Tags["config-hash"] == pluginHash && r.State == "available" {
			intermediate = r.ID
		}
	}
	if intermediate == "" {
		t.Fatalf("the plugin left no intermediate AMI: %+v", f.Live())
	}
	c, cfg := aws.Cloud{Env: fakeEnv(f), Tuning: fastTuning}, cloudtest.Load(t, pluginConfig)
	if img, err := c.FindImage(t.Context(), cfg, pluginHash); err != nil || img != nil {
		t.Errorf("FindImage = %+v, %v; the intermediate AMI %s is no cache hit", img, err, intermediate)
	}
	if list, err := c.ListImages(t.Context(), cfg); err != nil || len(list) != 0 {
		t.Errorf("ListImages = %+v, %v; want none", list, err)
	}
	checkCleanupSweepsTheKilledRun(t, f, b.Packer, intermediate, before)
}

// checkCleanupSweepsTheKilledRun runs `sindri-packer cleanup --run-id` of
// the killed plugin build: its dry run lists the intermediate AMI among
// the run's leftovers; the sweep leaves nothing but what was there before
// the build (the AMI's snapshot goes with it, the instance's volume with
// the instance), and every call it made is in the policy's Cleanup
// statement.
func checkCleanupSweepsTheKilledRun(t *testing.T, f *awsfake.Fake, packer, intermediate string, before []string) {
	t.Helper()
	cmds := plugintest.NewCommands(t, f, t.TempDir(), packer, "aws", pluginConfig, pluginRunID)
	if dry := plugintest.Run(t, cmds.Env, "cleanup", "-c", cmds.Config, "--run-id", pluginRunID, "--dry-run"); !strings.Contains(dry, intermediate) {
		t.Errorf("cleanup --dry-run of the killed run does not list its intermediate AMI %s:\n%s", intermediate, dry)
	}
	from := len(f.Calls(""))
	plugintest.Run(t, cmds.Env, "cleanup", "-c", cmds.Config, "--run-id", pluginRunID)
	for _, r := range f.Live() {
		if !slices.Contains(before, r.ID) {
			t.Errorf("after cleanup --run-id %s: %s %s (%v) is left", pluginRunID, r.Kind, r.ID, r.Tags)
		}
	}
	allowed := policyStatement(t, "Cleanup")
	for _, c := range f.Calls("")[from:] {
		if !slices.Contains(allowed, "ec2:"+c.Action) {
			t.Errorf("cleanup called %s, which the Cleanup statement in docs/aws.md does not allow", c.Action)
		}
	}
}

// policyStatement is the Action list of the statement sid of the policy
// in docs/aws.md.
func policyStatement(t *testing.T, sid string) []string {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/aws.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), `"Sid": "`+sid+`"`)
	_, rest, ok2 := strings.Cut(rest, `"Action": [`)
	list, _, ok3 := strings.Cut(rest, "]")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("docs/aws.md has no statement %s with an Action list", sid)
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(a), `"`))
	}
	return out
}
