package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The kept catalogue says where it came from and holds the names Sindri v3
// is known to have, and none of the seed's wrong ones.
func TestExtensionsCatalogue(t *testing.T) {
	names := Extensions()
	for _, want := range []string{"python", "nodejs", "golang", "jvm", "rust", "docker", "dotnet", "ruby", "php", "swift",
		"haskell", "claude-cli", "github-cli", "cloud-tools", "infra-tools", "ai-toolkit", "ollama", "playwright", "sdkman"} {
		if !slices.Contains(names, want) {
			t.Errorf("catalogue lacks %q", want)
		}
	}
	for _, bad := range []string{"node", "go", "java", "claude-code", "aider", "cursor"} {
		if slices.Contains(names, bad) {
			t.Errorf("catalogue has %q, which Sindri v3 does not", bad)
		}
	}
	for i, n := range names {
		if !patterns["name"].MatchString(n) || i > 0 && names[i-1] == n {
			t.Errorf("catalogue entry %q is not a valid, unique extension name", n)
		}
	}
	if src := ExtensionsSource(); !strings.Contains(src, "github.com/pacphi/sindri") || !regexp.MustCompile(`commit [0-9a-f]{40}`).MatchString(src) {
		t.Errorf("catalogue header does not name its source repository and commit: %q", src)
	}
}

// extensionNote finds the names a template's comment offers above
// extensions: ("e.g. a, b" or "Some: a, b").
var extensionNote = regexp.MustCompile(`(?:e\.g\.|Some:)\s*([a-z0-9, -]+)`)

// Every init template loads without an extension warning, and the names its
// comments suggest are catalogue names.
func TestTemplatesUseCatalogueNames(t *testing.T) {
	known := Extensions()
	for _, cloud := range Clouds {
		t.Run(cloud, func(t *testing.T) {
			data, err := Template(cloud)
			if err != nil {
				t.Fatal(err)
			}
			var warnings Diagnostics
			cfg, err := Parse("sindri.yaml", data, Options{Getenv: lookup(templateEnv), Warn: func(d Diagnostic) { warnings = append(warnings, d) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Packer.Build.Extensions) == 0 {
				t.Error("template pre-installs no extension")
			}
			if len(warnings) > 0 {
				t.Errorf("template's extensions are not catalogue names:\n%v", warnings)
			}
			// The comment block right above "extensions:".
			lines := strings.Split(string(data), "\n")
			at := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "extensions:" })
			var block []string
			for i := at - 1; i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "#"); i-- {
				block = append([]string{strings.TrimPrefix(strings.TrimSpace(lines[i]), "#")}, block...)
			}
			m := extensionNote.FindStringSubmatch(strings.Join(block, " "))
			if m == nil {
				t.Fatalf("no example extension names above extensions: in\n%s", strings.Join(block, "\n"))
			}
			for _, n := range strings.Split(m[1], ",") {
				if n = strings.TrimSpace(n); n != "" && !slices.Contains(known, n) {
					t.Errorf("comment names %q, which is not in the catalogue", n)
				}
			}
		})
	}
}

// A name missing from the catalogue is a warning at its list item, with the
// closest catalogue name or the v3 name of a renamed one; loading succeeds.
func TestExtensionWarnings(t *testing.T) {
	src := "packer:\n  cloud: qemu\n  build:\n    extensions:\n      - python\n      - node\n      - go\n      - pythn\n      - cursor\n"
	var got []string
	cfg, err := Parse("x.yaml", []byte(src), Options{Getenv: lookup(nil), Warn: func(d Diagnostic) { got = append(got, d.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`x.yaml:6:9: packer.build.extensions[1]: "node" is not in Sindri v3's extension catalogue; did you mean "nodejs"?`,
		`x.yaml:7:9: packer.build.extensions[2]: "go" is not in Sindri v3's extension catalogue; did you mean "golang"?`,
		`x.yaml:8:9: packer.build.extensions[3]: "pythn" is not in Sindri v3's extension catalogue; did you mean "python"?`,
		`x.yaml:9:9: packer.build.extensions[4]: "cursor" is not in Sindri v3's extension catalogue (catalogue: https://github.com/pacphi/sindri/tree/v3/v3/extensions); Sindri refuses a name it does not know`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(cfg.Packer.Build.Extensions, []string{"python", "node", "go", "pythn", "cursor"}) {
		t.Errorf("extensions %v: a warning must not change the list", cfg.Packer.Build.Extensions)
	}
	// From --set, the warning says so.
	got = nil
	if _, err := Parse("x.yaml", []byte("packer: {cloud: qemu}\n"), Options{Getenv: lookup(nil), Sets: []string{"packer.build.extensions=[java]"},
		Warn: func(d Diagnostic) { got = append(got, d.String()) }}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`--set: packer.build.extensions[0]: "java" is not in Sindri v3's extension catalogue; did you mean "jvm"?`}; !slices.Equal(got, want) {
		t.Errorf("--set warnings %q, want %q", got, want)
	}
}
