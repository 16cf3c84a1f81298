package gha

import "strconv"

// Notice writes a notice annotation (only inside Actions): information
// that is not a problem, shown at its file and line when it has them.
func (r *Reporter) Notice(a Annotation) {
	if !r.enabled {
		return
	}
	fields := map[string]string{}
	if a.File != "" {
		fields["file"] = r.redact.Redact(a.File)
	}
	if a.Line > 0 {
		fields["line"] = strconv.Itoa(a.Line)
	}
	if a.Col > 0 {
		fields["col"] = strconv.Itoa(a.Col)
	}
	if a.Title != "" {
		fields["title"] = r.redact.Redact(a.Title)
	}
	r.action.WithFieldsMap(fields).Noticef("%s", r.redact.Redact(a.Message))
}
