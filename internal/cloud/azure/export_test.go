package azure

import "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

// Internals the external tests check directly.
var (
	KnownRegions       = azureRegions
	RegionSlot         = regionSlot
	RegionSlots        = regionSlots
	GalleryVersionExpr = galleryVersionExpr
	MajorMinor         = majorMinor
)

// RetryOptions are the azcore retry options c's Tuning makes.
func RetryOptions(c Cloud) policy.RetryOptions { return retryOptions(c.tuning()) }
