package azure

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

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
