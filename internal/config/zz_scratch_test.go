package config

import (
	"fmt"
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	env := map[string]string{"EMPTY": ""}
	get := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, s := range []string{
		"",
		"# only comment\n",
		"- a\n- b\n",
		"a: 1\n---\nb: 2\n",
		"---\na: 1\n---\n",
		"a:\n\tb: 1\n",
		"a: \x00\n",
		"packer:\n  cloud: aws\n  encrypt_boot: True\n  volume_size: 0x10\n",
		"packer:\n  cloud: [aws]\n  region: x\n",
		"packer:\n  clouds: {}\n",
		"packer:\n  clouds:\n  build: {profile: X}\n",
		"packer:\n  cloud: aws\n  build:\n    ssh_timeout: 99999999999h\n",
		os.Getenv("SCRATCH"),
	} {
		_, err := Parse("x.yaml", []byte(s), Options{Getenv: get})
		fmt.Printf("%q\n  => %v\n", s, err)
	}
}
