package config

import "testing"

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": "", "_U1": "u", "DOLLAR": "$B", "BRACE": "${A}"}
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "", want: ""},
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x${A}y${A}z", want: "xalphayalphaz"},
		{in: "${_U1}", want: "u"},
		{in: "${A:-default}", want: "alpha"},
		{in: "${UNSET:-default}", want: "default"},
		{in: "${EMPTY:-default}", want: "default"}, // empty counts as unset for :-
		{in: "${EMPTY}", want: ""},                 // set but empty, no default
		{in: "${UNSET:-}", want: ""},
		{in: "${UNSET:-a b:-c}", want: "a b:-c"},
		{in: "${UNSET:-{x}", want: "{x"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$$", want: "$$"},
		{in: "$$${A}", want: "$alpha"},
		{in: "$", want: "$"},
		{in: "a$", want: "a$"},
		{in: "$A", want: "$A"}, // only the braced form expands
		{in: "a$b$", want: "a$b$"},
		{in: "${DOLLAR}", want: "$B"},   // values are not expanded again
		{in: "${BRACE}", want: "${A}"},  // not even when they look like ${...}
		{in: "€${A}€", want: "€alpha€"}, // multi-byte text around
		{in: "${UNSET}", wantErr: "environment variable UNSET is not set (referenced as ${UNSET})"},
		{in: "ok ${A} then ${NOPE}", wantErr: "environment variable NOPE is not set (referenced as ${NOPE})"},
		{in: "${A", wantErr: `unterminated ${ in "${A" (write $$ for a literal $)`},
		{in: "x ${", wantErr: `unterminated ${ in "x ${" (write $$ for a literal $)`},
		{in: "${}", wantErr: `invalid environment variable name "" in ${}`},
		{in: "${:-d}", wantErr: `invalid environment variable name "" in ${:-d}`},
		{in: "${1A}", wantErr: `invalid environment variable name "1A" in ${1A}`},
		{in: "${A-B}", wantErr: `invalid environment variable name "A-B" in ${A-B}`},
		{in: "${A:=x}", wantErr: `invalid environment variable name "A:=x" in ${A:=x}`},
		{in: "${ A }", wantErr: `invalid environment variable name " A " in ${ A }`},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup(env))
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("expand(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// Text without a $ never reaches getenv.
func TestExpandLooksUpOnlyWhatIsNamed(t *testing.T) {
	var asked []string
	getenv := func(name string) (string, bool) {
		asked = append(asked, name)
		return "v", true
	}
	if _, err := expand("no dollars here", getenv); err != nil || len(asked) != 0 {
		t.Errorf("asked %v, err %v", asked, err)
	}
	if _, err := expand("${X}$${Y}${Z:-d}", getenv); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0] != "X" || asked[1] != "Z" {
		t.Errorf("asked %v, want [X Z]", asked)
	}
}

func TestValidEnvName(t *testing.T) {
	for name, want := range map[string]bool{
		"A": true, "a": true, "_": true, "A1": true, "_9": true, "PATH_2": true,
		"": false, "1A": false, "A-B": false, "A.B": false, "É": false, "A B": false,
	} {
		if got := validEnvName(name); got != want {
			t.Errorf("validEnvName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Parse with a nil Getenv reads the real environment.
func TestParseDefaultGetenv(t *testing.T) {
	t.Setenv("SINDRI_TEST_REGION", "ap-south-1")
	cfg, err := Parse("x.yaml", []byte("packer: {cloud: aws, region: \"${SINDRI_TEST_REGION}\"}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Packer.Clouds.AWS.Region != "ap-south-1" {
		t.Errorf("region = %q", cfg.Packer.Clouds.AWS.Region)
	}
}
