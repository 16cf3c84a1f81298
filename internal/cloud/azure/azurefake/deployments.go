package azurefake

// Microsoft.Resources template deployments (api-version 2018-02-01, the
// one packer-plugin-azure v1.4.0 calls; testdata/deployments-spec.json):
// Deployments_Validate, _CreateOrUpdate (an LRO that creates the
// template's resources in dependsOn order), _Get, _CheckExistence,
// _Delete (an LRO that removes the deployment, not its resources) and
// DeploymentOperations_List (one operation per resource made, which the
// plugin reads to find what to delete).

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// deployment is one deployment in a resource group's history.
type deployment struct {
	id   string
	body map[string]any // DeploymentExtended
	ops  []map[string]any
}

// planned is one resource of an evaluated template.
type planned struct {
	id, typ, name string
	body          map[string]any
	dependsOn     []string // lower-case IDs
}

// deploymentPath recognises .../resourcegroups/{rg}/providers/
// Microsoft.Resources/deployments/{name}[/validate] and (2018-02-01's
// path for DeploymentOperations_List) .../resourcegroups/{rg}/
// deployments/{name}/operations. It returns the group's path, the
// deployment's name and what follows it.
func deploymentPath(seg []string) (group, name, rest string, ok bool) {
	if len(seg) < 6 || !strings.EqualFold(seg[0], "subscriptions") || !strings.EqualFold(seg[2], "resourcegroups") {
		return "", "", "", false
	}
	group = "/" + strings.Join(seg[:4], "/")
	i := 4
	if strings.EqualFold(seg[4], "providers") && len(seg) >= 8 && strings.EqualFold(seg[5], "Microsoft.Resources") {
		i = 6
	}
	if !strings.EqualFold(seg[i], "deployments") || len(seg) < i+2 {
		return "", "", "", false
	}
	return group, seg[i+1], strings.ToLower(strings.Join(seg[i+2:], "/")), true
}

// deploymentID is a deployment's ID as ARM reports it.
func deploymentID(group, name string) string {
	seg := strings.Split(strings.TrimPrefix(group, "/"), "/")
	return "/subscriptions/" + seg[1] + "/resourceGroups/" + seg[3] + "/providers/Microsoft.Resources/deployments/" + name
}

func (s *Fake) deployments(w http.ResponseWriter, r *http.Request, group, name, rest string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rg := s.res[strings.ToLower(group)]
	if rg == nil {
		writeErr(w, http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", group[strings.LastIndex(group, "/")+1:]))
		return
	}
	id := deploymentID(rg.id, name)
	d := s.deps[strings.ToLower(id)]
	switch {
	case rest == "validate" && r.Method == http.MethodPost:
		if _, err := s.plan(rg, body); err != nil {
			writeValidateError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"properties": s.deploymentProps(body, "Succeeded")})
	case rest == "operations" && r.Method == http.MethodGet:
		if d == nil {
			writeDeploymentNotFound(w, name)
			return
		}
		s.page(w, r, d.ops)
	case rest != "":
		writeErr(w, http.StatusNotFound, "InvalidResourceType", "The resource type could not be found in the namespace 'Microsoft.Resources' for api version '"+r.URL.Query().Get("api-version")+"'.")
	case r.Method == http.MethodHead:
		w.WriteHeader(map[bool]int{true: http.StatusNoContent, false: http.StatusNotFound}[d != nil])
	case r.Method == http.MethodGet:
		if d == nil {
			writeDeploymentNotFound(w, name)
			return
		}
		writeJSON(w, http.StatusOK, clone(d.body))
	case r.Method == http.MethodPut:
		s.deploy(w, r, rg, id, d, body)
	case r.Method == http.MethodDelete:
		if d == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		op := s.async(w, r, true)
		op.finish = func() { delete(s.deps, strings.ToLower(id)) }
		s.settle(op)
		w.WriteHeader(http.StatusAccepted)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

// deploy runs Deployments_CreateOrUpdate: a template that does not
// validate is refused at once (400), as ARM does; otherwise the answer is
// 201 Accepted with Azure-AsyncOperation, and the resources are made in
// dependsOn order. One that cannot be made ends the operation Failed with
// DeploymentFailed and the resource's error in its details.
func (s *Fake) deploy(w http.ResponseWriter, r *http.Request, rg *resource, id string, old *deployment, body map[string]any) {
	plan, err := s.plan(rg, body)
	if err != nil {
		writeValidateError(w, err)
		return
	}
	d := &deployment{id: id, body: map[string]any{"id": id, "name": id[strings.LastIndex(id, "/")+1:], "properties": s.deploymentProps(body, "Accepted")}}
	status := http.StatusCreated
	if old != nil {
		status = http.StatusOK
	}
	s.deps[strings.ToLower(id)] = d
	op := s.async(w, r, false)
	for _, p := range plan {
		created, err := s.create(p.id, p.body)
		if err != nil {
			op.fail = &lroFault{code: "DeploymentFailed", message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details. " + err.Error()}
			d.ops = append(d.ops, s.deploymentOperation(id, p, "Failed", "BadRequest"))
			break
		}
		code := map[bool]string{true: "Created", false: "OK"}[created]
		d.ops = append(d.ops, s.deploymentOperation(id, p, "Succeeded", code))
	}
	props(d.body)["provisioningState"] = "Running"
	op.after = func(ok bool) {
		props(d.body)["provisioningState"] = map[bool]string{true: "Succeeded", false: "Failed"}[ok]
		if !ok {
			props(d.body)["error"] = map[string]any{"code": op.fail.code, "message": op.fail.message}
		}
	}
	s.settle(op)
	writeJSON(w, status, clone(d.body))
}

// deploymentProps is a DeploymentPropertiesExtended for body.
func (s *Fake) deploymentProps(body map[string]any, state string) map[string]any {
	p := props(clone(body))
	out := map[string]any{
		"provisioningState": state, "correlationId": fmt.Sprintf("fa4e0000-0000-0000-0000-%012d", s.seq),
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "mode": p["mode"], "parameters": p["parameters"],
		"dependencies": []any{}, "providers": []any{},
	}
	return out
}

// deploymentOperation is a DeploymentOperation for one planned resource.
func (s *Fake) deploymentOperation(depID string, p planned, state, code string) map[string]any {
	s.seq++
	opID := fmt.Sprintf("FA4E%012X", s.seq)
	return map[string]any{
		"id": depID + "/operations/" + opID, "operationId": opID,
		"properties": map[string]any{
			"provisioningState": state, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
			"serviceRequestId": fmt.Sprintf("fa4e0000-0000-0000-0000-%012d", s.seq), "statusCode": code,
			"targetResource": map[string]any{"id": p.id, "resourceName": p.name, "resourceType": p.typ},
		},
	}
}

// plan validates a Deployment body and evaluates its template into the
// resources to make, ordered so each comes after what it dependsOn.
func (s *Fake) plan(rg *resource, body map[string]any) ([]planned, error) {
	p, _ := body["properties"].(map[string]any)
	if p == nil {
		return nil, &templateError{code: "InvalidRequestContent", msg: "The request content was invalid and could not be deserialized: 'Required property 'properties' not found in JSON.'"}
	}
	if mode := str(p["mode"]); mode != "Incremental" && mode != "Complete" {
		return nil, &templateError{code: "InvalidRequestContent", msg: fmt.Sprintf("The request content was invalid and could not be deserialized: 'Error converting value \"%s\" to type 'DeploymentMode'. Path 'properties.mode'.'", mode)}
	}
	template, _ := p["template"].(map[string]any)
	if template == nil {
		return nil, &templateError{code: "InvalidRequestContent", msg: "The request content was invalid: a deployment needs 'template' (the fake serves no templateLink)."}
	}
	supplied, _ := p["parameters"].(map[string]any)
	seg := strings.Split(strings.TrimPrefix(rg.id, "/"), "/")
	e, err := newEval(seg[1], seg[3], clone(rg.body), template, supplied)
	if err != nil {
		return nil, err
	}
	var plan []planned
	for _, raw := range list(template["resources"]) {
		pr, ok, err := e.resource(raw)
		if err != nil {
			return nil, err
		}
		if ok {
			plan = append(plan, pr)
		}
	}
	return order(plan)
}

// resource evaluates one template resource; ok is false when its
// condition is false.
func (e *armEval) resource(raw map[string]any) (planned, bool, error) {
	if c, ok := raw["condition"]; ok {
		v, err := e.value(c)
		if err != nil {
			return planned{}, false, err
		}
		if b, _ := v.(bool); !b {
			return planned{}, false, nil
		}
	}
	v, err := e.value(raw)
	if err != nil {
		return planned{}, false, err
	}
	res := v.(map[string]any)
	typ, name := str(res["type"]), str(res["name"])
	if typ == "" || name == "" || str(res["apiVersion"]) == "" {
		return planned{}, false, invalid("'The template resource '%s' of type '%s' must have 'type', 'name' and 'apiVersion'.'", name, typ)
	}
	id, err := armID(e.sub, e.rgName, typ, strings.Split(name, "/"))
	if err != nil {
		return planned{}, false, err
	}
	pr := planned{id: id, typ: typ, name: name, body: map[string]any{}}
	for k, val := range res {
		switch k {
		case "type", "name", "apiVersion", "dependsOn", "condition", "comments":
		default:
			pr.body[k] = val
		}
	}
	deps, _ := res["dependsOn"].([]any)
	for _, dep := range deps {
		ref := str(dep)
		if !strings.HasPrefix(strings.ToLower(ref), "/subscriptions/") {
			// "NS/type/name" (or a bare name, which ARM also allows).
			parts := strings.Split(strings.Trim(ref, "/"), "/")
			if len(parts) >= 3 {
				n := (len(parts) - 1) / 2
				ref, err = armID(e.sub, e.rgName, strings.Join(append(parts[:2:2], typeSegs(parts[2:], n)...), "/"), nameSegs(parts[2:], n))
				if err != nil {
					return planned{}, false, err
				}
			}
		}
		pr.dependsOn = append(pr.dependsOn, strings.ToLower(ref))
	}
	return pr, true, nil
}

// typeSegs and nameSegs split "name/sub/subname" after NS/type.
func typeSegs(rest []string, n int) []string {
	var out []string
	for i := 1; i < len(rest) && len(out) < n-1; i += 2 {
		out = append(out, rest[i])
	}
	return out
}

func nameSegs(rest []string, n int) []string {
	var out []string
	for i := 0; i < len(rest) && len(out) < n; i += 2 {
		out = append(out, rest[i])
	}
	return out
}

// order sorts plan so dependencies come first; a dependsOn that names no
// resource of the template is InvalidTemplate, as in ARM.
func order(plan []planned) ([]planned, error) {
	byID := map[string]int{}
	for i, p := range plan {
		byID[strings.ToLower(p.id)] = i
	}
	for _, p := range plan {
		for _, d := range p.dependsOn {
			if _, ok := byID[d]; !ok {
				return nil, invalid("'The resource '%s' is not defined in the template.'", d)
			}
		}
	}
	var out []planned
	done := map[string]bool{}
	for len(out) < len(plan) {
		progress := false
		for _, p := range plan {
			id := strings.ToLower(p.id)
			if done[id] {
				continue
			}
			ready := true
			for _, d := range p.dependsOn {
				ready = ready && done[d]
			}
			if ready {
				done[id], progress = true, true
				out = append(out, p)
			}
		}
		if !progress {
			return nil, invalid("'Circular dependency detected on resource: '%s'.'", plan[0].id)
		}
	}
	return out, nil
}

// page writes items as a list, cut by PageSize and $top, with nextLink.
func (s *Fake) page(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	from, _ := strconv.Atoi(q.Get("$skiptoken"))
	from = min(max(from, 0), len(items))
	size := len(items)
	if s.PageSize > 0 {
		size = s.PageSize
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	end := min(from+size, len(items))
	out := map[string]any{}
	if end < len(items) {
		q.Set("$skiptoken", strconv.Itoa(end))
		out["nextLink"] = base(r) + r.URL.Path + "?" + q.Encode()
	}
	value := []any{}
	for _, it := range items[from:end] {
		value = append(value, clone(it))
	}
	out["value"] = value
	writeJSON(w, http.StatusOK, out)
}

// Deployments lists the IDs of the deployments that exist, sorted.
func (s *Fake) Deployments() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.deps {
		out = append(out, d.id)
	}
	sort.Strings(out)
	return out
}

func writeValidateError(w http.ResponseWriter, err error) {
	code, msg := "InvalidTemplate", err.Error()
	if te, ok := err.(*templateError); ok {
		code, msg = te.code, te.msg
	}
	writeErr(w, http.StatusBadRequest, code, msg)
}

func writeDeploymentNotFound(w http.ResponseWriter, name string) {
	writeErr(w, http.StatusNotFound, "DeploymentNotFound", fmt.Sprintf("Deployment '%s' could not be found.", name))
}
