package validate

import (
	"fmt"
	"strings"
)

// Summary is the job summary of a validate run: the verdict for clouds and
// a table of the findings (problems and notices), each path passed through
// rel (workspace-relative paths in Actions). Cells are escaped.
func Summary(clouds []string, findings []Finding, rel func(string) string) string {
	var b strings.Builder
	problems := 0
	for _, f := range findings {
		if !f.IsNotice() {
			problems++
		}
	}
	names := cell(strings.Join(clouds, ", "))
	if problems == 0 {
		fmt.Fprintf(&b, "### ✅ sindri-packer validate passed (%s)\n\n", names)
	} else {
		fmt.Fprintf(&b, "### ❌ sindri-packer validate: %d finding(s) (%s)\n\n", problems, names)
	}
	if len(findings) == 0 {
		return b.String()
	}
	b.WriteString("| Level | Where | Tool | Message |\n|---|---|---|---|\n")
	for _, f := range findings {
		level := "error"
		if f.IsNotice() {
			level = "notice"
		}
		where := rel(f.File)
		if f.Line > 0 {
			where += fmt.Sprintf(":%d", f.Line)
			if f.Col > 0 {
				where += fmt.Sprintf(":%d", f.Col)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", level, code(where), cell(f.Tool), cell(f.Message))
	}
	return b.String()
}

// cell makes s safe inside one markdown table cell.
func cell(s string) string {
	s = strings.NewReplacer("\\", `\\`, "|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.NewReplacer("`", "'", "|", `\|`, "\n", " ").Replace(s) + "`"
}
