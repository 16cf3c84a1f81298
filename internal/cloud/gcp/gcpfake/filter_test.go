package gcpfake

import "testing"

func TestFilter(t *testing.T) {
	res := fields("sindri-tmp-1", "RUNNING", "run=1; sindri-packer=temporary", map[string]string{"managed-by": "sindri-packer", "team": "x"})
	tests := []struct {
		filter string
		want   bool
		bad    bool
	}{
		{filter: "", want: true},
		{filter: `labels.managed-by = "sindri-packer"`, want: true},
		{filter: `(labels.managed-by = "sindri-packer") (labels.team = "x")`, want: true},
		{filter: `(labels.managed-by = "sindri-packer") AND (labels.team = "y")`, want: false},
		{filter: `labels.missing = "x"`, want: false},
		{filter: `labels.team:*`, want: true},
		{filter: `labels.missing:*`, want: false},
		{filter: `description:temporary`, want: true},
		{filter: `name != sindri-tmp-1`, want: false},
		{filter: `status = RUNNING`, want: true},
		{filter: `name eq sindri-tmp-.*`, want: true},
		{filter: `name eq 'sindri-test-.*'`, want: false},
		{filter: `name ne "sindri-tmp-.*"`, want: false},
		{filter: `(name eq sindri-.*) (status = RUNNING)`, bad: true},
		{filter: `(labels.a = "x"`, bad: true},
		{filter: `labels.a ~ x`, bad: true},
		{filter: `name eq (`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			conds, err := parseFilter(tt.filter)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseFilter(%q) accepted", tt.filter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := match(conds, res); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}
