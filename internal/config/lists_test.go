package config

import (
	"slices"
	"strings"
	"testing"
)

// extensions may be one string, "go,java" or "python nodejs", as the
// Action's input and upstream Sindri's --extensions write it; each item is
// checked and warned about at that string. The schema agrees.
func TestExtensionsAsOneString(t *testing.T) {
	sch := compileSchema(t)
	for _, tt := range []struct {
		name, value string
		env         map[string]string
		want        []string
	}{
		{"commas", `go,java`, nil, []string{"go", "java"}},
		{"commas and spaces", `"python, nodejs  rust"`, nil, []string{"python", "nodejs", "rust"}},
		{"one name", `python`, nil, []string{"python"}},
		{"from a variable", `${EXTS}`, map[string]string{"EXTS": "golang,jvm"}, []string{"golang", "jvm"}},
		{"empty variable", `${EXTS}`, map[string]string{"EXTS": ""}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "packer:\n  cloud: qemu\n  build:\n    extensions: " + tt.value + "\n"
			var warnings []string
			cfg, err := Parse("x.yaml", []byte(src), Options{Getenv: lookup(tt.env), Warn: func(d Diagnostic) { warnings = append(warnings, d.String()) }})
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Packer.Build.Extensions; !slices.Equal(got, tt.want) {
				t.Errorf("extensions %q, want %q", got, tt.want)
			}
			if tt.env == nil {
				if err := sch.Validate(yamlToJSON(t, []byte(src), nil)); err != nil {
					t.Errorf("schema refuses it: %v", err)
				}
			}
		})
	}
	// The seed's names: each warned about at the string's position.
	var warnings []string
	if _, err := Parse("x.yaml", []byte("packer:\n  cloud: qemu\n  build:\n    extensions: go,java\n"), Options{Getenv: lookup(nil),
		Warn: func(d Diagnostic) { warnings = append(warnings, d.String()) }}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`x.yaml:4:17: packer.build.extensions[0]: "go" is not in Sindri v3's extension catalogue; did you mean "golang"?`,
		`x.yaml:4:17: packer.build.extensions[1]: "java" is not in Sindri v3's extension catalogue; did you mean "jvm"?`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	// A bad item in the string is still an error at the string.
	_, err := Parse("x.yaml", []byte("packer:\n  cloud: qemu\n  build:\n    extensions: python,Node\n"), Options{Getenv: lookup(nil)})
	if err == nil || err.Error() != `x.yaml:4:17: packer.build.extensions[1]: "Node" is not valid: expected lower-case letters, digits, '.', '_' and '-', starting with a letter or digit` {
		t.Errorf("bad item: %v", err)
	}
}

// Other lists stay lists, and the error says how to write one, with the
// values given.
func TestListHint(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"packer:\n  cloud: aws\n  ami_regions: us-east-1,eu-west-1\n",
			`x.yaml:3:16: packer.ami_regions: expected a list, got "us-east-1,eu-west-1"; write a list: ami_regions: [us-east-1, eu-west-1]`},
		{"packer:\n  cloud: aws\n  ami_users: 123456789012\n",
			`x.yaml:3:14: packer.ami_users: expected a list, got number 123456789012; write a list: ami_users: [123456789012]`},
		{"packer:\n  cloud: qemu\n  build:\n    extensions: {python: true}\n",
			`x.yaml:4:17: packer.build.extensions: expected a list, got a mapping; write a list: extensions: [python]`},
		{"packer:\n  cloud: qemu\n  build:\n    file_uploads: a.txt\n",
			`x.yaml:4:19: packer.build.file_uploads: expected a list, got "a.txt"; write one entry per item under file_uploads:, each starting with "- "`},
	} {
		_, err := Parse("x.yaml", []byte(tt.src), Options{Getenv: lookup(nil)})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
