package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leakscope/leakscope/query"
)

// RenderJSON writes the Document as indented JSON. HTML-significant
// characters are escaped (\u003c), so the JSON is also safe to embed.
func RenderJSON(w io.Writer, d *Document) error {
	doc := *d
	doc.Findings = nonNil(doc.Findings)
	doc.Timeline = nonNil(doc.Timeline)
	doc.Provenance.Seeds = nonNil(doc.Provenance.Seeds)
	doc.Provenance.Inputs = nonNil(doc.Provenance.Inputs)
	doc.Charts.Activity = nonNil(doc.Charts.Activity)
	doc.Charts.Egress = nonNil(doc.Charts.Egress)
	doc.Charts.Paths = nonNil(doc.Charts.Paths)
	doc.Coverage.Notes = nonNil(doc.Coverage.Notes)
	doc.Coverage.Sources = nonNil(doc.Coverage.Sources)
	doc.Coverage.BucketsWithoutDataEvents = nonNil(doc.Coverage.BucketsWithoutDataEvents)
	doc.Coverage.Gaps = nonNil(doc.Coverage.Gaps)
	doc.Evidence.Objects = nonNil(doc.Evidence.Objects)
	doc.Evidence.Commands = nonNil(doc.Evidence.Commands)
	doc.Evidence.Queries = nonNil(doc.Evidence.Queries)
	doc.Summary.Destinations = nonNil(doc.Summary.Destinations)
	doc.Findings = append([]Finding{}, doc.Findings...)
	for i := range doc.Findings {
		doc.Findings[i].AttackIDs = nonNil(doc.Findings[i].AttackIDs)
		if len(doc.Findings[i].Evidence) > 0 && !json.Valid(doc.Findings[i].Evidence) {
			// Never emit broken JSON: keep invalid evidence as a string.
			b, _ := json.Marshal(string(doc.Findings[i].Evidence))
			doc.Findings[i].Evidence = b
		}
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return bw.Flush()
}

// clean removes control characters (keeping none: newlines and tabs become
// spaces), bidirectional overrides and invalid UTF-8 from log text.
func clean(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if badRune(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		case badRune(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func badRune(r rune) bool {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return true
	}
	return unicode.Is(unicode.Cf, r) && r != 0x200d
}

// mdReplacer escapes everything Markdown or embedded HTML would interpret.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	"#", `\#`, "~", `\~`, "!", `\!`, "&", "&amp;", "<", "&lt;", ">", "&gt;",
)

// MD makes log text inert in Markdown (and in the HTML Markdown becomes):
// control characters are stripped and syntax characters escaped.
func MD(s string) string { return mdReplacer.Replace(clean(s)) }

// mdCode renders a value as inline code when it is free of backticks and
// would not need escaping, else as escaped text.
func mdCode(s string) string {
	s = clean(s)
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "`|<>&\\") {
		return MD(s)
	}
	return "`" + s + "`"
}

func mdTime(t time.Time) string { return fmtTime(t) }

// RenderFindingsCSV writes the findings as CSV; every cell is
// spreadsheet-safe and free of control characters.
func RenderFindingsCSV(w io.Writer, d *Document) error {
	cw := csv.NewWriter(w)
	cell := func(s string) string { return query.SpreadsheetSafe(clean(s)) }
	if err := cw.Write([]string{"event_time", "severity", "detection_id", "title", "actor_arn", "source_ip", "operation", "resource", "attack_ids"}); err != nil {
		return err
	}
	for _, f := range d.Findings {
		rec := []string{f.EventTime.UTC().Format(time.RFC3339), cell(f.Severity), cell(f.DetectionID), cell(f.Title), cell(f.ActorARN),
			cell(f.SourceIP), cell(f.Operation), cell(f.Resource), cell(strings.Join(f.AttackIDs, " "))}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RenderMarkdown writes the Document as GitHub-flavoured Markdown.
func RenderMarkdown(w io.Writer, d *Document) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	title := d.Title
	if title == "" {
		title = "Data-leak forensic report"
	}
	p("# %s\n\n", MD(title))
	pv := d.Provenance
	p("_Generated %s by %s %s, rule catalog %s._\n\n", mdTime(pv.GeneratedAt), MD(orDash(pv.Tool)), MD(orDash(pv.ToolVersion)), MD(orDash(pv.CatalogVersion)))

	p("## Executive summary\n\n")
	for _, s := range d.Sentences() {
		p("%s\n\n", MD(s))
	}
	for _, n := range d.Summary.Notes {
		p("- %s\n", MD(n))
	}
	if len(d.Summary.Notes) > 0 {
		p("\n")
	}
	p("| key number | value |\n|---|---:|\n")
	for _, kv := range keyNumbers(d) {
		p("| %s | %s |\n", kv[0], MD(kv[1]))
	}
	p("\n")

	sc := d.Scope
	p("## Scope\n\nWindow: %s to %s.\n\n", mdTime(sc.Window.Start), mdTime(sc.Window.End))
	table(bw, "Principals", []string{"ARN", "type", "AI service", "first seen", "last seen"}, len(sc.Principals), func(i int) []string {
		x := sc.Principals[i]
		return []string{mdCode(x.ARN), MD(x.Type), MD(orDash(string(x.AIService))), mdTime(x.FirstSeen), mdTime(x.LastSeen)}
	})
	p("Access keys: %s\n\nSource addresses: %s\n\n", mdList(sc.AccessKeys), mdList(sc.SourceIPs))
	table(bw, "Objects read", []string{"object", "bytes", "first seen", "last seen", "evidence"}, len(sc.Objects), func(i int) []string {
		x := sc.Objects[i]
		return []string{mdCode(x.URI), groupDigits(x.Bytes), mdTime(x.FirstSeen), mdTime(x.LastSeen), MD(strings.Join(x.Evidence, ", "))}
	})
	table(bw, "Transfers", []string{"time", "kind", "source", "destination", "regions", "account", "bytes", "evidence"}, len(sc.Transfers), func(i int) []string {
		x := sc.Transfers[i]
		return []string{mdTime(x.Time), MD(x.Kind), mdCode(x.Source), mdCode(x.Destination), MD(arrow(x.SourceRegion, x.DestinationRegion)), MD(x.Account), groupDigits(x.Bytes), MD(strings.Join(x.Evidence, ", "))}
	})
	table(bw, "Network egress", []string{"interface", "source", "destination", "port", "bytes", "first seen", "last seen"}, len(sc.NetworkEgress), func(i int) []string {
		x := sc.NetworkEgress[i]
		return []string{MD(x.Interface), MD(x.SrcIP), MD(x.DstIP), fmt.Sprint(x.DstPort), groupDigits(x.Bytes), mdTime(x.FirstSeen), mdTime(x.LastSeen)}
	})

	p("## Findings\n\n")
	table(bw, "", []string{"time", "severity", "detection", "title", "actor", "source IP", "operation", "resource", "ATT&CK"}, len(d.Findings), func(i int) []string {
		x := d.Findings[i]
		return []string{mdTime(x.EventTime), MD(x.Severity), mdCode(x.DetectionID), MD(x.Title), mdCode(x.ActorARN), MD(x.SourceIP), MD(x.Operation), mdCode(x.Resource), MD(strings.Join(x.AttackIDs, ", "))}
	})

	p("## Key timeline events\n\n")
	table(bw, "", []string{"time", "source", "actor", "source IP", "action", "resource", "bytes", "note"}, len(d.Timeline), func(i int) []string {
		x := d.Timeline[i]
		return []string{mdTime(x.Time), MD(x.Source), mdCode(x.Actor), MD(x.SourceIP), MD(x.Action), mdCode(x.Resource), bytesCell(x.Bytes), MD(x.Note)}
	})

	p("## Coverage and gaps\n\n")
	for _, n := range d.Coverage.Notes {
		p("- %s\n", MD(n))
	}
	if len(d.Coverage.Notes) > 0 {
		p("\n")
	}
	p("Records quarantined: %s.\n\n", groupDigits(d.Coverage.Quarantined))
	table(bw, "Sources", []string{"source", "objects", "rows", "first", "last"}, len(d.Coverage.Sources), func(i int) []string {
		x := d.Coverage.Sources[i]
		return []string{MD(x.Source), groupDigits(x.Objects), groupDigits(x.Rows), mdTime(x.First), mdTime(x.Last)}
	})
	p("Buckets without data events: %s\n\n", mdList(d.Coverage.BucketsWithoutDataEvents))
	table(bw, "Hours with no logs", []string{"source", "from", "to"}, len(d.Coverage.Gaps), func(i int) []string {
		x := d.Coverage.Gaps[i]
		return []string{MD(x.Source), mdTime(x.Start), mdTime(x.End)}
	})

	p("## Log integrity\n\n")
	if v := d.Verification; v == nil {
		p("Not verified: run `leakscope verify` over the original log folders.\n\n")
	} else {
		s := v.Summary
		p("Verdict: **%s**. Digests: %d of %d valid (%d bad signature, %d unverifiable). Log files: %d of %d valid (%d missing, %d modified, %d unlisted). Chain breaks: %d. Objects changed since acquisition: %d, gone: %d.\n\n",
			MD(strings.ToUpper(v.Verdict)), s.DigestsValid, s.Digests, s.DigestsBadSignature, s.DigestsUnverifiable, s.LogsValid, s.LogFiles, s.LogsMissing, s.LogsModified, s.LogsUnlisted, s.ChainBreaks, s.ObjectsChanged, s.ObjectsGone)
		for _, x := range v.Problems {
			p("- %s\n", MD(x))
		}
		if len(v.Problems) > 0 {
			p("\n")
		}
	}

	p("## Evidence appendix\n\n")
	table(bw, "Acquired objects", []string{"object", "table", "size", "SHA-256", "ETag / version", "read", "written", "quarantined", "duplicates", "status"}, len(d.Evidence.Objects), func(i int) []string {
		x := d.Evidence.Objects[i]
		return []string{mdCode(x.URI), MD(x.Table), groupDigits(x.Size), mdCode(x.SHA256), MD(strings.Trim(x.ETag+" "+x.VersionID, " ")), groupDigits(x.RecordsRead), groupDigits(x.RowsWritten), groupDigits(x.Quarantined), groupDigits(x.Duplicates), MD(x.Status)}
	})
	if len(d.Evidence.Commands) > 0 {
		p("### Reproduce\n\n")
		for _, c := range d.Evidence.Commands {
			p("%s\n", fence(c, "sh"))
		}
	}
	for _, q := range d.Evidence.Queries {
		p("### Query: %s\n\n%s\n", MD(q.Name), fence(q.SQL, "sql"))
	}
	p("## Provenance\n\n")
	p("- Tool: %s %s\n- Rule catalog: %s\n- Generated at: %s\n", MD(pv.Tool), MD(pv.ToolVersion), MD(pv.CatalogVersion), mdTime(pv.GeneratedAt))
	if pv.Lake != "" {
		p("- Lake: %s\n", mdCode(pv.Lake))
	}
	if pv.Command != "" {
		p("- Command: %s\n", mdCode(pv.Command))
	}
	for _, s := range pv.Seeds {
		p("- Seed %s: %s\n", MD(s.Kind), mdCode(s.Value))
	}
	p("\n")
	table(bw, "Input hashes", []string{"input", "SHA-256", "size"}, len(pv.Inputs), func(i int) []string {
		x := pv.Inputs[i]
		return []string{mdCode(x.Name), mdCode(x.SHA256), groupDigits(x.Size)}
	})
	return bw.Flush()
}

// fence puts text in a code fence longer than any backtick run inside it;
// control characters other than newlines are stripped.
func fence(s, lang string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(clean(line))
		b.WriteByte('\n')
	}
	body := b.String()
	ticks := "```"
	for strings.Contains(body, ticks) {
		ticks += "`"
	}
	return ticks + lang + "\n" + body + ticks + "\n"
}

func table(w io.Writer, caption string, head []string, n int, row func(int) []string) {
	if caption != "" {
		fmt.Fprintf(w, "### %s\n\n", caption)
	}
	if n == 0 {
		fmt.Fprintf(w, "None.\n\n")
		return
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for i := range n {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row(i), " | "))
	}
	fmt.Fprintln(w)
}

func mdList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = mdCode(x)
	}
	return strings.Join(out, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func arrow(a, b string) string {
	if a == "" && b == "" {
		return ""
	}
	return orDash(a) + " → " + orDash(b)
}

func bytesCell(n int64) string {
	if n == 0 {
		return ""
	}
	return groupDigits(n)
}

// keyNumbers are the headline figures shown in every format.
func keyNumbers(d *Document) [][2]string {
	s := d.Summary
	sev := s.Severity
	if sev == "" {
		sev = "none"
	}
	verdict := "not run"
	if d.Verification != nil {
		verdict = d.Verification.Verdict
	}
	return [][2]string{
		{"Principals", groupDigits(int64(s.Principals))},
		{"AI principals", groupDigits(int64(s.AIPrincipals))},
		{"Objects read", groupDigits(s.Objects)},
		{"Bytes read", HumanBytes(s.BytesRead) + " (" + groupDigits(s.BytesRead) + ")"},
		{"Bytes transferred", HumanBytes(s.BytesMoved) + " (" + groupDigits(s.BytesMoved) + ")"},
		{"Bytes egress", HumanBytes(s.BytesEgress) + " (" + groupDigits(s.BytesEgress) + ")"},
		{"Destinations", groupDigits(int64(len(s.Destinations)))},
		{"Findings", groupDigits(int64(s.Findings))},
		{"Highest severity", sev},
		{"Log integrity", verdict},
	}
}
