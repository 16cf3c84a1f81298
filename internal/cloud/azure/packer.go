package azure

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

func (Cloud) SourceType() string                        { return "azure-arm" }
func (Cloud) Plugin() cloud.Plugin                      { return cloud.HashiCorpPlugin("azure") }
func (Cloud) Variables(*config.Config) []cloud.Variable { return credentialVars }
func (Cloud) SSHUser(c *config.Config) string           { return c.Packer.Clouds.Azure.SSHUsername }

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	a := c.Packer.Clouds.Azure
	b := hclgen.Body{Body: body}
	b.Str("subscription_id", a.SubscriptionID)
	// Credentials are never in the template: a service principal's from
	// the variables Prepare fills from the environment (OIDC token or
	// secret), else the Azure CLI login.
	b.Set("use_azure_cli_auth", hclgen.Expr(`var.azure_client_jwt == "" && var.azure_client_secret == ""`))
	b.Set("client_id", hclgen.Expr("var.azure_client_id"))
	b.Set("tenant_id", hclgen.Expr("var.azure_tenant_id"))
	b.Set("client_jwt", hclgen.Expr("var.azure_client_jwt"))
	b.Set("client_secret", hclgen.Expr("var.azure_client_secret"))
	b.Str("os_type", "Linux")
	b.Str("image_publisher", a.ImagePublisher)
	b.Str("image_offer", a.ImageOffer)
	b.Str("image_sku", a.ImageSKU)
	b.Str("location", a.Location)
	b.Str("vm_size", a.VMSize)
	b.Int("os_disk_size_gb", a.OSDiskSizeGB)
	b.Set("managed_image_name", m.ImageName)
	b.Str("managed_image_resource_group_name", a.ResourceGroup)
	b.Str("managed_image_storage_account_type", a.StorageAccountType)
	b.Str("ssh_username", a.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	tags := cloud.Merge(cloud.Tags(a.Tags), cloud.RunTags())
	// A managed image reports no creation time: the build writes its own.
	tags[CreatedTag] = hclgen.Expr(createdExpr)
	b.Set("azure_tags", hclgen.Map(tags))
	if g := a.Gallery; g != nil {
		d := b.Block("shared_image_gallery_destination")
		d.Str("subscription", a.SubscriptionID)
		rg := g.ResourceGroup
		if rg == "" {
			rg = a.ResourceGroup
		}
		d.Str("resource_group", rg)
		d.Str("gallery_name", g.GalleryName)
		d.Str("image_name", g.ImageName)
		// Unique per build and location (GalleryImageVersion): the plugin refuses
		// to publish a version that exists.
		d.Set("image_version", galleryVersionExpr(g.ImageVersion, a.Location))
		d.Strs("replication_regions", g.ReplicationRegions)
	}
}

// credentialVars are the Packer variables of the service principal login,
// each from the variable azidentity's chain reads. A workload identity
// (OIDC) token file becomes client_jwt; a client secret, client_secret.
var credentialVars = []cloud.Variable{
	{Name: "azure_client_id", Description: "service principal (app) ID; empty: the Azure CLI login", Default: ""},
	{Name: "azure_tenant_id", Description: "Entra ID tenant of the service principal", Default: ""},
	{Name: "azure_client_jwt", Description: "federated (OIDC) token of the service principal", Default: "", Sensitive: true},
	{Name: "azure_client_secret", Description: "client secret of the service principal", Default: "", Sensitive: true},
}

// Prepare hands Packer the service principal credentials the SDK side uses
// (AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or
// AZURE_CLIENT_SECRET), so a build inside the Action's container, where the
// runner's az login is out of sight, logs in the same way. They go to a
// variable file in the build's private folder, never onto the command line.
// Without them the template falls back to the Azure CLI login.
func (c Cloud) Prepare(_ context.Context, run *cloud.BuildRun) (map[string]string, func(), error) {
	vals := map[string]string{}
	if id, tenant := c.Env.Get("AZURE_CLIENT_ID"), c.Env.Get("AZURE_TENANT_ID"); id != "" && tenant != "" {
		if f := c.Env.Get("AZURE_FEDERATED_TOKEN_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("azure: AZURE_FEDERATED_TOKEN_FILE: %w", err)
			}
			vals["azure_client_jwt"] = strings.TrimSpace(string(b))
		} else if s := c.Env.Get("AZURE_CLIENT_SECRET"); s != "" {
			vals["azure_client_secret"] = s
		}
		if len(vals) > 0 {
			vals["azure_client_id"], vals["azure_tenant_id"] = id, tenant
		}
	}
	if len(vals) == 0 {
		return nil, nil, nil
	}
	f := hclwrite.NewEmptyFile()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		f.Body().SetAttributeValue(k, cty.StringVal(vals[k]))
	}
	p := filepath.Join(run.WorkDir, "azure-credentials.pkrvars.hcl")
	if err := os.WriteFile(p, f.Bytes(), 0o600); err != nil {
		return nil, nil, fmt.Errorf("azure: %w", err)
	}
	run.VarFiles = append(run.VarFiles, p)
	return nil, nil, nil
}

// Describe keeps both of an azure-arm artifact's IDs: the managed image
// and, when a gallery is configured, the gallery image version. Packer's
// manifest records only one, so the rest comes from the artifact's text
// (which has all the manifest has: parsed is not needed).
func (Cloud) Describe(run *cloud.BuildRun, art cloud.Artifact, _ *cloud.Image) *cloud.Image {
	fields := map[string]string{}
	for _, line := range strings.Split(art.String, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	img := &cloud.Image{ID: art.ID, Name: fields["ManagedImageName"], ConfigHash: run.Hash, Extra: map[string]string{}}
	if id := fields["ManagedImageId"]; id != "" {
		img.ID = id
		img.Extra["managed_image_id"] = id
	}
	if id := fields["ManagedImageSharedImageGalleryId"]; id != "" {
		img.Extra["gallery_image_version_id"] = id
		if img.ID == "" {
			img.ID = id
		}
	}
	if loc := fields["ManagedImageLocation"]; loc != "" {
		img.Regions = map[string]string{loc: img.ID}
	}
	if len(img.Extra) == 0 {
		img.Extra = nil
	}
	return img
}

// A gallery image version is MAJOR.MINOR.PATCH with 32-bit integers, and
// the Packer plugin refuses to publish a version that exists. The build
// keeps the configured MAJOR.MINOR and makes PATCH from the build's UTC
// time and the build's location, so a repave, a --rebuild and per-region
// matrix jobs that start in the same minute all publish distinct versions,
// and a later build's version sorts after an earlier one's:
//
//	PATCH = minutes(build time) * 100 + slot(location)
//
// minutes counts from 2025-01-01 on a calendar of 31-day months (so it
// needs only the date's digits and still grows with time), which fits
// int32 until 2065; slot is the location's fixed place in azureRegions.
const (
	versionEpochYear = 2025
	regionSlots      = 100
)

// azureRegions gives each Azure location a fixed slot (its index + 1).
// Append only: a slot must never change, or two builds could collide.
var azureRegions = []string{
	"eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
	"westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth",
	"brazilsoutheast", "mexicocentral", "chilecentral", "northeurope", "westeurope", "uksouth",
	"ukwest", "francecentral", "francesouth", "germanywestcentral", "germanynorth", "switzerlandnorth",
	"switzerlandwest", "norwayeast", "norwaywest", "swedencentral", "swedensouth", "polandcentral",
	"italynorth", "spaincentral", "austriaeast", "belgiumcentral", "israelcentral", "qatarcentral",
	"uaenorth", "uaecentral", "southafricanorth", "southafricawest", "centralindia", "southindia",
	"westindia", "jioindiawest", "jioindiacentral", "eastasia", "southeastasia", "japaneast",
	"japanwest", "koreacentral", "koreasouth", "australiaeast", "australiasoutheast", "australiacentral",
	"australiacentral2", "newzealandnorth", "indonesiacentral", "malaysiawest", "taiwannorth", "taiwannorthwest",
	"eastus2euap", "centraluseuap", "usgovvirginia", "usgovarizona", "usgovtexas", "usdodeast",
	"usdodcentral", "chinanorth", "chinanorth2", "chinanorth3", "chinaeast", "chinaeast2",
	"chinaeast3", "denmarkeast", "saudiarabiaeast", "greececentral", "finlandcentral",
}

// regionSlot is the location's slot: its fixed place in azureRegions, else
// (a region newer than the table) one of the last 20 slots by a hash.
func regionSlot(location string) int {
	l := strings.ToLower(strings.ReplaceAll(location, " ", ""))
	if i := slices.Index(azureRegions, l); i >= 0 {
		return i + 1
	}
	h := fnv.New32a()
	h.Write([]byte(l))
	return regionSlots - 20 + int(h.Sum32()%20)
}

// majorMinor is the configured version's MAJOR.MINOR as numbers (its PATCH
// is the build's, see above); false when it is not MAJOR.MINOR.PATCH (the
// loader refuses that, so a template never carries it as text).
func majorMinor(configured string) (string, bool) {
	parts := strings.Split(configured, ".")
	if len(parts) != 3 {
		return "", false
	}
	var n [3]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 31)
		if err != nil {
			return "", false
		}
		n[i] = v
	}
	return fmt.Sprintf("%d.%d", n[0], n[1]), true
}

// GalleryImageVersion is the version a build that started at t in
// location publishes for the configured version; the rendered template
// computes the same from local.build_time (galleryVersionExpr).
func GalleryImageVersion(configured, location string, t time.Time) string {
	t = t.UTC()
	minutes := ((((t.Year()-versionEpochYear)*12+int(t.Month())-1)*31+t.Day()-1)*24+t.Hour())*60 + t.Minute()
	mm, ok := majorMinor(configured)
	if !ok {
		return configured
	}
	return fmt.Sprintf("%s.%d", mm, minutes*regionSlots+regionSlot(location))
}

// galleryVersionExpr is GalleryImageVersion as an HCL template over
// local.build_time (YYYYMMDDhhmmss, UTC), the time the image name carries.
func galleryVersionExpr(configured, location string) hclwrite.Tokens {
	mm, ok := majorMinor(configured)
	if !ok {
		return hclgen.Str(configured)
	}
	part := func(off, n int) string {
		return fmt.Sprintf("parseint(substr(local.build_time, %d, %d), 10)", off, n)
	}
	minutes := fmt.Sprintf("((((%s - %d) * 12 + %s - 1) * 31 + %s - 1) * 24 + %s) * 60 + %s",
		part(0, 4), versionEpochYear, part(4, 2), part(6, 2), part(8, 2), part(10, 2))
	return hclgen.Expr(fmt.Sprintf(`"%s.${(%s) * %d + %d}"`, mm, minutes, regionSlots, regionSlot(location)))
}

// createdExpr is the build time in RFC 3339, from local.build_time: the
// CreatedTag value every resource the build makes carries, and the only
// creation time a managed image has (builtAt).
const createdExpr = `"${substr(local.build_time, 0, 4)}-${substr(local.build_time, 4, 2)}-${substr(local.build_time, 6, 2)}T${substr(local.build_time, 8, 2)}:${substr(local.build_time, 10, 2)}:${substr(local.build_time, 12, 2)}Z"`
