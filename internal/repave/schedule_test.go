package repave

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// The starter workflow users copy, and the places that show its schedule.
const (
	starterWorkflow  = "../../workflows/sindri-repave.yml"
	reusableWorkflow = "../../.github/workflows/repave.yml"
	readme           = "../../README.md"
)

// week is the slack the schedule may add to max-age: the README promises
// a repave "every 30 days", so images may not get older than max-age plus
// one week (the weekly run that notices the newest is older than max-age).
const week = 7 * 24 * time.Hour

// starterSchedule reads the cron expression and max-age of the starter
// repave workflow.
func starterSchedule(t *testing.T) (string, time.Duration) {
	t.Helper()
	data, err := os.ReadFile(starterWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Schedule []struct {
				Cron string `yaml:"cron"`
			} `yaml:"schedule"`
		} `yaml:"on"`
		Jobs map[string]struct {
			With map[string]any `yaml:"with"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", starterWorkflow, err)
	}
	if len(wf.On.Schedule) != 1 {
		t.Fatalf("%s: want one schedule entry, got %d", starterWorkflow, len(wf.On.Schedule))
	}
	s, ok := wf.Jobs["repave"].With["max-age"].(string)
	if !ok {
		t.Fatalf("%s: jobs.repave.with.max-age missing", starterWorkflow)
	}
	maxAge, err := ParseAge(s)
	if err != nil {
		t.Fatalf("%s: max-age: %v", starterWorkflow, err)
	}
	return wf.On.Schedule[0].Cron, maxAge
}

// cronSpec is a POSIX five-field cron expression, as GitHub Actions reads
// it (in UTC): numbers, *, ranges a-b, steps /n and lists.
type cronSpec struct {
	minute, hour, dom, month, dow [61]bool
	domStar, dowStar              bool
}

func parseCron(expr string) (cronSpec, error) {
	var c cronSpec
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return c, fmt.Errorf("cron %q: want 5 fields, got %d", expr, len(fields))
	}
	sets := []struct {
		set      *[61]bool
		min, max int
	}{{&c.minute, 0, 59}, {&c.hour, 0, 23}, {&c.dom, 1, 31}, {&c.month, 1, 12}, {&c.dow, 0, 7}}
	for i, f := range fields {
		if err := parseCronField(f, sets[i].set, sets[i].min, sets[i].max); err != nil {
			return c, fmt.Errorf("cron %q: field %d: %w", expr, i+1, err)
		}
	}
	c.dow[0] = c.dow[0] || c.dow[7] // 7 is Sunday too
	c.domStar, c.dowStar = strings.HasPrefix(fields[2], "*"), strings.HasPrefix(fields[4], "*")
	return c, nil
}

func parseCronField(f string, set *[61]bool, lo, hi int) error {
	for _, part := range strings.Split(f, ",") {
		rng, step := part, 1
		if r, s, ok := strings.Cut(part, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return fmt.Errorf("bad step in %q", part)
			}
			rng, step = r, n
		}
		from, to := lo, hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if from, err = strconv.Atoi(a); err != nil {
				return fmt.Errorf("bad value in %q", part)
			}
			to = from
			if isRange {
				if to, err = strconv.Atoi(b); err != nil {
					return fmt.Errorf("bad range in %q", part)
				}
			} else if step > 1 {
				to = hi // "5/15" means 5-hi/15
			}
		}
		if from < lo || to > hi || from > to {
			return fmt.Errorf("%q out of range %d-%d", part, lo, hi)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return nil
}

// matches reports whether the schedule fires at t's minute. As in cron,
// when both day-of-month and day-of-week are restricted, either matches.
func (c cronSpec) matches(t time.Time) bool {
	if !c.minute[t.Minute()] || !c.hour[t.Hour()] || !c.month[int(t.Month())] {
		return false
	}
	dom, dow := c.dom[t.Day()], c.dow[int(t.Weekday())]
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

// cadence is what two years of scheduled repaves did.
type cadence struct {
	runs, builds int
	period       time.Duration // longest gap between scheduled runs
	worst        time.Duration // oldest the newest image ever got
	worstAt      time.Time
}

// simulate runs the schedule minute by minute over two years, in UTC as
// GitHub does, starting with no image. Each scheduled run applies the
// real policy (NeedsBuild, then Retire); a build creates a fresh image at
// the run's time. Before every minute's run, it measures the age of the
// newest undeprecated image.
func simulate(spec cronSpec, maxAge time.Duration) cadence {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(2, 0, 0)
	var (
		c       cadence
		images  []cloud.Image
		lastRun = start
	)
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		var newest time.Time
		for _, im := range images {
			if im.Deprecated.IsZero() && im.Created.After(newest) {
				newest = im.Created
			}
		}
		if !newest.IsZero() && now.Sub(newest) > c.worst {
			c.worst, c.worstAt = now.Sub(newest), now
		}
		if !spec.matches(now) {
			continue
		}
		c.runs++
		c.period = max(c.period, now.Sub(lastRun))
		lastRun = now
		p := Policy{MaxAge: maxAge, Keep: 2, DeleteAfter: maxAge, Now: now}
		if due, _ := NeedsBuild(images, "h", p); !due {
			continue
		}
		c.builds++
		fresh := cloud.Image{ID: fmt.Sprintf("img-%d", c.builds), ConfigHash: "h", Created: now}
		images = append(images, fresh)
		d := Retire(images, fresh.ID, nil, p)
		gone := map[string]bool{}
		for _, im := range d.Delete {
			gone[im.ID] = true
		}
		deprecate := map[string]bool{}
		for _, im := range d.Deprecate {
			deprecate[im.ID] = true
		}
		kept := images[:0]
		for _, im := range images {
			if gone[im.ID] {
				continue
			}
			if deprecate[im.ID] {
				im.Deprecated = now
			}
			kept = append(kept, im)
		}
		images = kept
	}
	c.period = max(c.period, end.Sub(lastRun))
	return c
}

// cadenceProblems lists why a schedule does not keep images at most
// max-age plus one week old.
func cadenceProblems(expr string, maxAge time.Duration) (cadence, []string) {
	spec, err := parseCron(expr)
	if err != nil {
		return cadence{}, []string{err.Error()}
	}
	c := simulate(spec, maxAge)
	var problems []string
	if c.builds == 0 {
		problems = append(problems, fmt.Sprintf("%d runs built nothing", c.runs))
	}
	if c.worst > maxAge+c.period {
		problems = append(problems, fmt.Sprintf("newest image reached %s at %s, more than max-age %s plus the schedule's period %s",
			Age(c.worst), c.worstAt.Format(time.RFC3339), Age(maxAge), Age(c.period)))
	}
	if c.worst > maxAge+week {
		problems = append(problems, fmt.Sprintf("newest image reached %s at %s, more than max-age %s plus a week (schedule period %s, %d runs, %d builds)",
			Age(c.worst), c.worstAt.Format(time.RFC3339), Age(maxAge), Age(c.period), c.runs, c.builds))
	}
	return c, problems
}

// TestStarterRepaveScheduleKeepsImagesFresh reads the starter workflow's
// cron and max-age, simulates two years of its scheduled runs with the
// real repave policy, and checks that the newest image is never older
// than max-age plus one schedule period, that period being at most a week.
func TestStarterRepaveScheduleKeepsImagesFresh(t *testing.T) {
	expr, maxAge := starterSchedule(t)
	c, problems := cadenceProblems(expr, maxAge)
	for _, p := range problems {
		t.Errorf("%s: cron %q with max-age %s: %s", starterWorkflow, expr, Age(maxAge), p)
	}
	t.Logf("cron %q, max-age %s: %d runs, %d builds in two years, newest image at most %s old",
		expr, Age(maxAge), c.runs, c.builds, Age(c.worst))

	// The schedule this replaced: on the 1st of each month, a 30-day-old
	// image is not yet older than 30d, so it waited another month.
	t.Run("old monthly cron is caught", func(t *testing.T) {
		c, problems := cadenceProblems("17 4 1 * *", 30*24*time.Hour)
		if len(problems) == 0 {
			t.Fatalf("monthly cron passed: newest image at most %s old", Age(c.worst))
		}
		if c.worst < 59*24*time.Hour {
			t.Errorf("monthly cron: newest image at most %s old, want about 60 days", Age(c.worst))
		}
	})
}

// TestRepaveScheduleShownConsistently checks that the README and the
// reusable workflow's usage comment show the starter's schedule.
func TestRepaveScheduleShownConsistently(t *testing.T) {
	expr, _ := starterSchedule(t)
	cronRe := regexp.MustCompile(`cron: "([^"]+)"`)
	for _, f := range []string{readme, reusableWorkflow} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := cronRe.FindAllStringSubmatch(string(data), -1)
		if len(found) == 0 {
			t.Errorf("%s: shows no repave cron", f)
		}
		for _, m := range found {
			if m[1] != expr {
				t.Errorf("%s: shows cron %q, the starter workflow runs %q", f, m[1], expr)
			}
		}
	}
}

// TestNeedsBuildAtExactlyMaxAge pins "older than max-age" (the docs'
// words) as strictly older: an image exactly max-age old is not due.
func TestNeedsBuildAtExactlyMaxAge(t *testing.T) {
	p := Policy{MaxAge: 30 * 24 * time.Hour, Now: now}
	at := []cloud.Image{{ID: "a", ConfigHash: "h", Created: now.Add(-p.MaxAge)}}
	if due, why := NeedsBuild(at, "h", p); due {
		t.Errorf("exactly max-age old: due (%s), want not due", why)
	}
	older := []cloud.Image{{ID: "a", ConfigHash: "h", Created: now.Add(-p.MaxAge - time.Minute)}}
	if due, why := NeedsBuild(older, "h", p); !due {
		t.Errorf("max-age plus a minute old: not due (%s), want due", why)
	}
}

func TestParseCron(t *testing.T) {
	monday := time.Date(2027, 3, 1, 4, 17, 0, 0, time.UTC) // a Monday, the 1st
	tests := []struct {
		expr string
		at   time.Time
		want bool
	}{
		{"17 4 * * 1", monday, true},
		{"17 4 * * 1", monday.AddDate(0, 0, 1), false},
		{"17 4 * * 1", monday.Add(time.Minute), false},
		{"17 4 1 * *", monday.AddDate(0, 0, 7), false},
		{"17 4 1 * *", monday.AddDate(0, 1, 0), true},
		{"17 4 15 * 1", monday, true}, // day-of-month or day-of-week
		{"*/15 4 * * 0-5", monday.Add(-2 * time.Minute), true},
		{"0 0 * * 7", time.Date(2027, 3, 7, 0, 0, 0, 0, time.UTC), true}, // 7 is Sunday
	}
	for _, tt := range tests {
		spec, err := parseCron(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.matches(tt.at); got != tt.want {
			t.Errorf("%q at %s = %v, want %v", tt.expr, tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
	for _, bad := range []string{"17 4 * *", "61 * * * *", "* * 0 * *", "* * * * 8", "a * * * *", "*/0 * * * *"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("parseCron(%q) accepted", bad)
		}
	}
}
