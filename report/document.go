package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/report/integrity"
)

// Document is the canonical report; every renderer draws from it alone.
type Document struct {
	Title        string          `json:"title"`
	Provenance   Provenance      `json:"provenance"`
	Summary      Summary         `json:"summary"`
	Scope        Scope           `json:"scope"`
	Findings     []Finding       `json:"findings"`
	Timeline     []TimelineEvent `json:"timeline"`
	Charts       Charts          `json:"charts"`
	Coverage     Coverage        `json:"coverage"`
	Evidence     Evidence        `json:"evidence"`
	Verification *Verification   `json:"verification"` // nil: verify was not run
}

// Provenance says what produced the report from what.
type Provenance struct {
	Tool           string      `json:"tool"`
	ToolVersion    string      `json:"tool_version"`
	CatalogVersion string      `json:"catalog_version"`
	GeneratedAt    time.Time   `json:"generated_at"` // supplied by the caller
	Lake           string      `json:"lake,omitempty"`
	Command        string      `json:"command,omitempty"` // the command line that produced the report
	Seeds          []Seed      `json:"seeds"`
	Since          time.Time   `json:"since,omitzero"`
	Until          time.Time   `json:"until,omitzero"`
	Inputs         []InputHash `json:"inputs"`
}

// Seed is one investigation seed (--principal, --access-key, --ip, --bucket).
type Seed struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// InputHash identifies one input of the report by content.
type InputHash struct {
	Name   string `json:"name"` // a lake file, manifest, rule catalog, ...
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
}

// Summary is the executive summary: a caller-written headline and the
// key numbers the plain-language sentences are built from (Sentences).
type Summary struct {
	Headline      string         `json:"headline,omitempty"`
	Severity      string         `json:"severity,omitempty"` // highest finding severity
	FirstActivity time.Time      `json:"first_activity,omitzero"`
	LastActivity  time.Time      `json:"last_activity,omitzero"`
	Principals    int            `json:"principals"`
	AIPrincipals  int            `json:"ai_principals"`
	AccessKeys    int            `json:"access_keys"`
	SourceIPs     int            `json:"source_ips"`
	Buckets       int            `json:"buckets"`
	Objects       int64          `json:"objects"`
	BytesRead     int64          `json:"bytes_read"`
	Transfers     int            `json:"transfers"`
	BytesMoved    int64          `json:"bytes_transferred"`
	BytesEgress   int64          `json:"bytes_egress"`
	Destinations  []string       `json:"destinations"` // external accounts, regions and addresses data went to
	Findings      int            `json:"findings"`
	BySeverity    map[string]int `json:"findings_by_severity"`
	Notes         []string       `json:"notes,omitempty"`
}

// Finding is one detection hit (the lake's findings columns).
type Finding struct {
	FindingID   string          `json:"finding_id,omitempty"`
	DetectionID string          `json:"detection_id"`
	Title       string          `json:"title"`
	Severity    string          `json:"severity"`
	EventTime   time.Time       `json:"event_time"`
	ActorARN    string          `json:"actor_arn"`
	SourceIP    string          `json:"source_ip"`
	Operation   string          `json:"operation"`
	Resource    string          `json:"resource"`
	AttackIDs   []string        `json:"attack_ids"`
	Evidence    json.RawMessage `json:"evidence,omitempty"`
}

// TimelineEvent is one key event of the story.
type TimelineEvent struct {
	Time     time.Time `json:"time"`
	Source   string    `json:"source"` // cloudtrail, s3_access, vpc_flow, finding
	Actor    string    `json:"actor,omitempty"`
	SourceIP string    `json:"source_ip,omitempty"`
	Action   string    `json:"action"`
	Resource string    `json:"resource,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// Charts holds the series the charts draw.
type Charts struct {
	// Activity is events per time bucket, one series per source.
	Activity []Series `json:"activity"`
	// Egress is bytes out per time bucket, one series per destination.
	Egress []Series `json:"egress"`
	// Paths link identity → session → data → destination.
	Paths []Path `json:"paths"`
}

// Series is one line of a chart.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Point is one value at one time.
type Point struct {
	Time  time.Time `json:"time"`
	Value int64     `json:"value"`
}

// Path is one route data took: who, with which session or key, read what,
// and where it went.
type Path struct {
	Identity    string `json:"identity"`
	Session     string `json:"session"`
	Data        string `json:"data"`
	Destination string `json:"destination"`
	Bytes       int64  `json:"bytes"`
}

// Coverage says what the evidence can and cannot show.
type Coverage struct {
	Notes                    []string         `json:"notes"`
	Sources                  []SourceCoverage `json:"sources"`
	BucketsWithoutDataEvents []string         `json:"buckets_without_data_events"`
	Gaps                     []Gap            `json:"gaps"` // hours with no logs, per source
	Quarantined              int64            `json:"quarantined"`
}

// SourceCoverage is what the lake holds of one source.
type SourceCoverage struct {
	Source  string    `json:"source"`
	Objects int64     `json:"objects"`
	Rows    int64     `json:"rows"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
}

// Gap is a period with no logs from one source.
type Gap struct {
	Source string    `json:"source"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// Evidence is the appendix: what was read and how to reproduce it.
type Evidence struct {
	Objects  []EvidenceObject `json:"objects"`
	Commands []string         `json:"commands"`
	Queries  []Query          `json:"queries"`
}

// EvidenceObject is one acquired log object (an ingest manifest entry).
type EvidenceObject struct {
	URI         string `json:"uri"`
	Table       string `json:"table,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ETag        string `json:"etag,omitempty"`
	VersionID   string `json:"version_id,omitempty"`
	RecordsRead int64  `json:"records_read"`
	RowsWritten int64  `json:"rows_written"`
	Quarantined int64  `json:"quarantined"`
	Duplicates  int64  `json:"duplicates"`
	Status      string `json:"status"`
}

// Query is one query the report's numbers come from.
type Query struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// Verification is the verdict of "leakscope verify" over the sources.
type Verification struct {
	Verdict  string            `json:"verdict"` // valid or invalid
	Sources  []string          `json:"sources"`
	Summary  integrity.Summary `json:"summary"`
	Problems []string          `json:"problems"`
	Notes    []string          `json:"notes,omitempty"`
}

// VerificationFrom condenses an integrity result for the report.
func VerificationFrom(r *integrity.Result) *Verification {
	if r == nil {
		return nil
	}
	return &Verification{Verdict: r.Verdict, Sources: r.Sources, Summary: r.Summary, Problems: r.Problems(), Notes: r.Notes}
}

// EvidenceFromManifest lists manifest entries as evidence objects.
func EvidenceFromManifest(entries []ingest.Entry) []EvidenceObject {
	out := make([]EvidenceObject, 0, len(entries))
	for _, e := range entries {
		out = append(out, EvidenceObject{URI: e.URI, Table: e.Table, Size: e.Size, SHA256: e.SHA256, ETag: e.ETag, VersionID: e.VersionID,
			RecordsRead: e.RecordsRead, RowsWritten: e.RowsWritten, Quarantined: e.Quarantined, Duplicates: e.Duplicates, Status: e.Status})
	}
	return out
}

// severityRank orders severities, highest first.
var severityRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4, "informational": 4}

func rankOf(s string) int {
	if r, ok := severityRank[strings.ToLower(s)]; ok {
		return r
	}
	return 5
}

// Summarize fills the numbers of the executive summary from the scope and
// findings; the caller's Headline and Notes are kept.
func (d *Document) Summarize() {
	s := &d.Summary
	sc := d.Scope
	s.Principals, s.AccessKeys, s.SourceIPs = len(sc.Principals), len(sc.AccessKeys), len(sc.SourceIPs)
	s.AIPrincipals = 0
	for _, p := range sc.Principals {
		if p.AIService != "" {
			s.AIPrincipals++
		}
	}
	buckets := map[string]bool{}
	for _, o := range sc.Objects {
		if b, ok := bucketOf(o.URI); ok {
			buckets[b] = true
		}
	}
	s.Buckets = len(buckets)
	s.Objects, s.BytesRead = sc.Totals.Objects, sc.Totals.BytesRead
	if s.Objects == 0 {
		s.Objects = int64(len(sc.Objects))
	}
	s.Transfers, s.BytesMoved, s.BytesEgress = len(sc.Transfers), sc.Totals.BytesTransferred, sc.Totals.BytesEgress
	dest := map[string]bool{}
	for _, t := range sc.Transfers {
		if t.Destination != "" {
			dest[t.Destination] = true
		}
	}
	for _, e := range sc.NetworkEgress {
		if e.DstIP != "" {
			dest[e.DstIP] = true
		}
	}
	s.Destinations = sortedSet(dest)
	s.FirstActivity, s.LastActivity = sc.Window.Start, sc.Window.End
	s.Findings = len(d.Findings)
	s.BySeverity = map[string]int{}
	s.Severity = ""
	for _, f := range d.Findings {
		sev := strings.ToLower(f.Severity)
		s.BySeverity[sev]++
		if s.Severity == "" || rankOf(sev) < rankOf(s.Severity) {
			s.Severity = sev
		}
	}
}

func bucketOf(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", false
	}
	b, _, _ := strings.Cut(rest, "/")
	return b, b != ""
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sentences is the executive summary in plain language, the same in
// every format.
func (d *Document) Sentences() []string {
	s := d.Summary
	var out []string
	if s.Headline != "" {
		out = append(out, s.Headline)
	}
	when := ""
	if !s.FirstActivity.IsZero() {
		when = fmt.Sprintf("Between %s and %s, ", fmtTime(s.FirstActivity), fmtTime(s.LastActivity))
	}
	who := plural(s.Principals, "principal", "principals")
	if s.AIPrincipals > 0 {
		if s.AIPrincipals == 1 {
			who += " (1 of them an AI workload)"
		} else {
			who += fmt.Sprintf(" (%d of them AI workloads)", s.AIPrincipals)
		}
	}
	out = append(out, fmt.Sprintf("%s read %s (%s) from %s, using %s from %s.",
		capitalise(when, who), plural(int(s.Objects), "object", "objects"), HumanBytes(s.BytesRead),
		plural(s.Buckets, "bucket", "buckets"), plural(s.AccessKeys, "access key", "access keys"), plural(s.SourceIPs, "source address", "source addresses")))
	if s.Transfers > 0 || s.BytesEgress > 0 {
		out = append(out, fmt.Sprintf("%s moved data across account or region boundaries (%s), and %s left over the network to %s.",
			plural(s.Transfers, "transfer", "transfers"), HumanBytes(s.BytesMoved), HumanBytes(s.BytesEgress), plural(len(s.Destinations), "destination", "destinations")))
	} else {
		out = append(out, "No transfer out of the account or region and no network egress was found.")
	}
	if s.Findings > 0 {
		var parts []string
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			if n := s.BySeverity[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		for _, sev := range sortedKeys(s.BySeverity) {
			if rankOf(sev) == 5 || sev == "informational" {
				parts = append(parts, fmt.Sprintf("%d %s", s.BySeverity[sev], sev))
			}
		}
		out = append(out, fmt.Sprintf("The detection catalog raised %s: %s.", plural(s.Findings, "finding", "findings"), strings.Join(parts, ", ")))
	} else {
		out = append(out, "The detection catalog raised no findings.")
	}
	switch v := d.Verification; {
	case v == nil:
		out = append(out, "Log integrity was not verified for this report.")
	case v.Verdict == integrity.Valid:
		out = append(out, fmt.Sprintf("Log integrity verified: %d of %d CloudTrail digests and %d of %d log files are valid, with no chain break.",
			v.Summary.DigestsValid, v.Summary.Digests, v.Summary.LogsValid, v.Summary.LogFiles))
	default:
		out = append(out, fmt.Sprintf("Log integrity did NOT verify: %s (%d of %d digests and %d of %d log files valid, %d chain breaks); treat affected evidence with care.",
			plural(len(v.Problems), "problem", "problems"), v.Summary.DigestsValid, v.Summary.Digests, v.Summary.LogsValid, v.Summary.LogFiles, v.Summary.ChainBreaks))
	}
	if n := len(d.Coverage.Gaps) + len(d.Coverage.BucketsWithoutDataEvents); n > 0 || d.Coverage.Quarantined > 0 {
		out = append(out, fmt.Sprintf("Coverage is incomplete: %s with no logs, %s without data events, %s quarantined.",
			plural(len(d.Coverage.Gaps), "gap", "gaps"), plural(len(d.Coverage.BucketsWithoutDataEvents), "bucket", "buckets"), plural(int(d.Coverage.Quarantined), "record", "records")))
	}
	return out
}

func capitalise(when, who string) string {
	if when != "" {
		return when + who
	}
	return strings.ToUpper(who[:1]) + who[1:]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return groupDigits(int64(n)) + " " + many
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// HumanBytes writes a byte count with a binary unit: 3.4 GiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
