// Command sindri-packer builds, tests and publishes Sindri VM images with
// HashiCorp Packer. All logic lives in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sindri-dev/sindri-packer/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli.Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), Context: ctx}
	code := c.Main(os.Args)
	stop()
	os.Exit(code)
}
