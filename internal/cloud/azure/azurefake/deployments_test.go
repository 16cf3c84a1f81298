package azurefake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
)

// deploymentsSpec is the kept excerpt of Microsoft.Resources 2018-02-01.
type deploymentsSpec struct {
	Operations  map[string]specOp     `json:"operations"`
	Definitions map[string]definition `json:"definitions"`
}

type definition struct {
	Required   []string            `json:"required"`
	Properties map[string]property `json:"properties"`
}

type property struct {
	Type  string            `json:"type"`
	Ref   string            `json:"$ref"`
	Items map[string]string `json:"items"`
}

// plugin-shaped template: what packer-plugin-azure v1.4.0 deploys, cut
// down (variables, parameters, concat, resourceId, resourceGroup(),
// dependsOn by type/name and by resourceId, a resource whose condition
// is false).
const deploymentBody = `{"properties":{"mode":"Incremental",
 "parameters":{"ipName":{"value":"pkrip1"},"vnetName":{"value":"pkrvn1"},"nicName":{"value":"pkrni1"},"cmd":{"value":""}},
 "template":{"$schema":"http://schema.management.azure.com/schemas/2014-04-01-preview/deploymentTemplate.json","contentVersion":"1.0.0.0",
  "parameters":{"ipName":{"type":"string"},"vnetName":{"type":"string"},"nicName":{"type":"string"},"cmd":{"type":"string"}},
  "variables":{"location":"[resourceGroup().location]","subnetRef":"[concat(resourceId(resourceGroup().name, 'Microsoft.Network/virtualNetworks', parameters('vnetName')),'/subnets/','sn')]"},
  "resources":[
   {"apiVersion":"2017-04-01","type":"Microsoft.Network/publicIPAddresses","name":"[parameters('ipName')]","location":"[variables('location')]","tags":{"sindri-packer":"temporary"},"properties":{"publicIPAllocationMethod":"Dynamic"}},
   {"apiVersion":"2017-04-01","type":"Microsoft.Network/networkInterfaces","name":"[parameters('nicName')]","location":"[variables('location')]",
    "dependsOn":["[concat('Microsoft.Network/publicIPAddresses/', parameters('ipName'))]","[resourceId('Microsoft.Network/virtualNetworks/', parameters('vnetName'))]"],
    "properties":{"ipConfigurations":[{"name":"ipconfig","properties":{"publicIPAddress":{"id":"[resourceId('Microsoft.Network/publicIPAddresses', parameters('ipName'))]"},"subnet":{"id":"[variables('subnetRef')]"}}}]}},
   {"apiVersion":"2017-04-01","type":"Microsoft.Network/virtualNetworks","name":"[parameters('vnetName')]","location":"[variables('location')]","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"sn","properties":{"addressPrefix":"10.0.0.0/24"}}]}},
   {"apiVersion":"2022-08-01","type":"Microsoft.Compute/virtualMachines/extensions","name":"[concat('vm', '/ext')]","location":"[variables('location')]","condition":"[not(empty(parameters('cmd')))]","properties":{}}
  ]}}}`

func call(t *testing.T, method, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer fake")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var got map[string]any
	_ = json.Unmarshal(data, &got)
	return resp, got
}

// conforms checks that v has only the properties def declares (following
// $ref and array items), and every required one.
func conforms(t *testing.T, sp *deploymentsSpec, where, def string, v any) {
	t.Helper()
	d, ok := sp.Definitions[def]
	m, isMap := v.(map[string]any)
	if !ok || !isMap {
		t.Errorf("%s: %T against %s (in the excerpt: %v)", where, v, def, ok)
		return
	}
	for _, r := range d.Required {
		if _, ok := m[r]; !ok {
			t.Errorf("%s: required %s.%s missing", where, def, r)
		}
	}
	for k, val := range m {
		p, ok := d.Properties[k]
		switch {
		case !ok:
			t.Errorf("%s: %q is not a property of %s", where, k, def)
		case p.Ref != "":
			conforms(t, sp, where+"."+k, strings.TrimPrefix(p.Ref, "#/definitions/"), val)
		case p.Type == "array" && p.Items["$ref"] != "":
			for i, e := range val.([]any) {
				conforms(t, sp, where+"."+k+"["+strconv.Itoa(i)+"]", strings.TrimPrefix(p.Items["$ref"], "#/definitions/"), e)
			}
		case p.Type == "string":
			if _, ok := val.(string); !ok {
				t.Errorf("%s.%s: %T, the spec says string", where, k, val)
			}
		}
	}
}

// Every Deployments operation packer-plugin-azure calls is served at the
// spec's path, answers one of the spec's status codes (a long-running one
// with Azure-AsyncOperation, a 202 with Location), and every field of
// every answer is a property of the spec's definition.
func TestDeploymentOperationsMatchTheSpec(t *testing.T) {
	var sp deploymentsSpec
	readSpec(t, "deployments-spec.json", &sp)
	f := azurefake.New(t)
	specRun{
		ops:        sp.Operations,
		order:      []string{"Deployments_Validate", "Deployments_CreateOrUpdate", "Deployments_Get", "Deployments_CheckExistence", "DeploymentOperations_List", "Deployments_Delete"},
		name:       []string{"{deploymentName}", "pkrdp1"},
		apiVersion: "2018-02-01",
		bodies:     map[string]string{http.MethodPut: deploymentBody, http.MethodPost: deploymentBody},
		done:       []int{http.StatusOK, http.StatusNoContent},
	}.run(t, f, func(name string, op specOp, got map[string]any) {
		if op.Schema != "" {
			conforms(t, &sp, name, op.Schema, got)
		}
		if name == "DeploymentOperations_List" {
			if v, _ := got["value"].([]any); len(v) != 3 {
				t.Errorf("%s: %d operations, want one per resource made (3; the extension's condition is false)", name, len(v))
			}
		}
	})
	if ds := f.Deployments(); len(ds) != 0 {
		t.Errorf("deployments after Deployments_Delete: %v", ds)
	}
}

func deploymentURL(f *azurefake.Fake, name, suffix string) string {
	return f.URL() + "/subscriptions/" + azurefake.Subscription + "/resourcegroups/" + azurefake.ResourceGroup +
		"/providers/Microsoft.Resources/deployments/" + name + suffix + "?api-version=2018-02-01"
}

// A template ARM would refuse is refused by Validate and by
// CreateOrUpdate (400 InvalidTemplate, nothing made): a function the
// evaluator does not know, a parameter the template does not declare or
// gets no value for, a dependsOn on a resource the template lacks.
func TestDeploymentRefusesAnInvalidTemplate(t *testing.T) {
	for name, edit := range map[string][2]string{
		"unknown function":      {"[concat('Microsoft.Network/publicIPAddresses/', parameters('ipName'))]", "[reference('x')]"},
		"undeclared parameter":  {`"cmd":{"value":""}`, `"cmd":{"value":""},"extra":{"value":"x"}`},
		"parameter not given":   {`"cmd":{"value":""}}`, `"cmd2":{"value":""}}`},
		"dependsOn not defined": {"[concat('Microsoft.Network/publicIPAddresses/', parameters('ipName'))]", "Microsoft.Network/publicIPAddresses/elsewhere"},
	} {
		t.Run(name, func(t *testing.T) {
			f := azurefake.New(t)
			body := strings.Replace(deploymentBody, edit[0], edit[1], 1)
			if body == deploymentBody {
				t.Fatal("the edit did not apply")
			}
			for _, suffix := range []string{"/validate", ""} {
				method := map[string]string{"/validate": http.MethodPost, "": http.MethodPut}[suffix]
				resp, got := call(t, method, deploymentURL(f, "bad", suffix), body)
				e, _ := got["error"].(map[string]any)
				if resp.StatusCode != http.StatusBadRequest || e["code"] != "InvalidTemplate" {
					t.Errorf("%s: %d %v, want 400 InvalidTemplate", method, resp.StatusCode, got)
				}
			}
			if live := f.Live(); len(live) != 0 || len(f.Deployments()) != 0 {
				t.Errorf("a refused template made %v %v", live, f.Deployments())
			}
		})
	}
}

// A resource ARM cannot make (a NIC on a subnet that exists nowhere) is
// accepted (201), then the operation ends Failed with DeploymentFailed,
// the deployment reads Failed, and its operations list the failure.
func TestDeploymentFailsWhenAResourceCannotBeMade(t *testing.T) {
	f := azurefake.New(t)
	body := strings.Replace(deploymentBody, "'/subnets/','sn'", "'/subnets/','missing'", 1)
	resp, _ := call(t, http.MethodPut, deploymentURL(f, "dp", ""), body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d, want 201 (the failure is the operation's)", resp.StatusCode)
	}
	_, st := call(t, http.MethodGet, resp.Header.Get("Azure-AsyncOperation"), "")
	e, _ := st["error"].(map[string]any)
	if st["status"] != "Failed" || e["code"] != "DeploymentFailed" || !strings.Contains(e["message"].(string), "missing") {
		t.Errorf("operation status %v, want Failed with DeploymentFailed naming the subnet", st)
	}
	_, d := call(t, http.MethodGet, deploymentURL(f, "dp", ""), "")
	if p, _ := d["properties"].(map[string]any); p["provisioningState"] != "Failed" {
		t.Errorf("deployment %v, want provisioningState Failed", d)
	}
	_, ops := call(t, http.MethodGet, strings.Replace(deploymentURL(f, "dp", "/operations"), "/providers/Microsoft.Resources", "", 1), "")
	var failed bool
	for _, o := range ops["value"].([]any) {
		p := o.(map[string]any)["properties"].(map[string]any)
		failed = failed || p["provisioningState"] == "Failed"
	}
	if !failed {
		t.Errorf("operations %v: none Failed", ops)
	}
}

// Generalize is refused on a running VM; an image from a VM that is not
// generalized is refused; a generalized VM cannot start again.
func TestImageFromAVMNeedsItGeneralized(t *testing.T) {
	f := azurefake.New(t)
	vm := azurefake.ID("Microsoft.Compute/virtualMachines", "vm")
	f.Put(vm, map[string]any{"location": azurefake.Location, "properties": map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"osType": "Linux", "managedDisk": map[string]any{"id": azurefake.ID("Microsoft.Compute/disks", "os")}}}}}, time.Now())
	image := f.URL() + azurefake.ID("Microsoft.Compute/images", "img") + "?api-version=2021-11-01"
	imageBody := `{"location":"` + azurefake.Location + `","properties":{"sourceVirtualMachine":{"id":"` + vm + `"}}}`
	post := func(verb string) *http.Response {
		resp, _ := call(t, http.MethodPost, f.URL()+vm+"/"+verb+"?api-version=2021-11-01", "")
		return resp
	}
	if resp := post("generalize"); resp.StatusCode != http.StatusConflict {
		t.Errorf("generalize a running VM: %d, want 409", resp.StatusCode)
	}
	if resp, got := call(t, http.MethodPut, image, imageBody); resp.StatusCode != http.StatusBadRequest || got["error"].(map[string]any)["code"] != "OperationNotAllowed" {
		t.Errorf("image from a VM not generalized: %d %v, want OperationNotAllowed", resp.StatusCode, got)
	}
	if resp := post("deallocate"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deallocate: %d", resp.StatusCode)
	}
	if resp := post("generalize"); resp.StatusCode != http.StatusOK {
		t.Fatalf("generalize a deallocated VM: %d, want 200", resp.StatusCode)
	}
	resp, got := call(t, http.MethodPut, image, imageBody)
	od, _ := got["properties"].(map[string]any)["storageProfile"].(map[string]any)["osDisk"].(map[string]any)
	if resp.StatusCode != http.StatusCreated || od["osState"] != "Generalized" || od["osType"] != "Linux" {
		t.Errorf("image from a generalized VM: %d %v", resp.StatusCode, got)
	}
	if resp := post("start"); resp.StatusCode != http.StatusConflict {
		t.Errorf("start a generalized VM: %d, want 409", resp.StatusCode)
	}
}
