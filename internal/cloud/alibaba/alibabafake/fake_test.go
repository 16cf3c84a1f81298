package alibabafake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
)

// The SDK-level behaviour is tested in package alibaba; these check what
// only raw HTTP shows: unsigned requests are refused the way ECS refuses
// them.
func TestUnsignedRequestRefused(t *testing.T) {
	f := alibabafake.New(t)
	tests := []struct {
		name, query, code string
		status            int
	}{
		{"no signature", "Action=DescribeRegions&Version=2014-05-26&Format=JSON", "MissingParameter", 400},
		{"forged signature", "Action=DescribeRegions&Version=2014-05-26&Format=JSON&AccessKeyId=" + alibabafake.AccessKeyID +
			"&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=1&Timestamp=2025-01-01T00%3A00%3A00Z&Signature=forged",
			"SignatureDoesNotMatch", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(f.URL()+"/?"+tc.query, "application/x-www-form-urlencoded", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e struct{ RequestId, HostId, Code, Message string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tc.status || e.Code != tc.code || e.RequestId == "" || e.Message == "" ||
				resp.Header.Get("x-acs-request-id") != e.RequestId {
				t.Errorf("HTTP %d %+v (header id %q)", resp.StatusCode, e, resp.Header.Get("x-acs-request-id"))
			}
		})
	}
	if got := f.Requests(); len(got) != 2 || got[0] != "POST Action=DescribeRegions" {
		t.Errorf("Requests() = %v", got)
	}
}

func TestEnvIsFake(t *testing.T) {
	f := alibabafake.New(t)
	env := f.Env()
	if !strings.HasPrefix(env["SINDRI_ALIBABA_ENDPOINT"], "http://127.0.0.1:") {
		t.Errorf("endpoint %q is not loopback", env["SINDRI_ALIBABA_ENDPOINT"])
	}
	for _, k := range []string{"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"} {
		if !strings.Contains(env[k], "fake") {
			t.Errorf("%s = %q is not clearly fake", k, env[k])
		}
	}
	if env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] != "true" {
		t.Error("the SDK's metadata credential probe is not disabled")
	}
}

func TestSeedLeftoverUnknownKindPanics(t *testing.T) {
	f := alibabafake.New(t)
	defer func() {
		if recover() == nil {
			t.Error("no panic for a kind ECS has no leftover of")
		}
	}()
	f.SeedLeftover("network", "run-1", time.Now())
}

// describeImagesNamed asks the fake, through the ECS SDK as alicloud-ecs
// does before a build, for the images whose name matches name.
func describeImagesNamed(t *testing.T, f *alibabafake.Fake, name string) []string {
	t.Helper()
	c, err := ecs.NewClientWithAccessKey(alibabafake.Region, alibabafake.AccessKeyID, alibabafake.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(f.URL(), "http://")
	req := ecs.CreateDescribeImagesRequest()
	req.Scheme = "http"
	req.ImageName = name
	req.Status = "Available,Creating"
	resp, err := c.DescribeImages(req)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range resp.Images.Image {
		names = append(names, im.ImageName)
	}
	slices.Sort(names)
	return names
}

// ECS filters DescribeImages by ImageName; a double that ignored it made
// alicloud-ecs's "image name is taken" check fail for every build once any
// image existed (issue 13).
func TestDescribeImagesFiltersByImageName(t *testing.T) {
	f := alibabafake.New(t)
	f.SeedImage("sindri-20250301", "H1", time.Now())
	f.SeedImage("sindri-20250302", "H2", time.Now())
	f.SeedImage("team-base", "H3", time.Now())
	tests := []struct {
		name string
		want []string
	}{
		{"sindri-20250302", []string{"sindri-20250302"}},
		{"sindri-2025", []string{"sindri-20250301", "sindri-20250302"}},
		{"sindri-20990101", nil},
		{"", []string{"sindri-20250301", "sindri-20250302", "team-base"}},
	}
	for _, tc := range tests {
		if got := describeImagesNamed(t, f, tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("ImageName %q: %v, want %v", tc.name, got, tc.want)
		}
	}
}
