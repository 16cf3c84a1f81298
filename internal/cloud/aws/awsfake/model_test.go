package awsfake_test

// The double checked against the official API model: botocore's EC2 and
// STS service models, kept in testdata/ec2-model-excerpt.json (an excerpt,
// Apache-2.0, source commit inside; testdata/extract-model.py made it).
// Every action the double serves must be an operation of the model, and
// every XML element it answers with must be a member (by locationName) of
// the model's output shape at that place: a misspelt or invented element
// is read by the SDK as absent, which a test written by the double's own
// authors would not notice.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
)

type modelRef struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
	QueryName    string `json:"queryName"`
}

type modelShape struct {
	Type    string              `json:"type"`
	Members map[string]modelRef `json:"members"`
	Member  *modelRef           `json:"member"`
}

type serviceModel struct {
	Operations map[string]struct {
		Input  *modelRef `json:"input"`
		Output *struct {
			modelRef
			ResultWrapper string `json:"resultWrapper"`
		} `json:"output"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

func loadModel(t *testing.T) (ec2m, stsm serviceModel) {
	t.Helper()
	data, err := os.ReadFile("testdata/ec2-model-excerpt.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Source, License string
		EC2             serviceModel `json:"ec2"`
		STS             serviceModel `json:"sts"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Source, "boto/botocore at commit ") || !strings.Contains(m.License, "Apache License 2.0") {
		t.Fatalf("the excerpt names no source commit or licence: %q %q", m.Source, m.License)
	}
	return m.EC2, m.STS
}

// TestEveryActionIsInTheModel: the double serves no operation EC2 or STS
// does not have, and the excerpt has every one it serves.
func TestEveryActionIsInTheModel(t *testing.T) {
	ec2m, stsm := loadModel(t)
	for _, a := range awsfake.Actions() {
		_, inEC2 := ec2m.Operations[a]
		_, inSTS := stsm.Operations[a]
		if !inEC2 && !inSTS {
			t.Errorf("awsfake serves %s, which is no operation of the EC2 or STS model", a)
		}
	}
}

// recorder keeps every answer the double gives, by action.
type recorder struct {
	mu      sync.Mutex
	answers map[string][]string
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if resp.StatusCode == http.StatusOK {
		rec.mu.Lock()
		rec.answers[form.Get("Action")] = append(rec.answers[form.Get("Action")], string(out))
		rec.mu.Unlock()
	}
	return resp, nil
}

// TestEveryElementIsInTheModel drives every action the double serves
// through the SDK (answers with tags, pages, a terminated instance's
// state reason...) and walks each answer along the model's output shape.
func TestEveryElementIsInTheModel(t *testing.T) {
	ec2m, stsm := loadModel(t)
	f := awsfake.New(t)
	rec := &recorder{answers: map[string][]string{}}
	scenario(t, f, rec)
	for _, a := range awsfake.Actions() {
		if len(rec.answers[a]) == 0 {
			t.Errorf("the scenario never got an answer to %s: add it, so its elements are checked", a)
		}
	}
	for action, bodies := range rec.answers {
		m, sts := ec2m, false
		if _, ok := stsm.Operations[action]; ok {
			m, sts = stsm, true
		}
		for _, body := range bodies {
			for _, bad := range checkAnswer(t, m, action, body, sts) {
				t.Errorf("%s answers %s, not in the model", action, bad)
			}
		}
	}
}

// node is a parsed XML element.
type node struct {
	name     string
	children []*node
}

func parseXML(t *testing.T, body string) *node {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(body))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("answer is no XML: %v\n%s", err, body)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			n := &node{name: e.Name.Local}
			if len(stack) > 0 {
				stack[len(stack)-1].children = append(stack[len(stack)-1].children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return root
}

// checkAnswer returns the paths of elements that are no member of the
// output shape. EC2 adds requestId to every answer and <return> to the
// answers of operations with no output shape (DeleteSnapshot, CreateTags,
// DeleteVolume: its API reference shows them); STS wraps the result in
// <ActionResult> and adds ResponseMetadata.
func checkAnswer(t *testing.T, m serviceModel, action, body string, sts bool) []string {
	root := parseXML(t, body)
	if root.name != action+"Response" {
		return []string{"root " + root.name}
	}
	op := m.Operations[action]
	var bad []string
	children := root.children
	if sts {
		children = nil
		for _, c := range root.children {
			switch c.name {
			case action + "Result":
				children = c.children
			case "ResponseMetadata":
			default:
				bad = append(bad, root.name+"/"+c.name)
			}
		}
	}
	for _, c := range children {
		switch {
		case !sts && c.name == "requestId":
		case op.Output == nil && c.name == "return":
		case op.Output == nil:
			bad = append(bad, root.name+"/"+c.name)
		default:
			bad = append(bad, walk(m, op.Output.Shape, c, root.name)...)
		}
	}
	return bad
}

// walk checks that n is a member of the structure shape, then its
// children against the member's shape.
func walk(m serviceModel, shape string, n *node, path string) []string {
	s := m.Shapes[shape]
	for name, ref := range s.Members {
		if cmpOr(ref.LocationName, name) == n.name {
			return within(m, ref.Shape, n, path+"/"+n.name)
		}
	}
	return []string{path + "/" + n.name}
}

// within checks n's children against shape (a structure, a list, a
// scalar).
func within(m serviceModel, shape string, n *node, path string) []string {
	s := m.Shapes[shape]
	var bad []string
	for _, c := range n.children {
		switch s.Type {
		case "structure":
			bad = append(bad, walk(m, shape, c, path)...)
		case "list":
			if c.name != cmpOr(s.Member.LocationName, "member") {
				bad = append(bad, path+"/"+c.name)
				continue
			}
			bad = append(bad, within(m, s.Member.Shape, c, path+"/"+c.name)...)
		default:
			bad = append(bad, path+"/"+c.name+" (inside a "+s.Type+")")
		}
	}
	return bad
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// scenario calls every action the double serves through the SDK.
func scenario(t *testing.T, f *awsfake.Fake, rec *recorder) {
	t.Helper()
	ctx := t.Context()
	cfg := func(region string) awssdk.Config {
		return awssdk.Config{
			Region: region, BaseEndpoint: awssdk.String(f.URL()), HTTPClient: &http.Client{Transport: rec},
			Credentials: awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
				return awssdk.Credentials{AccessKeyID: awsfake.AccessKeyID, SecretAccessKey: awsfake.SecretAccessKey}, nil
			}),
		}
	}
	c, east := ec2.NewFromConfig(cfg(awsfake.DefaultRegion)), ec2.NewFromConfig(cfg("us-east-1"))
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sts.NewFromConfig(cfg(awsfake.DefaultRegion)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	must(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))
	base := f.SeedImage("sindri-base", "h0", time.Now().Add(-time.Hour))
	f.SeedImage("sindri-other", "h0", time.Now().Add(-2*time.Hour))
	must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, MaxResults: awssdk.Int32(1)}))
	must(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	must(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}))
	tags := []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: []types.Tag{{Key: awssdk.String("k"), Value: awssdk.String("v")}}}}
	must(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: awssdk.String("packer_k"), KeyType: types.KeyTypeEd25519, TagSpecifications: tags}))
	must(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}))
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("g"), Description: awssdk.String("g")})
	must(sg, err)
	must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{{
		IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22), IpRanges: []types.IpRange{{CidrIp: awssdk.String("203.0.113.7/32")}},
	}}}))
	must(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String(base), InstanceType: types.InstanceTypeT3Large,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1), KeyName: awssdk.String("packer_k"), SecurityGroupIds: []string{*sg.GroupId}})
	must(run, err)
	id := run.Instances[0].InstanceId
	describe := func() {
		must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{*id}}))
	}
	describe()
	describe()
	must(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*id}}))
	describe()
	describe()
	must(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{*id}}))
	describe()
	describe()
	must(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}))
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: id, Name: awssdk.String("sindri-new")})
	must(img, err)
	for range 2 {
		must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*img.ImageId}}))
	}
	cp, err := east.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: img.ImageId, SourceRegion: awssdk.String(awsfake.DefaultRegion), Name: awssdk.String("sindri-new"), Encrypted: awssdk.Bool(true)})
	must(cp, err)
	must(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*img.ImageId}, Tags: []types.Tag{{Key: awssdk.String("k"), Value: awssdk.String("v")}}}))
	snaps, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	must(snaps, err)
	must(c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: img.ImageId, DeprecateAt: awssdk.Time(time.Now().Add(time.Hour))}))
	must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*img.ImageId}}))
	must(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*id}}))
	describe()
	describe()
	must(c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}))
	must(c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: awssdk.String("packer_k")}))
	must(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: img.ImageId}))
	for _, s := range snaps.Snapshots {
		if slices.Contains([]string{"completed"}, string(s.State)) && len(s.Tags) == 0 {
			_, _ = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: s.SnapshotId})
		}
	}
	vol := f.SeedLeftover(cloud.KindDisk, "run-m", time.Now())
	must(c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(vol)}))
}

// TestEveryRequestNameIsInTheModel: every top-level request parameter the
// double reads (r.get/list/count("Name...")) is the query name of an input
// member of an operation it serves (queryName, else the capitalised
// locationName, else the member name, as the EC2 protocol sends them).
func TestEveryRequestNameIsInTheModel(t *testing.T) {
	ec2m, _ := loadModel(t)
	names := map[string]bool{}
	for _, a := range awsfake.Actions() {
		op, ok := ec2m.Operations[a]
		if !ok || op.Input == nil {
			continue
		}
		for member, ref := range ec2m.Shapes[op.Input.Shape].Members {
			name := member
			switch {
			case ref.QueryName != "":
				name = ref.QueryName
			case ref.LocationName != "":
				name = strings.ToUpper(ref.LocationName[:1]) + ref.LocationName[1:]
			}
			names[name] = true
		}
	}
	files, _ := filepath.Glob("*.go")
	read := regexp.MustCompile(`r\.(?:get|list|count)\("([A-Za-z]+)`)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			if !names[m[1]] {
				t.Errorf("%s reads request parameter %s, which no operation it serves has", file, m[1])
			}
		}
	}
}
