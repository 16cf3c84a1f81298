package azurefake

// A small evaluator of ARM template expressions ("[concat(...)]"), enough
// for the templates the Packer azure-arm plugin deploys: parameters,
// variables, concat, resourceId, resourceGroup, subscription, not, empty,
// equals, if, and, or, toLower, toUpper, string. A function it does not
// know is an InvalidTemplate error, as ARM answers an unknown function,
// so a plugin that starts using one fails loudly here instead of passing.

import (
	"fmt"
	"strconv"
	"strings"
)

// armEval evaluates one deployment's template (the caller holds mu).
type armEval struct {
	sub, rgName string
	rg          map[string]any // the resource group's JSON
	params      map[string]any
	vars        map[string]any
	resolved    map[string]any
}

// templateError is ARM's InvalidTemplate (or another code) with a message.
type templateError struct{ code, msg string }

func (e *templateError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, a ...any) error {
	return &templateError{code: "InvalidTemplate", msg: "Deployment template validation failed: " + fmt.Sprintf(format, a...)}
}

// newEval checks the deployment's parameters against the template's
// declarations (a missing value without a default, or a value the
// template does not declare, is an error, as ARM reports them).
func newEval(sub, rgName string, rg, template, supplied map[string]any) (*armEval, error) {
	e := &armEval{sub: sub, rgName: rgName, rg: rg, params: map[string]any{}, resolved: map[string]any{}}
	e.vars, _ = template["variables"].(map[string]any)
	decl, _ := template["parameters"].(map[string]any)
	for name := range supplied {
		if _, ok := decl[name]; !ok {
			return nil, &templateError{code: "InvalidTemplate", msg: fmt.Sprintf("Deployment template validation failed: 'The template parameters '%s' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time.'", name)}
		}
	}
	for name, d := range decl {
		dm, _ := d.(map[string]any)
		if p, ok := supplied[name].(map[string]any); ok {
			if v, ok := p["value"]; ok {
				e.params[strings.ToLower(name)] = v
				continue
			}
		}
		if v, ok := dm["defaultValue"]; ok {
			e.params[strings.ToLower(name)] = v
			continue
		}
		return nil, &templateError{code: "InvalidTemplate", msg: fmt.Sprintf("Deployment template validation failed: 'The value for the template parameter '%s' is not provided.'", name)}
	}
	return e, nil
}

// value evaluates every expression inside v (maps, arrays, strings).
func (e *armEval) value(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return e.str(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			ev, err := e.value(val)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			ev, err := e.value(val)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return v, nil
}

// str evaluates a string: "[expr]" is an expression, "[[..." a literal
// that starts with "[", anything else itself.
func (e *armEval) str(s string) (any, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return s, nil
	}
	if strings.HasPrefix(s, "[[") {
		return s[1:], nil
	}
	p := &exprParser{src: s[1 : len(s)-1], e: e}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, invalid("'The template language expression '%s' is not valid: unexpected '%s' at position %d.'", p.src, p.src[p.pos:], p.pos)
	}
	return v, nil
}

// exprParser evaluates while it parses (ARM evaluates every argument).
type exprParser struct {
	src string
	pos int
	e   *armEval
}

func (p *exprParser) space() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *exprParser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// expr is a literal or a call, then any .property or [index] accesses.
func (p *exprParser) expr() (any, error) {
	var v any
	var err error
	switch c := p.peek(); {
	case c == '\'':
		v, err = p.literal()
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		v, err = strconv.Atoi(p.src[start:p.pos])
	default:
		v, err = p.call()
	}
	if err != nil {
		return nil, err
	}
	return p.access(v)
}

func (p *exprParser) literal() (any, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '\'' { // '' is a quote
			b.WriteByte('\'')
			p.pos++
			continue
		}
		return b.String(), nil
	}
	return nil, invalid("'The template language expression '%s' is not valid: the string literal is not terminated.'", p.src)
}

func (p *exprParser) call() (any, error) {
	start := p.pos
	for p.pos < len(p.src) && (isIdent(p.src[p.pos])) {
		p.pos++
	}
	name := p.src[start:p.pos]
	if name == "" || p.peek() != '(' {
		return nil, invalid("'The template language expression '%s' is not valid: expected a function at position %d.'", p.src, start)
	}
	p.pos++
	var args []any
	for p.peek() != ')' {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.peek() == ',' {
			p.pos++
		} else if p.peek() != ')' {
			return nil, invalid("'The template language expression '%s' is not valid: expected ',' or ')' at position %d.'", p.src, p.pos)
		}
	}
	p.pos++
	return p.e.function(strings.ToLower(name), args)
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// access applies .name and [index] to v.
func (p *exprParser) access(v any) (any, error) {
	for {
		switch p.peek() {
		case '.':
			p.pos++
			start := p.pos
			for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
				p.pos++
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, invalid("'The template language expression '%s' is not valid: property '%s' of a non-object.'", p.src, p.src[start:p.pos])
			}
			val, ok := lookupFold(m, p.src[start:p.pos])
			if !ok {
				return nil, invalid("'The language expression property '%s' doesn't exist, available properties are '%s'.'", p.src[start:p.pos], strings.Join(keys(m), ", "))
			}
			v = val
		case '[':
			p.pos++
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.peek() != ']' {
				return nil, invalid("'The template language expression '%s' is not valid: expected ']'.'", p.src)
			}
			p.pos++
			v, err = index(v, idx)
			if err != nil {
				return nil, err
			}
		default:
			return v, nil
		}
	}
}

func index(v, idx any) (any, error) {
	switch x := v.(type) {
	case []any:
		i, ok := idx.(int)
		if !ok || i < 0 || i >= len(x) {
			return nil, invalid("'The language expression index '%v' is out of bounds.'", idx)
		}
		return x[i], nil
	case map[string]any:
		if val, ok := lookupFold(x, fmt.Sprint(idx)); ok {
			return val, nil
		}
	}
	return nil, invalid("'The language expression property '%v' doesn't exist.'", idx)
}

func lookupFold(m map[string]any, k string) (any, bool) {
	for key, v := range m {
		if strings.EqualFold(key, k) {
			return v, true
		}
	}
	return nil, false
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// function runs one template function.
func (e *armEval) function(name string, args []any) (any, error) {
	switch name {
	case "parameters":
		n, _ := arg(args, 0).(string)
		if v, ok := e.params[strings.ToLower(n)]; ok {
			return v, nil
		}
		return nil, invalid("'The template parameter '%s' is not found.'", n)
	case "variables":
		n, _ := arg(args, 0).(string)
		return e.variable(n)
	case "concat":
		return concat(args), nil
	case "resourceid":
		return e.resourceID(args)
	case "resourcegroup":
		return clone(e.rg), nil
	case "subscription":
		return map[string]any{"id": "/subscriptions/" + e.sub, "subscriptionId": e.sub, "tenantId": "00000000-0000-0000-0000-0000000fa4e0", "displayName": "Fake Subscription"}, nil
	case "not":
		b, ok := arg(args, 0).(bool)
		if !ok {
			return nil, invalid("'The template function 'not' expects a boolean.'")
		}
		return !b, nil
	case "and", "or":
		out := name == "and"
		for _, a := range args {
			b, _ := a.(bool)
			if name == "and" {
				out = out && b
			} else {
				out = out || b
			}
		}
		return out, nil
	case "empty":
		return empty(arg(args, 0)), nil
	case "equals":
		return fmt.Sprint(arg(args, 0)) == fmt.Sprint(arg(args, 1)), nil
	case "if":
		if b, _ := arg(args, 0).(bool); b {
			return arg(args, 1), nil
		}
		return arg(args, 2), nil
	case "tolower":
		return strings.ToLower(fmt.Sprint(arg(args, 0))), nil
	case "toupper":
		return strings.ToUpper(fmt.Sprint(arg(args, 0))), nil
	case "string":
		return fmt.Sprint(arg(args, 0)), nil
	case "true", "false":
		return name == "true", nil
	}
	return nil, invalid("'The template function '%s' is not valid. Please see https://aka.ms/arm-functions for usage details.'", name)
}

func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

func (e *armEval) variable(n string) (any, error) {
	if v, ok := e.resolved[strings.ToLower(n)]; ok {
		return v, nil
	}
	raw, ok := lookupFold(e.vars, n)
	if !ok {
		return nil, invalid("'The template variable '%s' is not found.'", n)
	}
	v, err := e.value(raw)
	if err != nil {
		return nil, err
	}
	e.resolved[strings.ToLower(n)] = v
	return v, nil
}

func concat(args []any) any {
	if len(args) > 0 {
		if _, ok := args[0].([]any); ok {
			var out []any
			for _, a := range args {
				l, _ := a.([]any)
				out = append(out, l...)
			}
			return out
		}
	}
	var b strings.Builder
	for _, a := range args {
		if a != nil {
			b.WriteString(fmt.Sprint(a))
		}
	}
	return b.String()
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// resourceID is ARM's resourceId([subscriptionId], [resourceGroupName],
// type, name...): the type is the first argument with a "/".
func (e *armEval) resourceID(args []any) (any, error) {
	var s []string
	for _, a := range args {
		s = append(s, fmt.Sprint(a))
	}
	t := 0
	for t < len(s) && !strings.Contains(s[t], "/") {
		t++
	}
	if t == len(s) || t > 2 {
		return nil, invalid("'Unable to evaluate template language function 'resourceId': function requires a resource type.'")
	}
	sub, rg := e.sub, e.rgName
	if t == 2 {
		sub, rg = s[0], s[1]
	} else if t == 1 {
		rg = s[0]
	}
	return armID(sub, rg, strings.Trim(s[t], "/"), s[t+1:])
}

// armID builds the ID of a resource of type NS/a/b named x, y.
func armID(sub, rg, typ string, names []string) (string, error) {
	ts := strings.Split(typ, "/")
	if len(ts) < 2 || len(names) != len(ts)-1 {
		return "", invalid("'The resource type '%s' and name '%s' have incorrect segment lengths. A nested resource type must have identical number of segments as its resource name.'", typ, strings.Join(names, "/"))
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + ts[0] + "/" + ts[1] + "/" + names[0]
	for i, n := range names[1:] {
		id += "/" + ts[i+2] + "/" + n
	}
	return id, nil
}
