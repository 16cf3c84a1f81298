package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// patterns are the named formats used by `pattern:` tags. They are also
// published in the JSON Schema.
var patterns = map[string]*regexp.Regexp{
	"name":          regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`),
	"label":         regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`),
	"region":        regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`),
	"machine":       regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`),
	"resid":         regexp.MustCompile(`^[a-z]+-[a-z0-9]+$`),
	"account":       regexp.MustCompile(`^[0-9]{12}$`),
	"user":          regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`),
	"resourcegroup": regexp.MustCompile(`^[A-Za-z0-9._()-]{0,89}[A-Za-z0-9_()-]$`),
	"gallery":       regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._]{0,78}[A-Za-z0-9])?$`),
	"semver":        regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`),
	"gcpproject":    regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`),
	"ocid":          regexp.MustCompile(`^ocid1\.[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9-]*\.[A-Za-z0-9._-]+$`),
	"checksum":      regexp.MustCompile(`^(none|(md5|sha1|sha256|sha512):[0-9a-fA-F]+|file:\S+)$`),
	"version":       regexp.MustCompile(`^(latest|v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?)$`),
	"url":           regexp.MustCompile(`^https?://[^\s]+$`),
	"sha256":        regexp.MustCompile(`^[0-9a-f]{64}$`),
	"duration":      regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`),
	"abspath":       regexp.MustCompile(`^/[^\x00]*$`),
}

// patternHelp says in words what each pattern accepts.
var patternHelp = map[string]string{
	"name":          "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
	"label":         "lower-case letters, digits and '-', starting with a letter, at most 40 characters",
	"region":        "a region or zone name such as us-west-2",
	"machine":       "an instance type or size such as t3.large",
	"resid":         "a resource ID such as subnet-0123abcd",
	"account":       "a 12-digit AWS account ID",
	"user":          "a Linux user name",
	"resourcegroup": "an Azure resource group name",
	"gallery":       "letters, digits, '.' and '_' (no '-')",
	"semver":        "MAJOR.MINOR.PATCH",
	"gcpproject":    "a GCP project ID (6-30 lower-case letters, digits and '-')",
	"ocid":          "an OCID such as ocid1.compartment.oc1..aaaa",
	"checksum":      "none, file:URL, or ALGO:HEX such as sha256:ab12...",
	"version":       "latest or a release version such as 3.0.1",
	"url":           "an http(s) URL",
	"sha256":        "64 lower-case hex digits",
	"duration":      "a duration such as 30m or 1h30m",
	"abspath":       "an absolute path",
}

// reservedTags are written by this tool; users may not set them.
var reservedTags = []string{"managed-by", "sindri-version", "config-hash", "sindri-run-id", "sindri-packer"}

// reservedEnv are the provisioning scripts' own variables.
var reservedEnv = regexp.MustCompile(`^(SINDRI_[A-Z0-9_]*|CIS_HARDENING|OPENSCAP_SCAN|OPENSCAP_PROFILE|CLEAN_SENSITIVE_DATA|REMOVE_SSH_KEYS|PATH|HOME)$`)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type validator struct {
	d    *decoder
	base string // folder of the config file, for relative paths
	root string // folder every named file must be in ("" for anywhere)
}

func (v *validator) at(ptr any) loc {
	rv := reflect.ValueOf(ptr)
	if l, ok := v.d.where[slot{rv.Pointer(), rv.Type().Elem()}]; ok {
		return l
	}
	return loc{file: v.d.file}
}

func (v *validator) fail(ptr any, format string, args ...any) {
	v.report(v.at(ptr), format, args...)
}

// failKey reports a problem with one key of a map field, at that key.
func (v *validator) failKey(m *map[string]string, key, format string, args ...any) {
	l, ok := v.d.keyAt[keySlot{reflect.ValueOf(m).Pointer(), key}]
	if !ok {
		l = v.at(m)
	}
	v.report(l, format, args...)
}

// report records one problem per field: the first one found is the one
// to fix.
func (v *validator) report(l loc, format string, args ...any) {
	if v.d.bad[l.path] {
		return
	}
	v.d.bad[l.path] = true
	msg := fmt.Sprintf(format, args...)
	if l.raw != "" && !strings.Contains(msg, l.raw) {
		msg += fmt.Sprintf(" (from %s)", l.raw)
	}
	v.d.diags = append(v.d.diags, Diagnostic{File: l.file, Line: l.line, Col: l.col, Field: l.path, Message: msg})
}

func (v *validator) config(c *Config) {
	v.tags(reflect.ValueOf(c).Elem())
	s := &c.Packer.Clouds
	if a := s.AWS; a != nil {
		v.tagMap(&a.Tags, 128, 256)
	}
	if a := s.Azure; a != nil {
		v.tagMap(&a.Tags, 512, 256)
	}
	if o := s.OCI; o != nil {
		v.tagMap(&o.Tags, 100, 256)
		if !strings.HasSuffix(o.Shape, ".Flex") && v.at(&o.ShapeConfig).set {
			v.fail(&o.ShapeConfig, "shape_config applies only to flexible shapes (*.Flex); %s is fixed", o.Shape)
		}
	}
	if a := s.Alibaba; a != nil {
		v.tagMap(&a.Tags, 128, 128)
	}
	if g := s.GCP; g != nil {
		v.gcpLabels(&g.Labels)
	}
	if q := s.QEMU; q != nil && q.ImageID == "" && q.BaseImage == "" {
		v.fail(&q.BaseImage, "must not be empty: give a qcow2 URL or path")
	}
	b := &c.Packer.Build
	if b.SSHTimeout != "" {
		// The pattern has passed; only an overflow fails to parse.
		d, err := time.ParseDuration(b.SSHTimeout)
		switch {
		case err != nil:
			v.fail(&b.SSHTimeout, "%q is too long for a duration", b.SSHTimeout)
		case d < time.Minute:
			v.fail(&b.SSHTimeout, "must be at least 1m, got %s", b.SSHTimeout)
		}
	}
	keys := slices.Sorted(maps.Keys(b.Environment))
	for _, k := range keys {
		switch {
		case !envName.MatchString(k):
			v.failKey(&b.Environment, k, "%q is not a valid environment variable name: use letters, digits and '_', not starting with a digit", k)
		case reservedEnv.MatchString(k):
			v.failKey(&b.Environment, k, "%q is set by sindri-packer itself; use the matching build field", k)
		}
	}
	for i := range b.FileUploads {
		v.exists(&b.FileUploads[i].Source, b.FileUploads[i].Source)
	}
	v.exists(&b.AnsiblePlaybook, b.AnsiblePlaybook)
	for i := range b.Scripts {
		v.exists(&b.Scripts[i], b.Scripts[i])
	}
	v.exists(&b.SindriArchive, b.SindriArchive)
	if q := s.QEMU; q != nil {
		// The base image may not be built yet when a pull request check
		// validates (packer reads it only when building); if it is there,
		// it must be a file, and as an Action one inside the workspace.
		if p, ok := localPath(q.BaseImage); ok {
			v.file(&q.BaseImage, p, false)
		}
		if rest, ok := strings.CutPrefix(q.BaseImageChecksum, "file:"); ok {
			if p, ok := localPath(rest); ok {
				v.file(&q.BaseImageChecksum, p, false)
			}
		}
		if q.OutputDir != "" {
			v.confined(&q.OutputDir, q.OutputDir)
		}
	}
}

// localPath returns the local file a packer URL-or-path names: a plain
// path, or the path of a file:// URL; ok is false for other URLs.
func localPath(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if !strings.Contains(s, "://") {
		return s, true
	}
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "file") {
		return "", false
	}
	if u.Path == "" {
		return u.Opaque, u.Opaque != ""
	}
	return u.Path, true
}

// exists checks a local file named in the config, relative to its folder:
// it must exist, be a regular file and, as an Action, be in the workspace.
func (v *validator) exists(ptr *string, p string) {
	v.file(ptr, p, true)
}

// file checks a local file named in the config without opening it (a
// named pipe would block the open). A missing file is an error only when
// must is set.
func (v *validator) file(ptr *string, p string, must bool) {
	if p == "" || !v.confined(ptr, p) {
		return
	}
	full := v.resolve(p)
	fi, err := os.Stat(full)
	switch {
	case err != nil && !must && errors.Is(err, fs.ErrNotExist):
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		v.fail(ptr, "%s: %s", p, pathErrText(err))
	case err != nil && full != p:
		v.fail(ptr, "%s does not exist (looked for %s; relative paths start at the config file's folder)", p, full)
	case err != nil:
		v.fail(ptr, "%s does not exist", p)
	case fi.IsDir():
		// Packer's file provisioner nests folders unpredictably; archive
		// a folder and upload the archive instead.
		v.fail(ptr, "%s is a folder; give a file (archive a folder and upload the archive)", p)
	case !fi.Mode().IsRegular():
		v.fail(ptr, "%s is %s, not a regular file; give a file", p, kindOfMode(fi.Mode()))
	}
}

// confined reports whether a path named in the config stays inside the
// root (the Action's workspace) once symlinks are resolved; it reports the
// field when not. Without a root everything is allowed.
func (v *validator) confined(ptr *string, p string) bool {
	if v.root == "" || p == "" {
		return true
	}
	_, err := Confine(v.root, v.resolve(p))
	var out *OutsideError
	switch {
	case errors.As(err, &out):
		v.fail(ptr, "%s is outside the workspace %s: as a GitHub Action, sindri-packer reads and writes only inside the workspace", p, v.root)
		return false
	case err != nil:
		v.fail(ptr, "%s: %s", p, pathErrText(err))
		return false
	}
	return true
}

func (v *validator) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(v.base, p)
}

func (v *validator) tagMap(m *map[string]string, maxKey, maxVal int) {
	for _, k := range slices.Sorted(maps.Keys(*m)) {
		val := (*m)[k]
		switch {
		case k == "":
			v.failKey(m, k, "tag keys must not be empty")
		case len(k) > maxKey:
			v.failKey(m, k, "tag key %q is longer than %d characters", k, maxKey)
		case len(val) > maxVal:
			v.failKey(m, k, "value of tag %q is longer than %d characters", k, maxVal)
		case slices.Contains(reservedTags, strings.ToLower(k)):
			v.failKey(m, k, "tag %q is set by sindri-packer itself", k)
		}
	}
}

var gcpLabelKey = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
var gcpLabelValue = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

func (v *validator) gcpLabels(m *map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(*m)) {
		switch {
		case !gcpLabelKey.MatchString(k):
			v.failKey(m, k, "label key %q: GCP label keys are lower-case letters, digits, '_' and '-', starting with a letter, at most 63 characters", k)
		case !gcpLabelValue.MatchString((*m)[k]):
			v.failKey(m, k, "label %q: GCP label values are lower-case letters, digits, '_' and '-', at most 63 characters", k)
		case slices.Contains(reservedTags, k):
			v.failKey(m, k, "label %q is set by sindri-packer itself", k)
		}
	}
}

// tags checks every field against its required/min/max/enum/pattern tags.
func (v *validator) tags(rv reflect.Value) {
	for _, f := range fieldsOf(rv.Type()) {
		fv := rv.FieldByIndex(f.index)
		switch fv.Kind() {
		case reflect.Pointer:
			if !fv.IsNil() {
				v.tags(fv.Elem())
			}
			continue
		case reflect.Struct:
			v.tags(fv)
			continue
		case reflect.Slice:
			if fv.Type().Elem().Kind() == reflect.Struct {
				for i := range fv.Len() {
					v.tags(fv.Index(i))
				}
				continue
			}
			for i := range fv.Len() {
				v.scalarTags(fv.Index(i), f.tag)
			}
			continue
		}
		v.scalarTags(fv, f.tag)
	}
}

func (v *validator) scalarTags(fv reflect.Value, tag reflect.StructTag) {
	ptr := fv.Addr().Interface()
	if tag.Get("required") == "true" && fv.IsZero() {
		if l := v.at(ptr); l.raw != "" {
			v.fail(ptr, "must not be empty, but %s expanded to nothing", l.raw)
		} else if l.set {
			v.fail(ptr, "must not be empty")
		} else {
			v.fail(ptr, "missing required field: %s", tag.Get("doc"))
		}
		return
	}
	switch fv.Kind() {
	case reflect.Int:
		n := fv.Int()
		if lo, ok := tag.Lookup("min"); ok {
			if m, _ := strconv.ParseInt(lo, 10, 64); n < m {
				v.fail(ptr, "must be at least %d, got %d", m, n)
				return
			}
		}
		if hi, ok := tag.Lookup("max"); ok {
			if m, _ := strconv.ParseInt(hi, 10, 64); n > m {
				v.fail(ptr, "must be at most %d, got %d", m, n)
			}
		}
	case reflect.String:
		s := fv.String()
		if s == "" {
			return
		}
		if enum, ok := tag.Lookup("enum"); ok {
			opts := strings.Split(enum, ",")
			if len(opts) == 1 && s != opts[0] {
				v.fail(ptr, "must be %q, got %q", opts[0], s)
				return
			}
			if !slices.Contains(opts, s) {
				msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(opts, ", "))
				if sug := suggest(s, opts); sug != "" {
					msg += fmt.Sprintf("; did you mean %q?", sug)
				}
				v.fail(ptr, "%s", msg)
			}
			return
		}
		if name, ok := tag.Lookup("pattern"); ok && !patterns[name].MatchString(s) {
			v.fail(ptr, "%q is not valid: expected %s", s, patternHelp[name])
		}
	}
}
