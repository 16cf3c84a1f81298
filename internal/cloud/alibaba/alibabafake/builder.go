package alibabafake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// builderActions are the ECS actions packer-plugin-alicloud's alicloud-ecs
// builder calls and sindri-packer's own client does not: the fake serves
// them so the real plugin can run a whole build against it.
var builderActions = map[string]func(*Fake, url.Values) (map[string]any, *apiError){
	"DescribeImageFromFamily":      (*Fake).describeImageFromFamily,
	"DescribeZones":                (*Fake).describeZones,
	"CreateVpc":                    (*Fake).createVpc,
	"DescribeVpcs":                 (*Fake).describeVpcs,
	"DeleteVpc":                    (*Fake).deleteVpc,
	"CreateVSwitch":                (*Fake).createVSwitch,
	"DescribeVSwitches":            (*Fake).describeVSwitches,
	"DeleteVSwitch":                (*Fake).deleteVSwitch,
	"AuthorizeSecurityGroupEgress": (*Fake).authorizeSecurityGroupEgress,
	"CreateKeyPair":                (*Fake).createKeyPair,
	"AttachKeyPair":                (*Fake).attachKeyPair,
	"DetachKeyPair":                (*Fake).detachKeyPair,
	"CreateInstance":               (*Fake).createInstance,
	"AllocateEipAddress":           (*Fake).allocateEipAddress,
	"DescribeEipAddresses":         (*Fake).describeEipAddresses,
	"AssociateEipAddress":          (*Fake).associateEipAddress,
	"UnassociateEipAddress":        (*Fake).unassociateEipAddress,
	"ReleaseEipAddress":            (*Fake).releaseEipAddress,
	"CreateImage":                  (*Fake).createImage,
	"AddTags":                      (*Fake).addTags,
	"ModifyImageSharePermission":   (*Fake).modifyImageSharePermission,
}

// newestOfFamily is the newest Available image of family in region, any
// owner (nil when none).
func (f *Fake) newestOfFamily(region, family string) *image {
	var best *image
	for _, im := range f.images {
		if im.region == region && im.family == family && im.status == "Available" &&
			(best == nil || im.created.After(best.created) || (im.created.Equal(best.created) && im.id > best.id)) {
			best = im
		}
	}
	return best
}

func (f *Fake) describeImageFromFamily(p url.Values) (map[string]any, *apiError) {
	family, aerr := required(p, "ImageFamily")
	if aerr != nil {
		return nil, aerr
	}
	if im := f.newestOfFamily(p.Get("RegionId"), family); im != nil {
		return map[string]any{"Image": imageJSON(im)}, nil
	}
	return map[string]any{"Image": map[string]any{}}, nil
}

func (f *Fake) authorizeSecurityGroupEgress(p url.Values) (map[string]any, *apiError) {
	return f.authorize(p, "DestCidrIp", "DestGroupId", func(g *group) *[]Rule { return &g.egress })
}

func (f *Fake) createKeyPair(p url.Values) (map[string]any, *apiError) {
	name, aerr := required(p, "KeyPairName")
	if aerr != nil {
		return nil, aerr
	}
	if f.keys[name] != nil {
		return nil, errf(400, "KeyPair.AlreadyExist", "The key pair already exist.")
	}
	// ECS makes an RSA key and keeps only its public half.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, errf(500, "InternalError", "The request processing has failed due to some unknown error.")
	}
	body := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	k := &resource{id: name, name: name, region: p.Get("RegionId"), tags: tagParams(p), created: time.Now().UTC()}
	f.keys[name] = k
	return map[string]any{"KeyPairName": name, "KeyPairId": f.nextID("kp-"), "KeyPairFingerPrint": "fa:ke:00", "PrivateKeyBody": string(body)}, nil
}

// keyPairInstances checks the KeyPairName and InstanceIds of an attach or
// a detach.
func (f *Fake) keyPairInstances(p url.Values) (string, []*instance, *apiError) {
	name, aerr := required(p, "KeyPairName")
	if aerr != nil {
		return "", nil, aerr
	}
	if k := f.keys[name]; k == nil || k.region != p.Get("RegionId") {
		return "", nil, errf(404, "InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist in our records.")
	}
	ids, aerr := jsonIDs(p, "InstanceIds")
	if aerr != nil {
		return "", nil, aerr
	}
	if len(ids) == 0 {
		return "", nil, errf(400, "MissingParameter", "The input parameter \"InstanceIds\" that is mandatory for processing this request is not supplied.")
	}
	var out []*instance
	for _, id := range ids {
		in := f.instances[id]
		if in == nil || in.region != p.Get("RegionId") {
			return "", nil, errf(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
		}
		out = append(out, in)
	}
	return name, out, nil
}

// keyPairResults is AttachKeyPair's and DetachKeyPair's answer.
func keyPairResults(name string, ins []*instance) map[string]any {
	results := []map[string]string{}
	for _, in := range ins {
		results = append(results, map[string]string{"InstanceId": in.id, "Success": "true", "Code": "200", "Message": "successful"})
	}
	return map[string]any{"KeyPairName": name, "TotalCount": strconv.Itoa(len(ins)), "FailCount": "0", "Results": map[string]any{"Result": results}}
}

func (f *Fake) attachKeyPair(p url.Values) (map[string]any, *apiError) {
	name, ins, aerr := f.keyPairInstances(p)
	if aerr != nil {
		return nil, aerr
	}
	for _, in := range ins {
		in.keyPair = name
	}
	return keyPairResults(name, ins), nil
}

func (f *Fake) detachKeyPair(p url.Values) (map[string]any, *apiError) {
	name, ins, aerr := f.keyPairInstances(p)
	if aerr != nil {
		return nil, aerr
	}
	for _, in := range ins {
		if in.keyPair == name {
			in.keyPair = ""
		}
	}
	return keyPairResults(name, ins), nil
}

// sourceImage is the image CreateInstance starts from: ImageId, or the
// newest of ImageFamily.
func (f *Fake) sourceImage(p url.Values) (*image, *apiError) {
	region := p.Get("RegionId")
	if family := p.Get("ImageFamily"); family != "" && p.Get("ImageId") == "" {
		if im := f.newestOfFamily(region, family); im != nil {
			return im, nil
		}
		return nil, errf(404, "InvalidImageFamily.NotFound", "The specified ImageFamily does not exist.")
	}
	id, aerr := required(p, "ImageId")
	if aerr != nil {
		return nil, aerr
	}
	if im := f.images[id]; im != nil && im.region == region && (im.status == "Available" || im.status == "Deprecated") {
		return im, nil
	}
	return nil, errf(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
}

// createInstance is CreateInstance: one instance, Stopped once created
// (RunInstances starts it); no public IP (an EIP gives it one).
func (f *Fake) createInstance(p url.Values) (map[string]any, *apiError) {
	if id := f.token(p); id != "" {
		return map[string]any{"InstanceId": id, "OrderId": "", "TradePrice": 0}, nil
	}
	im, aerr := f.sourceImage(p)
	if aerr != nil {
		return nil, aerr
	}
	typ, aerr := required(p, "InstanceType")
	if aerr != nil {
		return nil, aerr
	}
	if !slices.Contains(instanceTypes, typ) {
		return nil, errf(404, "InvalidInstanceType.NotFound", "The specified InstanceType does not exist.")
	}
	in, aerr := f.newInstance(p, im, "Stopped")
	if aerr != nil {
		return nil, aerr
	}
	if in.name == "" {
		in.name = in.id // ECS names an unnamed instance by its ID
	}
	return map[string]any{"InstanceId": in.id, "OrderId": "", "TradePrice": 0}, nil
}

// createImage is CreateImage from an instance: a snapshot of its system
// disk and an image that is Creating until the next DescribeImages.
func (f *Fake) createImage(p url.Values) (map[string]any, *apiError) {
	if id := f.token(p); id != "" {
		return map[string]any{"ImageId": id}, nil
	}
	in, aerr := find(p, f.instances, "InstanceId")
	if aerr != nil {
		return nil, aerr
	}
	if (in.status != "Stopped" && in.status != "Running") || in.releasing {
		return nil, errf(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
	}
	name := p.Get("ImageName")
	for _, im := range f.images {
		if name != "" && im.owner == "self" && im.region == in.region && im.name == name {
			return nil, errf(400, "InvalidImageName.Duplicated", "The specified ImageName has been used.")
		}
	}
	now := time.Now().UTC()
	snap := &resource{id: f.nextID("s-"), name: "auto created by CreateImage", region: in.region, tags: map[string]string{}, created: now}
	f.snapshots[snap.id] = snap
	im := &image{resource: resource{id: f.nextID("m-"), name: name, region: in.region, tags: tagParams(p), created: now},
		status: "Creating", snapshots: []string{snap.id}, owner: "self", family: p.Get("ImageFamily"), description: p.Get("Description")}
	f.images[im.id] = im
	f.remember(p, im.id)
	return map[string]any{"ImageId": im.id}, nil
}

// addTags is AddTags: TagResources for one resource.
func (f *Fake) addTags(p url.Values) (map[string]any, *apiError) {
	id, aerr := required(p, "ResourceId")
	if aerr != nil {
		return nil, aerr
	}
	q := url.Values{}
	for k, v := range p {
		q[k] = v
	}
	q.Set("ResourceId.1", id)
	return f.tagResources(q)
}

func (f *Fake) modifyImageSharePermission(p url.Values) (map[string]any, *apiError) {
	im, aerr := f.image(p)
	if aerr != nil {
		return nil, aerr
	}
	for _, a := range repeated(p, "AddAccount") {
		if !slices.Contains(im.sharedWith, a) {
			im.sharedWith = append(im.sharedWith, a)
		}
	}
	for _, a := range repeated(p, "RemoveAccount") {
		im.sharedWith = slices.DeleteFunc(im.sharedWith, func(s string) bool { return s == a })
	}
	return map[string]any{}, nil
}

// SharedWith returns the accounts an image is shared with.
func (f *Fake) SharedWith(imageID string) []string {
	return cloudtest.Read(&f.mu, f.images, imageID, func(im *image) []string { return slices.Clone(im.sharedWith) })
}
