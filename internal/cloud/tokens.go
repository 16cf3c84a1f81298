package cloud

import "github.com/hashicorp/hcl/v2/hclwrite"

// Merge returns a copy of a with b's entries added.
func Merge(a, b map[string]hclwrite.Tokens) map[string]hclwrite.Tokens {
	out := make(map[string]hclwrite.Tokens, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
