package cli

import (
	"strings"
	"testing"
)

// awsNoCredentials is what the AWS SDK answers without any credentials:
// the useful part comes last, after more than 200 characters of chain.
const awsNoCredentials = "aws: check credentials (sts get-caller-identity in us-east-1): operation error STS: GetCallerIdentity, " +
	"get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, " +
	"canceled, context deadline exceeded; the end of the chain"

// TestDoctorShowsTheWholeCauseAndHowToSignIn: doctor's table cuts a detail
// to one line; the whole cause chain follows it, with the cloud's sign-in
// hint, and --json carries both too.
func TestDoctorShowsTheWholeCauseAndHowToSignIn(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.fail["CheckCredentials"] = errorString(awsNoCredentials)
	r := runWith(t, fake, "", env, "doctor", "-c", cfg)
	r.check(t, 1, []string{"the end of the chain", "aws sso login", "AWS_PROFILE"}, nil)
	r = runWith(t, fake, "", env, "doctor", "-c", cfg, "--json")
	r.check(t, 1, []string{"the end of the chain", "aws sso login"}, nil)
}

// TestCredentialFailuresSayHowToSignIn: images, cleanup and status add the
// cloud's sign-in hint to a credential failure, and only to one.
func TestCredentialFailuresSayHowToSignIn(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.fail["ListImages"] = errorString("operation error EC2: DescribeImages, get identity: get credentials: failed to refresh cached credentials")
	runWith(t, fake, "", env, "images", "list", "-c", cfg).check(t, 3, nil, []string{"failed to refresh cached credentials", "hint: aws credentials: sign in with `aws sso login"})
	fake.fail["Leftovers"] = errorString("operation error EC2: DescribeInstances, https response error StatusCode: 401, api error AuthFailure: AWS was not able to validate the provided access credentials")
	runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, 3, nil, []string{"AuthFailure", "hint: aws credentials"})
	fake.fail["ListInstances"] = errorString("operation error EC2: DescribeInstances, api error RequestExpired: request has expired")
	r := runWith(t, fake, "", env, "status", "-c", cfg)
	r.check(t, 3, nil, []string{"RequestExpired"})
	if strings.Contains(r.stderr, "hint:") {
		t.Errorf("a failure that is not about credentials got the sign-in hint:\n%s", r)
	}
}
