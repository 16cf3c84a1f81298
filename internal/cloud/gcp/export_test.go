package gcp

import "github.com/sindri-dev/sindri-packer/internal/cloud"

// Tuned exposes the Tuning a Cloud runs with, defaults filled in.
func (g Cloud) Tuned() cloud.Tuning { return g.tuning() }
