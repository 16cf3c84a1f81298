// Package report is where a command's results become text: Markdown tables
// for the job summary and the terminal, aligned text tables, and step
// outputs. Every table goes through one Table type and one cell helper, so
// every cell is escaped and cut the same way, and outputs are written in
// one (sorted) order.
package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// MaxCell is the longest free-text Markdown cell, in bytes; a longer one
// is cut (never inside a character) and ends in "…".
const MaxCell = 200

// cellEscaper keeps a value inside one Markdown table cell: a | would
// end the cell, a line break the row.
var cellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

// htmlEscaper keeps free text from being read as HTML in a job summary
// (an error message may quote what a pull request wrote); Markdown shows
// the entities as the characters.
var htmlEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;")

// Cell makes free text safe inside one Markdown table cell: | escaped,
// line breaks turned into spaces, < and > as entities, cut to MaxCell
// bytes on a character boundary (never inside a character or an entity).
func Cell(s string) string {
	s = cellEscaper.Replace(s)
	if len(s) > MaxCell {
		s = cut(s, MaxCell)
	}
	return htmlEscaper.Replace(s)
}

// cut shortens s to at most n bytes, never inside a character, and marks
// the cut with "…".
func cut(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Code is a value (an ID, a hash) as a Markdown code span inside a cell:
// | and line breaks escaped as in Cell (no entities: a code span shows
// them as typed), never cut; a backtick, which would end the span,
// becomes '.
func Code(s string) string {
	return "`" + cellEscaper.Replace(strings.ReplaceAll(s, "`", "'")) + "`"
}

// Column is one column of a Table.
type Column struct {
	Name string
	// Code shows the values as code spans (IDs, hashes), never cut.
	Code bool
	// Dash shows an empty value as a dash ("—" in Markdown, "-" in text).
	Dash bool
}

// Table is rows of raw values under named columns; Markdown and Text
// escape them for where they go.
type Table struct {
	Columns []Column
	rows    [][]string
}

// NewTable returns an empty table of the columns.
func NewTable(cols ...Column) *Table { return &Table{Columns: cols} }

// Row adds a row of raw values, one per column; missing ones are empty.
func (t *Table) Row(values ...string) {
	row := make([]string, len(t.Columns))
	copy(row, values)
	t.rows = append(t.rows, row)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Markdown renders the table in GitHub-flavoured Markdown.
func (t *Table) Markdown() string {
	var b strings.Builder
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = Cell(c.Name)
	}
	writeRow(&b, names)
	b.WriteString("|" + strings.Repeat("---|", len(t.Columns)) + "\n")
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = t.Columns[i].markdown(v)
		}
		writeRow(&b, cells)
	}
	return b.String()
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func (c Column) markdown(v string) string {
	switch {
	case v == "" && c.Dash:
		return "—"
	case c.Code:
		return Code(v)
	}
	return Cell(v)
}

// textEscaper keeps a value on its line and in its column.
var textEscaper = strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ")

// Text writes the table as aligned columns for a terminal, the header
// first.
func (t *Table) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if v == "" && t.Columns[i].Dash {
				v = "-"
			}
			cells[i] = textEscaper.Replace(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// SetOutputs writes step outputs through set in sorted order of their
// names, so the outputs file holds the same bytes for the same results.
func SetOutputs(set func(name, value string) error, outputs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		if err := set(k, outputs[k]); err != nil {
			return err
		}
	}
	return nil
}
