package gcpfake

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// cond is one term of a Compute Engine list filter. Both documented forms
// are understood: AIP-160 comparisons (labels.k = "v", name != x, key:*)
// and the regular-expression form (name eq 'sindri-.*', ne), each alone
// or as parenthesized terms that must all hold.
type cond struct {
	field, op, value string
	re               *regexp.Regexp
}

var termRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_.\-]*)\s*(!=|=|:|\s+eq\s+|\s+ne\s+)\s*(.*)$`)

func parseFilter(s string) ([]cond, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var terms []string
	if strings.HasPrefix(s, "(") {
		for s != "" {
			if !strings.HasPrefix(s, "(") {
				return nil, fmt.Errorf("invalid list filter expression near %q", s)
			}
			end := closing(s)
			if end < 0 {
				return nil, fmt.Errorf("invalid list filter expression: unbalanced parentheses")
			}
			terms = append(terms, s[1:end])
			s = strings.TrimSpace(s[end+1:])
			s = strings.TrimSpace(strings.TrimPrefix(s, "AND "))
		}
	} else {
		terms = []string{s}
	}
	var out []cond
	regexForm, cmpForm := false, false
	for _, t := range terms {
		m := termRE.FindStringSubmatch(strings.TrimSpace(t))
		if m == nil {
			return nil, fmt.Errorf("invalid list filter expression %q", t)
		}
		c := cond{field: m[1], op: strings.TrimSpace(m[2])}
		v, err := unquote(strings.TrimSpace(m[3]))
		if err != nil {
			return nil, fmt.Errorf("invalid list filter expression %q: %v", t, err)
		}
		c.value = v
		if c.op == "eq" || c.op == "ne" {
			regexForm = true
			if c.re, err = regexp.Compile("^(?:" + v + ")$"); err != nil {
				return nil, fmt.Errorf("invalid regular expression in list filter: %v", err)
			}
		} else {
			cmpForm = true
		}
		out = append(out, c)
	}
	if regexForm && cmpForm {
		return nil, fmt.Errorf("invalid list filter expression: regular-expression and comparison terms cannot be mixed")
	}
	return out, nil
}

// closing is the index of the parenthesis closing s[0], outside quotes.
func closing(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func unquote(v string) (string, error) {
	switch {
	case len(v) >= 2 && v[0] == '"':
		return strconv.Unquote(v)
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		return v[1 : len(v)-1], nil
	}
	return v, nil
}

// match applies the terms to a resource whose fields get returns.
func match(conds []cond, get func(field string) (string, bool)) bool {
	for _, c := range conds {
		v, ok := get(c.field)
		switch c.op {
		case "=":
			if !ok || v != c.value {
				return false
			}
		case "!=":
			if ok && v == c.value {
				return false
			}
		case ":":
			if c.value == "*" {
				if !ok {
					return false
				}
			} else if !ok || !strings.Contains(v, c.value) {
				return false
			}
		case "eq":
			if !c.re.MatchString(v) {
				return false
			}
		case "ne":
			if c.re.MatchString(v) {
				return false
			}
		}
	}
	return true
}

// fields looks up name, status, description and labels.KEY.
// labelled is an image, an instance or a disk: what a filter reads of it.
type labelled interface {
	GetName() string
	GetStatus() string
	GetDescription() string
	GetLabels() map[string]string
}

// fieldsOf is fields of an image, an instance or a disk.
func fieldsOf[T labelled](x T) func(string) (string, bool) {
	return fields(x.GetName(), x.GetStatus(), x.GetDescription(), x.GetLabels())
}

func fields(name, status, description string, labels map[string]string) func(string) (string, bool) {
	return func(f string) (string, bool) {
		switch {
		case f == "name":
			return name, true
		case f == "status":
			return status, true
		case f == "description":
			return description, true
		case strings.HasPrefix(f, "labels."):
			v, ok := labels[strings.TrimPrefix(f, "labels.")]
			return v, ok
		}
		return "", false
	}
}
