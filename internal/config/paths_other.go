//go:build !unix

package config

import "syscall"

const openNonBlock = 0

const syscallENOTDIR = syscall.ENOTDIR
