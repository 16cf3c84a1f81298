//go:build unix

package config

import "syscall"

// openNonBlock keeps open(2) of a named pipe from waiting for a writer.
const openNonBlock = syscall.O_NONBLOCK

const syscallENOTDIR = syscall.ENOTDIR
