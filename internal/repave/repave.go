// Package repave decides, per cloud, whether a scheduled repave must build
// a fresh image, and which older images to deprecate and delete once the
// new one passed its tests. It only decides; the command line acts.
//
// Safety comes from the rules, not from care at the call site: the newest
// Keep images, the current config hash's image and every image a deployed
// instance runs are never retired; an image is deleted only after it has
// been deprecated for DeleteAfter, so running repave twice in a row, or
// after an interrupted run, deletes nothing the first run did not already
// mark long ago.
package repave

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// Policy is one repave run's rules.
type Policy struct {
	MaxAge      time.Duration // rebuild when the newest image is older
	Keep        int           // newest images kept undeprecated (at least 1)
	DeleteAfter time.Duration // delete images deprecated at least this long
	Now         time.Time
}

// NeedsBuild reports whether a fresh image is due, and why.
func NeedsBuild(images []cloud.Image, hash string, p Policy) (bool, string) {
	live := active(images)
	if len(live) == 0 {
		return true, "no image yet"
	}
	newest := live[0]
	if age := p.Now.Sub(newest.Created); age > p.MaxAge {
		return true, fmt.Sprintf("newest image %s is %s old (max-age %s)", newest.ID, Age(age), Age(p.MaxAge))
	}
	if !slices.ContainsFunc(live, func(im cloud.Image) bool { return im.ConfigHash == hash }) {
		return true, "no image carries the current config hash " + short(hash)
	}
	return false, fmt.Sprintf("newest image %s is %s old and current", newest.ID, Age(p.Now.Sub(newest.Created)))
}

// Decision is what to do with one cloud's images.
type Decision struct {
	Keep      []cloud.Image
	Deprecate []cloud.Image
	Delete    []cloud.Image
	// Why explains each image's fate by ID, for the report.
	Why map[string]string
}

// Retire sorts a cloud's images into kept, to deprecate and to delete.
// current is the image that just passed (or the cached current one) and
// is always kept; inUse holds images deployed instances run.
func Retire(images []cloud.Image, current string, inUse map[string]bool, p Policy) Decision {
	d := Decision{Why: map[string]string{}}
	keep := max(p.Keep, 1)
	sorted := slices.Clone(images)
	slices.SortStableFunc(sorted, func(a, b cloud.Image) int { return b.Created.Compare(a.Created) })
	// The current image counts first among the kept ones, even when the
	// cloud's listing does not show it yet.
	kept := 0
	if current != "" {
		kept = 1
	}
	for _, im := range sorted {
		switch {
		case im.ID == current:
			d.Keep = append(d.Keep, im)
			d.Why[im.ID] = "current image"
		case inUse[im.ID]:
			d.Keep = append(d.Keep, im)
			d.Why[im.ID] = "in use by a deployed instance"
		case !im.Deprecated.IsZero():
			if since := p.Now.Sub(im.Deprecated); since >= p.DeleteAfter {
				d.Delete = append(d.Delete, im)
				d.Why[im.ID] = fmt.Sprintf("deprecated %s ago (delete after %s)", Age(since), Age(p.DeleteAfter))
			} else {
				d.Keep = append(d.Keep, im)
				d.Why[im.ID] = fmt.Sprintf("deprecated %s ago; deleted after %s", Age(max(since, 0)), Age(p.DeleteAfter))
			}
		case kept < keep:
			kept++
			d.Keep = append(d.Keep, im)
			d.Why[im.ID] = fmt.Sprintf("among the newest %d", keep)
		default:
			d.Deprecate = append(d.Deprecate, im)
			d.Why[im.ID] = fmt.Sprintf("older than the newest %d", keep)
		}
	}
	return d
}

// active returns the images not deprecated, newest first.
func active(images []cloud.Image) []cloud.Image {
	var out []cloud.Image
	for _, im := range images {
		if im.Deprecated.IsZero() {
			out = append(out, im)
		}
	}
	slices.SortStableFunc(out, func(a, b cloud.Image) int { return b.Created.Compare(a.Created) })
	return out
}

// ParseAge reads a duration that may use days: "30d", "36h", "1d12h".
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration like 30d, 36h or 1d12h, got %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration like 30d, 36h or 1d12h, got %q", s)
	}
	return days + d, nil
}

// Age prints a duration in days and hours.
func Age(d time.Duration) string {
	d = d.Round(time.Hour)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dh", hours)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
