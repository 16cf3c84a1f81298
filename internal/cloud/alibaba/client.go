package alibaba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv overrides the ECS endpoint: "host[:port]" (https) or a URL
// such as http://127.0.0.1:8080 (the cross-cloud tests point it at the
// test double).
const EndpointEnv = "SINDRI_ALIBABA_ENDPOINT"

// api is one ECS client bound to a region and to the context of the
// operation that made it: the SDK takes no context, so its transport
// carries ours and a cancel ends the request in flight.
type api struct {
	c      Cloud
	ecs    *ecs.Client
	region string
}

// client builds the ECS client for the config's region.
func (c Cloud) client(ctx context.Context, cfg *config.Config) (*api, error) {
	a := cfg.Packer.Clouds.Alibaba
	if a == nil {
		return nil, errors.New("alibaba: the config has no alibaba block")
	}
	return c.clientFor(ctx, a.Region)
}

func (c Cloud) clientFor(ctx context.Context, region string) (*api, error) {
	conf := sdk.NewConfig()
	conf.AutoRetry = false // cloud.Retry does it, throttling included
	conf.Scheme = "HTTPS"
	domain := ""
	if ep := strings.TrimSpace(c.Env.Get(EndpointEnv)); ep != "" {
		scheme, host, ok := strings.Cut(ep, "://")
		if !ok {
			scheme, host = "https", ep
		}
		conf.Scheme = strings.ToUpper(scheme)
		domain = strings.TrimSuffix(host, "/")
	}
	conf.Transport = ctxTransport{ctx: ctx, base: baseTransport}
	cl, err := ecs.NewClientWithOptions(region, conf, c.credentialChain())
	if err != nil {
		return nil, fmt.Errorf("alibaba: ecs client: %w", redact(err))
	}
	if domain != "" {
		cl.Domain = domain
	}
	if t := c.Tuning.CallTimeout; t > 0 {
		cl.SetReadTimeout(t)
		cl.SetConnectTimeout(t)
	}
	return &api{c: c, ecs: cl, region: region}, nil
}

// tuning is c.Tuning with this cloud's defaults: waits end after 10
// minutes. (A zero CallTimeout is left to the SDK's per-API time-outs.)
func (c Cloud) tuning() cloud.Tuning {
	return c.Tuning.Or(cloud.Tuning{WaitTimeout: 10 * time.Minute}).WithDefaults()
}

var baseTransport http.RoundTripper = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}()

type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// call runs one ECS action with retries of throttling and transient
// failures, and returns its error in our words.
func (a *api) call(ctx context.Context, req requests.AcsRequest, resp responses.AcsResponse) error {
	return a.callRetrying(ctx, req, resp, retryable)
}

// callRetrying is call with its own test of what is worth another try.
// Tuning.MaxAttempts, when set, bounds the attempts; otherwise the
// retries end only with Tuning.Retry's MaxElapsed.
func (a *api) callRetrying(ctx context.Context, req requests.AcsRequest, resp responses.AcsResponse, again func(error) bool) error {
	attempts, most := 0, a.c.Tuning.MaxAttempts
	retry := func(err error) bool {
		attempts++
		return again(err) && (most <= 0 || attempts < most)
	}
	err := cloud.Retry(ctx, a.c.tuning().Retry, retry, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return a.ecs.DoAction(req, resp)
	})
	if err == nil {
		return nil
	}
	return &apiError{action: req.GetActionName(), region: a.region, err: err}
}

// throttleCodes are the error codes ECS answers when it wants us to slow
// down or come back later, whatever the HTTP status says.
var throttleCodes = map[string]bool{
	"Throttling": true, "Throttling.User": true, "Throttling.Api": true,
	"Throttling.Resource": true, "ServiceUnavailable": true,
	"InternalError": true, "UnknownError": true,
}

// retryable reports throttling, transient server errors and time-outs.
// Creations are safe to retry: they carry a ClientToken.
func retryable(err error) bool {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return cloud.RetryableStatus(se.HttpStatus()) || throttleCodes[se.ErrorCode()]
	}
	return cloud.IsTimeout(err)
}

// errorCode is the ECS error code of err, "" when it is not a server error.
func errorCode(err error) string {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return ""
}

// isErrNotFound reports our own wrapped cloud.ErrNotFound.
func isErrNotFound(err error) bool { return errors.Is(err, cloud.ErrNotFound) }

// isNotFound reports the *.NotFound codes (and plain 404s).
func isNotFound(err error) bool {
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		return false
	}
	return strings.HasSuffix(se.ErrorCode(), ".NotFound") || se.HttpStatus() == http.StatusNotFound
}

// apiError is a failed ECS call: the action, ECS's own code, message and
// request id, never the request URL (it carries the access key ID and,
// with STS, the security token).
type apiError struct {
	action string
	region string
	err    error
}

func (e *apiError) Error() string {
	var se *sdkerrors.ServerError
	if errors.As(e.err, &se) {
		return fmt.Sprintf("alibaba ecs %s in %s: %s: %s (HTTP %d, request id %s)",
			e.action, e.region, se.ErrorCode(), redactText(se.Message()), se.HttpStatus(), se.RequestId())
	}
	var ue *url.Error
	if errors.As(e.err, &ue) {
		// The URL's query is the whole signed request: name the host only.
		host := ue.URL
		if u, err := url.Parse(ue.URL); err == nil {
			host = u.Scheme + "://" + u.Host
		}
		return fmt.Sprintf("alibaba ecs %s in %s: %s %s: %s", e.action, e.region, ue.Op, host, redactText(ue.Err.Error()))
	}
	return fmt.Sprintf("alibaba ecs %s in %s: %s", e.action, e.region, redactText(e.err.Error()))
}

func (e *apiError) Unwrap() error { return e.err }

// secretParams identify or prove the caller; their values never appear in
// our errors, plain (a URL) or percent-encoded (a string to sign that ECS
// echoes back in SignatureDoesNotMatch).
var secretParams = []string{"AccessKeyId", "SecurityToken", "BearerToken", "Signature"}

// valueEnds are what ends a parameter value in a URL or a string to sign.
var valueEnds = []string{"&", "%26", "%2526", " ", "\"", "\n", "\t"}

func redactText(s string) string {
	for _, name := range secretParams {
		for _, sep := range []string{"=", "%3D", "%253D"} {
			key := name + sep
			var b strings.Builder
			rest := s
			for {
				i := strings.Index(rest, key)
				if i < 0 {
					b.WriteString(rest)
					break
				}
				b.WriteString(rest[:i+len(key)])
				rest = rest[i+len(key):]
				end := len(rest)
				for _, e := range valueEnds {
					if j := strings.Index(rest, e); j >= 0 && j < end {
						end = j
					}
				}
				b.WriteString("REDACTED")
				rest = rest[end:]
			}
			s = b.String()
		}
	}
	return s
}

func redact(err error) error {
	if err == nil {
		return nil
	}
	// The chain stays (for errors.Is/As); the message is cleaned.
	return cloud.Reworded(redactText(err.Error()), err)
}

// Tags as ECS returns them: Describe* answer TagKey/TagValue, a few older
// shapes Key/Value.
func tagMap(tags []ecs.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := t.TagKey, t.TagValue
		if k == "" {
			k, v = t.Key, t.Value
		}
		if k != "" {
			m[k] = v
		}
	}
	return m
}

// parseTime reads ECS creation times: 2024-01-02T03:04:05Z, or without
// seconds (instances, key pairs) 2024-01-02T03:04Z.
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// tagList is the Tag.N parameter of a request (of the request's own tag
// type, made by mk), sorted by key; nil when there are no tags.
func tagList[T any](tags map[string]string, mk func(key, value string) T) *[]T {
	if len(tags) == 0 {
		return nil
	}
	out := make([]T, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, mk(k, tags[k]))
	}
	return &out
}

// listAll reads a Describe* listing page by page: fetch asks for one page
// (1-based) of size items and returns them with the total count.
func listAll[T any](size int, fetch func(page, size requests.Integer) ([]T, int, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		items, total, err := fetch(requests.NewInteger(page), requests.NewInteger(size))
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// jsonList is how ECS takes lists of IDs: a JSON array in one parameter.
func jsonList(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}
