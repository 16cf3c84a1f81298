package awsfake

// The operations amazon-ebs needs beyond what the project's client calls:
// the temporary key pair, the image from the stopped instance, its tags,
// its copies (the encrypted copy and the ones in ami_regions), the
// regions and the snapshots. Wire names as in botocore's EC2 model
// (testdata/ec2-model-excerpt.json).

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	handlers["CreateKeyPair"] = createKeyPair
	handlers["CreateImage"] = createImage
	handlers["CreateTags"] = createTags
	handlers["CopyImage"] = copyImage
	handlers["DescribeRegions"] = describeRegions
	handlers["DescribeSnapshots"] = describeSnapshots
}

// Regions are the regions the fake account may use.
var Regions = []string{"ap-south-1", "eu-central-1", "eu-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}

func createKeyPair(f *Fake, r *req) ([]elem, *apiError) {
	name := r.get("KeyName")
	if name == "" {
		return nil, &apiError{400, "MissingParameter", "The request must contain the parameter KeyName"}
	}
	for _, k := range f.sorted(kindKeyPair, r.region) {
		if k.name == name {
			return nil, &apiError{400, "InvalidKeyPair.Duplicate", fmt.Sprintf("The keypair '%s' already exists.", name)}
		}
	}
	typ := or(r.get("KeyType"), "rsa")
	material, err := privateKey(typ)
	if err != nil {
		return nil, &apiError{400, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter keyType is invalid.", typ)}
	}
	specs, aerr := r.tagSpecs()
	if aerr != nil {
		return nil, aerr
	}
	k := f.add(&resource{kind: kindKeyPair, id: f.newID("key"), name: name, region: r.region, tags: specs["key-pair"], created: time.Now().UTC()})
	return []elem{
		{"keyName", k.name}, {"keyFingerprint", "SHA256:fakefakefake"}, {"keyMaterial", material},
		{"keyPairId", k.id}, {"tagSet", xtags(k.tags)},
	}, nil
}

// privateKey makes a real private key of typ, as EC2 returns it: PEM
// PKCS#1 for rsa, OpenSSH for ed25519.
func privateKey(typ string) (string, error) {
	switch typ {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), nil
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		b, err := ssh.MarshalPrivateKey(k, "")
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(b)), nil
	}
	return "", fmt.Errorf("key type %q", typ)
}

// createImage snapshots the instance's volume into a pending image that
// becomes available after the fake's transition polls (DescribeImages).
func createImage(f *Fake, r *req) ([]elem, *apiError) {
	in, aerr := f.seen(r.get("InstanceId"), r.region)
	if aerr != nil {
		return nil, aerr
	}
	if in.state != "running" && in.state != "stopped" {
		return nil, &apiError{400, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a state from which it can be imaged.", in.id)}
	}
	name := r.get("Name")
	if aerr := f.checkImageName(name, r.region); aerr != nil {
		return nil, aerr
	}
	specs, aerr := r.tagSpecs()
	if aerr != nil {
		return nil, aerr
	}
	im := f.newImage(r.region, name, r.get("Description"), false, specs["image"], specs["snapshot"])
	return []elem{{"imageId", im.id}}, nil
}

// checkImageName: EC2 wants a name of 3 to 128 characters, unique among
// the account's images in the region.
func (f *Fake) checkImageName(name, region string) *apiError {
	if len(name) < 3 || len(name) > 128 {
		return &apiError{400, "InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long"}
	}
	for _, im := range f.sorted(kindImage, region) {
		if im.name == name && ownerOf(im) == Account {
			return &apiError{400, "InvalidAMIName.Duplicate", fmt.Sprintf("AMI name %s is already in use by AMI %s", name, im.id)}
		}
	}
	return nil
}

// newImage adds a pending image of the account with one new snapshot.
func (f *Fake) newImage(region, name, desc string, encrypted bool, tags, snapTags map[string]string) *resource {
	now := time.Now().UTC().Truncate(time.Second)
	snap := f.add(&resource{kind: kindSnapshot, id: f.newID("snap"), region: region, state: "pending", tags: cloudtest.CopyTags(snapTags), created: now, encrypted: encrypted})
	im := f.add(&resource{
		kind: kindImage, id: f.newID("ami"), name: name, desc: desc, region: region, state: "pending",
		tags: cloudtest.CopyTags(tags), created: now, snapshots: []string{snap.id}, encrypted: encrypted,
	})
	im.next, im.steps = "available", f.ticks
	return im
}

// tickImage advances a pending image (and its snapshots) one
// DescribeImages call.
func (f *Fake) tickImage(im *resource) {
	next, ok := im.advance()
	if !ok {
		return
	}
	im.state = next
	for _, s := range im.snapshots {
		if snap := f.res[s]; snap != nil {
			snap.state = "completed"
		}
	}
}

func copyImage(f *Fake, r *req) ([]elem, *apiError) {
	srcRegion, srcID := r.get("SourceRegion"), r.get("SourceImageId")
	if !slices.Contains(Regions, srcRegion) {
		return nil, &apiError{400, "InvalidRequest", fmt.Sprintf("Invalid source region: %s", srcRegion)}
	}
	src := f.find(kindImage, srcID, srcRegion)
	if src == nil || !src.visible() {
		return nil, notFound(kindImage, srcID)
	}
	if src.state != "available" {
		return nil, &apiError{400, "IncorrectState", fmt.Sprintf("Image %s is not in a valid state for copying", srcID)}
	}
	if tok := r.get("ClientToken"); tok != "" {
		for _, im := range f.sorted(kindImage, r.region) {
			if im.token == tok {
				return []elem{{"imageId", im.id}}, nil
			}
		}
	}
	name := or(r.get("Name"), src.name)
	if aerr := f.checkImageName(name, r.region); aerr != nil {
		return nil, aerr
	}
	var tags map[string]string
	if r.get("CopyImageTags") == "true" {
		tags = src.tags
	}
	specs, aerr := r.tagSpecs()
	if aerr != nil {
		return nil, aerr
	}
	if t := specs["image"]; t != nil {
		tags = t
	}
	im := f.newImage(r.region, name, or(r.get("Description"), src.desc), src.encrypted || r.get("Encrypted") == "true", tags, nil)
	im.token = r.get("ClientToken")
	return []elem{{"imageId", im.id}}, nil
}

// createTags tags images, snapshots, instances, volumes, security groups
// and key pairs of the region.
func createTags(f *Fake, r *req) ([]elem, *apiError) {
	ids := r.list("ResourceId")
	if len(ids) == 0 {
		return nil, &apiError{400, "MissingParameter", "The request must contain the parameter resourceIdSet"}
	}
	var targets []*resource
	for _, id := range ids {
		res, aerr := f.taggable(id, r.region)
		if aerr != nil {
			return nil, aerr
		}
		targets = append(targets, res)
	}
	tags := map[string]string{}
	for i := 1; i <= r.count("Tag"); i++ {
		k := r.get("Tag." + strconv.Itoa(i) + ".Key")
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, &apiError{400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use"}
		}
		tags[k] = r.get("Tag." + strconv.Itoa(i) + ".Value")
	}
	for _, res := range targets {
		for k, v := range tags {
			res.tags[k] = v
		}
		if res.kind == kindInstance {
			res.name = res.tags["Name"]
		}
	}
	return ret(), nil
}

// taggable finds a resource by ID in EC2's words when it is missing.
func (f *Fake) taggable(id, region string) (*resource, *apiError) {
	if strings.HasPrefix(id, "i-") {
		return f.seen(id, region)
	}
	if res := f.res[id]; res != nil && res.region == region && ownerOf(res) == Account {
		return res, nil
	}
	code := map[string]string{"ami": "InvalidAMIID.NotFound", "snap": "InvalidSnapshot.NotFound", "vol": "InvalidVolume.NotFound", "sg": "InvalidGroup.NotFound", "key": "InvalidKeyPair.NotFound"}
	prefix, _, _ := strings.Cut(id, "-")
	return nil, &apiError{400, or(code[prefix], "InvalidID"), fmt.Sprintf("The ID '%s' is not valid", id)}
}

func describeRegions(f *Fake, r *req) ([]elem, *apiError) {
	names := r.list("RegionName")
	var out items[xRegion]
	for _, name := range names {
		if !slices.Contains(Regions, name) {
			return nil, &apiError{400, "InvalidParameterValue", fmt.Sprintf("Invalid region: %s", name)}
		}
	}
	for _, name := range Regions {
		if len(names) == 0 || slices.Contains(names, name) {
			out.Item = append(out.Item, xRegion{name, "ec2." + name + ".amazonaws.com", "opt-in-not-required"})
		}
	}
	return []elem{{"regionInfo", out}}, nil
}

func describeSnapshots(f *Fake, r *req) ([]elem, *apiError) {
	ids := r.list("SnapshotId")
	for _, id := range ids {
		if s := f.find(kindSnapshot, id, r.region); s == nil || ownerOf(s) != Account {
			return nil, notFound(kindSnapshot, id)
		}
	}
	sel, err := f.selected(r, kindSnapshot, ids, attrs{"snapshot-id": idOf, "status": stateOf, "owner-id": ownerOf})
	if err != nil {
		return nil, err
	}
	sel = slices.DeleteFunc(sel, func(s *resource) bool { return ownerOf(s) != Account })
	sel, next, err := page(f, r, sel, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	var out items[xSnapshot]
	for _, s := range sel {
		out.Item = append(out.Item, xSnapshot{s.id, "vol-ffffffff", s.state, iso(s.created), "100%", ownerOf(s), 80, s.encrypted, xtags(s.tags)})
	}
	return withNext([]elem{{"snapshotSet", out}}, next), nil
}
