package alibabafake

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The double's answers are checked against the official model: the
// request and response types of github.com/aliyun/alibaba-cloud-sdk-go
// (services/ecs, the version packer-plugin-alicloud is built with), kept
// verbatim in testdata/ecs-sdk with their licence. The SDK decodes
// leniently (an unknown or misspelt field is silently dropped), so a
// field name the double invents would pass every client test.

// sdkModel is the struct types of testdata/ecs-sdk by name.
type sdkModel map[string]*ast.StructType

func loadModel(t *testing.T) (sdkModel, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "ecs-sdk", "*.go.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SDK model under testdata/ecs-sdk: %v", err)
	}
	m := sdkModel{}
	var actions []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, strings.TrimSuffix(filepath.Base(name), ".go.txt"))
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					if st, ok := s.(*ast.TypeSpec).Type.(*ast.StructType); ok {
						m[s.(*ast.TypeSpec).Name.Name] = st
					}
				}
			}
		}
	}
	return m, actions
}

// check reports where v does not fit the model type e: an object key no
// field has (by its json tag), or a value of the wrong JSON kind.
func (m sdkModel) check(path string, e ast.Expr, v any) []string {
	switch t := e.(type) {
	case *ast.ArrayType:
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T where the model has a list", path, v)}
		}
		var out []string
		for i, x := range list {
			out = append(out, m.check(fmt.Sprintf("%s[%d]", path, i), t.Elt, x)...)
		}
		return out
	case *ast.StarExpr:
		return m.check(path, t.X, v)
	case *ast.Ident:
		return m.checkNamed(path, t.Name, v)
	}
	return []string{fmt.Sprintf("%s: model type %T not understood", path, e)}
}

func (m sdkModel) checkNamed(path, name string, v any) []string {
	kind := map[string]string{"string": "string", "bool": "bool", "int": "number", "int64": "number", "float64": "number", "int32": "number"}
	if k, ok := kind[name]; ok {
		got := "other"
		switch v.(type) {
		case string:
			got = "string"
		case bool:
			got = "bool"
		case float64:
			got = "number"
		}
		if got != k {
			return []string{fmt.Sprintf("%s: %s (%v) where the model has %s", path, got, v, name)}
		}
		return nil
	}
	st := m[name]
	if st == nil {
		return []string{fmt.Sprintf("%s: type %s is not in the model", path, name)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %T where the model has object %s", path, v, name)}
	}
	fields := map[string]ast.Expr{}
	for _, f := range st.Fields.List {
		if f.Tag == nil || len(f.Names) == 0 {
			continue // the embedded *responses.BaseResponse
		}
		if tag := regexp.MustCompile(`json:"([^"]+)"`).FindStringSubmatch(f.Tag.Value); tag != nil {
			fields[tag[1]] = f.Type
		}
	}
	var out []string
	for k, x := range obj {
		ft, ok := fields[k]
		if !ok {
			out = append(out, fmt.Sprintf("%s.%s: no such field in %s", path, k, name))
			continue
		}
		out = append(out, m.check(path+"."+k, ft, x)...)
	}
	return out
}

// scenario drives every action the double serves through one life: a
// network, a key pair, two instances, an EIP, an image, tags, sharing,
// then everything deleted again. Each step is an action and its params,
// made when the step runs (IDs come from the steps before).
type scenario struct {
	f                                                       *Fake
	pub, disk                                               string
	vpcID, vswID, sgID, inID, in2ID, eipID, imageID, snapID string
}

type step struct {
	action string
	params func() url.Values
}

func newScenario(f *Fake) *scenario {
	return &scenario{f: f,
		pub:  f.AddPublicImage("ubuntu_24_04_x64_20G_alibase_20250101.vhd", "acs:ubuntu_24_04_x64", time.Now()),
		disk: f.SeedLeftover("disk", "model", time.Now()),
	}
}

// kv is the params RegionId and pairs.
func (s *scenario) kv(pairs ...string) func() url.Values {
	return func() url.Values {
		p := url.Values{"RegionId": {Region}}
		for i := 0; i+1 < len(pairs); i += 2 {
			p.Set(pairs[i], pairs[i+1])
		}
		return p
	}
}

// at is get's params completed by fill when the step runs.
func (s *scenario) at(get func() url.Values, fill func(p url.Values)) func() url.Values {
	return func() url.Values { p := get(); fill(p); return p }
}

// last is the newest live ID of a kind.
func (s *scenario) last(kind string) string {
	var ids []string
	for _, r := range s.f.Live() {
		if r.Kind == kind {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids[len(ids)-1]
}

func (s *scenario) steps() []step { return append(s.setUp(), s.build()...) }

// setUp: the network, a key pair, two instances and an EIP.
func (s *scenario) setUp() []step {
	return []step{
		{"DescribeRegions", s.kv()},
		{"DescribeImageFromFamily", s.kv("ImageFamily", "acs:ubuntu_24_04_x64")},
		{"DescribeImages", s.kv("Status", "Available")},
		{"CreateKeyPair", s.kv("KeyPairName", "packer_model")},
		{"DescribeKeyPairs", s.kv()},
		{"CreateVpc", s.kv("CidrBlock", "172.16.0.0/16")},
		{"DescribeVpcs", s.at(s.kv(), func(p url.Values) { s.vpcID = s.last(KindVPC); p.Set("VpcId", s.vpcID) })},
		{"DescribeZones", s.kv()},
		{"CreateVSwitch", s.at(s.kv("ZoneId", Zone, "CidrBlock", "172.16.0.0/24"), func(p url.Values) { p.Set("VpcId", s.vpcID) })},
		{"DescribeVSwitches", s.at(s.kv(), func(p url.Values) { s.vswID = s.last(KindVSwitch); p.Set("VSwitchId", s.vswID) })},
		{"CreateSecurityGroup", s.at(s.kv(), func(p url.Values) { p.Set("VpcId", s.vpcID) })},
		{"AuthorizeSecurityGroupEgress", s.at(s.kv("IpProtocol", "all", "PortRange", "-1/-1", "DestCidrIp", "0.0.0.0/0"), func(p url.Values) {
			s.sgID = s.last("security-group")
			p.Set("SecurityGroupId", s.sgID)
		})},
		{"AuthorizeSecurityGroup", s.at(s.kv("IpProtocol", "tcp", "PortRange", "22/22", "SourceCidrIp", "0.0.0.0/0"), func(p url.Values) { p.Set("SecurityGroupId", s.sgID) })},
		{"DescribeSecurityGroups", s.kv()},
		{"CreateInstance", s.at(s.kv("ImageFamily", "acs:ubuntu_24_04_x64", "InstanceType", "ecs.g6.xlarge", "Tag.1.Key", "k", "Tag.1.Value", "v"),
			func(p url.Values) { p.Set("SecurityGroupId", s.sgID); p.Set("VSwitchId", s.vswID) })},
		{"RunInstances", s.at(s.kv("ImageId", s.pub, "InstanceType", "ecs.g6.xlarge", "InternetMaxBandwidthOut", "10"),
			func(p url.Values) { p.Set("SecurityGroupId", s.sgID); p.Set("VSwitchId", s.vswID) })},
		{"DescribeInstances", s.kv()},
		{"AllocateEipAddress", s.kv("Bandwidth", "10")},
		{"DescribeEipAddresses", s.kv()},
		{"AssociateEipAddress", s.at(s.kv(), func(p url.Values) {
			ins := []string{}
			for _, r := range s.f.Live() {
				if r.Kind == "instance" {
					ins = append(ins, r.ID)
				}
			}
			sort.Strings(ins)
			s.inID, s.in2ID, s.eipID = ins[0], ins[1], s.last(KindEIP)
			p.Set("AllocationId", s.eipID)
			p.Set("InstanceId", s.inID)
		})},
		{"AttachKeyPair", s.at(s.kv("KeyPairName", "packer_model"), func(p url.Values) { p.Set("InstanceIds", `["`+s.inID+`"]`) })},
	}
}

// build: the image from an instance, tags and sharing, then teardown.
func (s *scenario) build() []step {
	return []step{
		{"StartInstance", s.at(s.kv(), func(p url.Values) { p.Set("InstanceId", s.inID) })},
		{"DescribeInstances", s.kv()},
		{"DescribeInstances", s.kv()},
		{"StopInstance", s.at(s.kv(), func(p url.Values) { p.Set("InstanceId", s.inID) })},
		{"DescribeInstances", s.kv()},
		{"DescribeDisks", s.kv()},
		{"CreateImage", s.at(s.kv("ImageName", "sindri-model"), func(p url.Values) { p.Set("InstanceId", s.inID) })},
		{"DescribeImages", s.at(s.kv("Status", "Creating,Available"), func(p url.Values) { s.imageID = s.last(KindImage); p.Set("ImageId", s.imageID) })},
		{"AddTags", s.at(s.kv("ResourceType", "image", "Tag.1.Key", "a", "Tag.1.Value", "b"), func(p url.Values) { p.Set("ResourceId", s.imageID) })},
		{"TagResources", s.at(s.kv("ResourceType", "image", "Tag.1.Key", "c", "Tag.1.Value", "d"), func(p url.Values) { p.Set("ResourceId.1", s.imageID) })},
		{"ModifyImageSharePermission", s.at(s.kv("AddAccount.1", "1234567890"), func(p url.Values) { p.Set("ImageId", s.imageID) })},
		{"ModifyImageAttribute", s.at(s.kv("Status", "Deprecated"), func(p url.Values) { p.Set("ImageId", s.imageID) })},
		{"DetachKeyPair", s.at(s.kv("KeyPairName", "packer_model"), func(p url.Values) { p.Set("InstanceIds", `["`+s.inID+`"]`) })},
		{"UnassociateEipAddress", s.at(s.kv(), func(p url.Values) { p.Set("AllocationId", s.eipID); p.Set("InstanceId", s.inID) })},
		{"ReleaseEipAddress", s.at(s.kv(), func(p url.Values) { p.Set("AllocationId", s.eipID) })},
		{"DeleteInstance", s.at(s.kv("Force", "true"), func(p url.Values) { p.Set("InstanceId", s.inID) })},
		{"DeleteInstance", s.at(s.kv("Force", "true"), func(p url.Values) { p.Set("InstanceId", s.in2ID) })},
		{"DescribeInstances", s.kv()},
		{"DeleteSecurityGroup", s.at(s.kv(), func(p url.Values) { p.Set("SecurityGroupId", s.sgID) })},
		{"DeleteVSwitch", s.at(s.kv(), func(p url.Values) { p.Set("VSwitchId", s.vswID) })},
		{"DeleteVpc", s.at(s.kv(), func(p url.Values) { p.Set("VpcId", s.vpcID) })},
		{"DeleteKeyPairs", s.kv("KeyPairNames", `["packer_model"]`)},
		{"DeleteDisk", s.kv("DiskId", s.disk)},
		{"DeleteImage", s.at(s.kv("Force", "true"), func(p url.Values) {
			s.snapID = s.f.images[s.imageID].snapshots[0]
			p.Set("ImageId", s.imageID)
		})},
		{"DeleteSnapshot", s.at(s.kv(), func(p url.Values) { p.Set("SnapshotId", s.snapID) })},
	}
}

// TestAnswersMatchTheSDKModel: every field of every answer the double
// gives, through a whole life of its resources, is a field of that
// action's response type in the SDK, with the JSON kind the type has;
// every action the double serves has its model kept, and was checked.
func TestAnswersMatchTheSDKModel(t *testing.T) {
	model, modelled := loadModel(t)
	f := New(t)
	checked := map[string]bool{}
	for i, s := range newScenario(f).steps() {
		p := s.params()
		f.mu.Lock()
		answer, aerr := f.dispatch(s.action, p)
		f.mu.Unlock()
		if aerr != nil {
			t.Fatalf("step %d %s %v: %s: %s", i, s.action, p, aerr.code, aerr.message)
		}
		answer["RequestId"] = "FAKE"
		data, _ := json.Marshal(answer)
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		for _, problem := range model.checkNamed(s.action, s.action+"Response", v) {
			t.Errorf("step %d: %s", i, problem)
		}
		checked[s.action] = true
	}
	for _, a := range servedActions(t) {
		if !slices.Contains(modelled, a) {
			t.Errorf("%s is served but its SDK types are not under testdata/ecs-sdk", a)
		}
		if !checked[a] {
			t.Errorf("%s is served but no step of the scenario checks its answer", a)
		}
	}
	if live := f.Live(); len(live) != 0 {
		t.Errorf("the scenario left %v", live)
	}
}

// servedActions lists what dispatch answers: builderActions and the
// cases of its switch.
func servedActions(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("fake.go")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)[strings.Index(string(src), "func (f *Fake) dispatch("):]
	body = body[:strings.Index(body, "\n}\n")]
	var out []string
	for _, m := range regexp.MustCompile(`case "([A-Za-z]+)":`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	for a := range builderActions {
		out = append(out, a)
	}
	sort.Strings(out)
	if len(out) < 30 {
		t.Fatalf("found only %d served actions: %v", len(out), out)
	}
	return out
}

// TestParamsTheDoubleReadsAreInTheSDKModel: every request parameter the
// double reads by name (p.Get, required, jsonIDs, repeated) is one the
// SDK's request types send (their name:"..." tags; Name.N for a
// repeated one), or a common parameter of every RPC call. A misspelt
// name would make the double ignore what a real client sends.
func TestParamsTheDoubleReadsAreInTheSDKModel(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ecs-sdk", "*.go.txt"))
	names := map[string]bool{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`position:"Query" name:"([^"]+)"`).FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = true
		}
	}
	// RegionId is the RPC request's own field; the signer adds it.
	common := []string{"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Signature", "RegionId"}
	read := regexp.MustCompile(`(?:p\.Get|required\(p,|jsonIDs\(p,|repeated\(p,)\(?\s*"([A-Za-z.]+)"`)
	for _, src := range []string{"fake.go", "network.go", "builder.go"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		found := read.FindAllStringSubmatch(string(data), -1)
		if len(found) < 10 {
			t.Fatalf("%s: only %d parameter reads found: the pattern no longer matches the code", src, len(found))
		}
		for _, m := range found {
			name := strings.TrimSuffix(m[1], ".") // "Tag." + N: the repeated Tag
			if !names[name] && !slices.Contains(common, name) {
				t.Errorf("%s reads parameter %q, which no request type of the SDK sends", src, name)
			}
		}
	}
}
