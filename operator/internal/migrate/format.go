package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Report is the JSON output of "kubeopencode migrate check -o json".
type Report struct {
	// Findings are sorted (see Sort); empty, not null, when there are none.
	Findings []Finding `json:"findings"`
}

// WriteJSON writes findings as an indented Report.
func WriteJSON(w io.Writer, findings []Finding) error {
	if findings == nil {
		findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Report{Findings: findings}); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// WriteTable writes findings as an aligned table, one line per finding, or a single line saying
// there is nothing to do. Every cell is printable text on one line: names, paths and messages come
// from the cluster and must not move the cursor or forge lines of the report.
func WriteTable(w io.Writer, findings []Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintln(w, "No findings: every Agent, Task and KubeOpenCodeConfig is accepted by our CRDs with its upstream meaning.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tOBJECT\tPATH\tVERDICT\tREASON")
	for _, f := range findings {
		obj := f.Name
		if f.Namespace != "" {
			obj = f.Namespace + "/" + f.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(f.Kind), cell(obj), cell(f.Path), cell(string(f.Verdict)), cell(f.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	refused, changed := 0, 0
	for _, f := range findings {
		if f.Verdict == Refused {
			refused++
		} else {
			changed++
		}
	}
	noun := "findings"
	if len(findings) == 1 {
		noun = "finding"
	}
	_, err := fmt.Fprintf(w, "\n%d %s: %d refused, %d changed. See docs/migrating-from-upstream.md.\n", len(findings), noun, refused, changed)
	return err
}

// cell makes s safe for one table cell: non-printable runes (control characters, tabs, line
// breaks) are written as Go escapes, and an empty cell as "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
