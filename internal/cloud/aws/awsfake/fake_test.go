package awsfake_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func post(t *testing.T, f *awsfake.Fake, form url.Values, auth string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.URL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

const auth = "AWS4-HMAC-SHA256 Credential=" + awsfake.AccessKeyID + "/20240501/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=00"

// The wire shapes the SDK's deserializers read.
func TestWireFormat(t *testing.T) {
	f := awsfake.New(t)
	tests := []struct {
		name       string
		form       url.Values
		auth       string
		status     int
		wantInBody []string
	}{
		{
			name: "unsigned request", form: url.Values{"Action": {"DescribeImages"}, "Version": {"2016-11-15"}},
			status: 401, wantInBody: []string{"<Response><Errors><Error><Code>AuthFailure</Code>", "<RequestID>"},
		},
		{
			name: "answer in the EC2 namespace", form: url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}}, auth: auth,
			status: 200, wantInBody: []string{`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`, "<vpcSet><item><vpcId>" + awsfake.DefaultVPC},
		},
		{
			name: "unknown filter", form: url.Values{"Action": {"DescribeImages"}, "Version": {"2016-11-15"}, "Filter.1.Name": {"colour"}, "Filter.1.Value.1": {"red"}}, auth: auth,
			status: 400, wantInBody: []string{"<Code>InvalidParameterValue</Code><Message>The filter &#39;colour&#39; is invalid</Message>"},
		},
		{
			name: "wrong version", form: url.Values{"Action": {"DescribeImages"}, "Version": {"2011-01-01"}}, auth: auth,
			status: 400, wantInBody: []string{"Invalid API version"},
		},
		{
			name: "sts answer", form: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, auth: auth,
			status: 200, wantInBody: []string{"<GetCallerIdentityResult><Arn>arn:aws:iam::" + awsfake.Account, "<ResponseMetadata><RequestId>"},
		},
		{
			name: "unknown action", form: url.Values{"Action": {"DescribeUnicorns"}, "Version": {"2016-11-15"}}, auth: auth,
			status: 400, wantInBody: []string{"<Code>InvalidAction</Code>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := post(t, f, tt.form, tt.auth)
			if status != tt.status {
				t.Errorf("status = %d, want %d: %s", status, tt.status, body)
			}
			if h.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			for _, want := range tt.wantInBody {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
	if got := f.Calls("")[1].Region; got != "eu-west-1" {
		t.Errorf("region from the credential scope = %q", got)
	}
	if n := len(f.Requests()); n != len(tests) {
		t.Errorf("Requests = %d", n)
	}
}

// TestSTSErrorShape: STS throttles with HTTP 400 and Throttling, never 429.
func TestSTSErrorShape(t *testing.T) {
	f := awsfake.New(t)
	f.FailNext(http.StatusTooManyRequests, 1)
	status, _, body := post(t, f, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, auth)
	if status != 400 || !strings.Contains(body, "<ErrorResponse") || !strings.Contains(body, "<Code>Throttling</Code>") || !strings.Contains(body, "<Type>Sender</Type>") {
		t.Errorf("%d %s", status, body)
	}
}

// TestThrottlingIsAnsweredAsEC2Does: EC2 throttles with HTTP 503 and
// RequestLimitExceeded, never 429, whether the test asks for throttling
// by status (429) or by code.
func TestThrottlingIsAnsweredAsEC2Does(t *testing.T) {
	for _, fault := range []cloudtest.Fault{{Status: http.StatusTooManyRequests}, {Code: "RequestLimitExceeded"}} {
		f := awsfake.New(t)
		f.Inject(fault)
		status, _, body := post(t, f, url.Values{"Action": {"DescribeImages"}, "Version": {"2016-11-15"}}, auth)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "<Response><Errors><Error><Code>RequestLimitExceeded</Code>") {
			t.Errorf("fault %+v: %d %s", fault, status, body)
		}
	}
}

// TestMetadataOptionsAsRequested: an instance runs with the metadata
// options RunInstances asked for, EC2's defaults (IMDSv1 allowed) for
// what it did not; the double used to answer "required" whatever was
// asked.
func TestMetadataOptionsAsRequested(t *testing.T) {
	f := awsfake.New(t)
	image := f.SeedImage("sindri-1", "h1", time.Now())
	run := func(extra url.Values) string {
		form := url.Values{"Action": {"RunInstances"}, "Version": {"2016-11-15"}, "ImageId": {image}, "InstanceType": {"t3.small"}, "MinCount": {"1"}, "MaxCount": {"1"}}
		for k, v := range extra {
			form[k] = v
		}
		status, _, body := post(t, f, form, strings.Replace(auth, "eu-west-1", awsfake.DefaultRegion, 1))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		_, after, _ := strings.Cut(body, "<instanceId>")
		id, _, _ := strings.Cut(after, "<")
		return id
	}
	if md := f.InstanceMetadata(run(nil)); md != (awsfake.Metadata{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1}) {
		t.Errorf("defaults = %+v", md)
	}
	asked := url.Values{"MetadataOptions.HttpTokens": {"required"}, "MetadataOptions.HttpPutResponseHopLimit": {"2"}, "MetadataOptions.HttpEndpoint": {"disabled"}}
	if md := f.InstanceMetadata(run(asked)); md != (awsfake.Metadata{HTTPTokens: "required", HTTPEndpoint: "disabled", HopLimit: 2}) {
		t.Errorf("as asked = %+v", md)
	}
}

// TestPagesEndWithoutNextToken: a page size pages every paged Describe,
// the last page carries no nextToken, and a token from another action
// is refused as EC2 refuses it.
func TestPagesEndWithoutNextToken(t *testing.T) {
	f := awsfake.New(t)
	for i := range 3 {
		f.SeedImage("sindri-"+string(rune('a'+i)), "h1", time.Now())
	}
	f.SetPageSize(2)
	us := strings.Replace(auth, "eu-west-1", awsfake.DefaultRegion, 1)
	form := url.Values{"Action": {"DescribeImages"}, "Version": {"2016-11-15"}}
	_, _, body := post(t, f, form, us)
	tok, _, ok := strings.Cut(strings.SplitN(body+"<nextToken>", "<nextToken>", 2)[1], "</nextToken>")
	if !ok || strings.Count(body, "<imageId>") != 2 {
		t.Fatalf("first page: %s", body)
	}
	form.Set("NextToken", tok)
	if _, _, body := post(t, f, form, us); strings.Count(body, "<imageId>") != 1 || strings.Contains(body, "nextToken") {
		t.Errorf("last page: %s", body)
	}
	other := url.Values{"Action": {"DescribeVolumes"}, "Version": {"2016-11-15"}, "NextToken": {tok}}
	if status, _, body := post(t, f, other, us); status != 400 || !strings.Contains(body, "InvalidPaginationToken") {
		t.Errorf("a token of DescribeImages on DescribeVolumes: %d %s", status, body)
	}
}
