package config

import (
	"fmt"
	"slices"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} with values from getenv.
// "$$" is a literal "$"; any other "$" is left as written. A variable that
// is not set (and has no default) is an error that names it, and so is a
// variable the file may not read (see RefusedEnv).
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	return expandWith(s, getenv, nil, nil)
}

// expandWith is expand where missing, when not nil, may stand in for a
// variable that is not set, or set to nothing, and has no default
// (placeholder mode, see Options.Placeholders). Refused variables (RefusedEnv, with the targets'
// credentials) are refused before it is asked.
func expandWith(s string, getenv func(string) (string, bool), missing func(name string) (string, bool), credentials []string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q (write $$ for a literal $)", s)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid environment variable name %q in ${%s}", name, expr)
		}
		if why := RefusedEnv(name, credentials); why != "" {
			return "", fmt.Errorf("${%s}: %s may not be read from sindri.yaml: %s", name, name, why)
		}
		val, set := getenv(name)
		switch {
		case set && val != "":
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		default:
			// In placeholder mode a variable set to nothing is unset: in
			// GitHub Actions an input, secret or variable nobody gave is
			// the empty string, never absent.
			ph, ok := "", false
			if missing != nil {
				ph, ok = missing(name)
			}
			switch {
			case ok:
				b.WriteString(ph)
			case !set:
				return "", fmt.Errorf("environment variable %s is not set (referenced as ${%s})", name, expr)
			}
		}
		i += 2 + end
	}
	return b.String(), nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// CredentialEnv names the credentials of the runner and the tools every
// build drives (GitHub, packer): values that must never appear in a log,
// and that sindri.yaml may not read (a pull request controls the file; the
// tools read them directly). Each target names its own (cloud.Target
// SecretEnv); the caller passes those in (Options.Credentials), since this
// package cannot import the clouds.
var CredentialEnv = []string{"GITHUB_TOKEN", "PACKER_GITHUB_API_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

// runnerPrefixes are the GitHub Actions runner's own variables: its
// runtime tokens and URLs (ACTIONS_*), its internals (RUNNER_*) and the
// Action's inputs (INPUT_*, which hold the github-token input).
var runnerPrefixes = []string{"ACTIONS_", "RUNNER_", "INPUT_"}

// RefusedEnv says why sindri.yaml may not read a variable, or "" when it
// may. What the file can mean is its own settings (a region, a project, a
// version, a secret the user passes on to provisioning); the runner's
// tokens and the cloud credentials the tools read themselves are not among
// them, and a value expanded into the file can end up in a finding, an
// annotation or a pull request comment. credentials are the targets' own
// (Options.Credentials), refused like CredentialEnv.
func RefusedEnv(name string, credentials []string) string {
	up := strings.ToUpper(name)
	for _, p := range runnerPrefixes {
		if strings.HasPrefix(up, p) {
			return "the runner's " + strings.TrimSuffix(p, "_") + "_* variables are not configuration"
		}
	}
	if slices.Contains(CredentialEnv, up) || slices.Contains(credentials, up) {
		return "it is a credential the tools read themselves; never put it in the configuration"
	}
	if strings.HasPrefix(up, "GITHUB_") && SecretName(up) {
		return "it is a GitHub credential"
	}
	return ""
}

// secretWords mark a variable name as holding a secret.
var secretWords = []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "PRIVATE", "APIKEY", "KEY"}

// SecretName reports whether a variable's name says it holds a secret
// (AWS_SECRET_ACCESS_KEY, DB_PASSWORD, MY_API_TOKEN, SSH_PRIVATE_KEY,
// KMS_KEY_ID). Masking a value that was not secret costs little; missing
// one costs a leak, so the list is broad.
func SecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// Placeholder returns the clearly fake value that stands in, in placeholder
// mode, for an unset variable in the field key (the last part of its path)
// with the given pattern tag, or "" when the field has none: only fields
// that name a cloud account, project or resource, which validate and
// matrix need the form of but not the real value. Each placeholder passes
// its field's own check.
func Placeholder(key, pattern string) string {
	switch {
	case pattern == "gcpproject":
		return "placeholder-project"
	case pattern == "ocid":
		kind := strings.TrimSuffix(key, "_ocid")
		if kind == "" || strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			kind = "resource"
		}
		return "ocid1." + kind + ".oc1..placeholder"
	case pattern == "account":
		return "000000000000"
	case key == "subscription_id" || key == "tenant_id":
		return "00000000-0000-0000-0000-000000000000"
	}
	return ""
}
