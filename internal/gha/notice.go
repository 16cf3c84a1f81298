package gha

// Notice writes a notice annotation (only inside Actions): information
// that is not a problem, shown at its file and line when it has them.
func (r *Reporter) Notice(a Annotation) {
	if !r.enabled {
		return
	}
	r.action.WithFieldsMap(r.fields(a, true)).Noticef("%s", r.redact.Redact(a.Message))
}
