package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/detections"
	"github.com/leakscope/leakscope/detections/scope"
	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/query"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/report/integrity"
)

type reportConfig struct {
	lake       string
	seeds      seedFlags
	out        string
	format     string
	config     string
	ipRanges   string
	verify     []string
	publicKeys []string
	signatures string
	title      string
}

func reportCommand() command {
	return command{
		name:    "report",
		args:    "--out FILE",
		summary: "write the forensic report (HTML, Markdown or JSON) of a leak: scope, findings, timeline, coverage and evidence",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &reportConfig{}
			lakeFlag(fs, e, &c.lake)
			c.seeds.register(fs)
			fs.StringVarP(&c.out, "out", "o", "", "report file; its extension (.html, .md, .json) picks the format")
			fs.Var(&enumValue{val: &c.format, allowed: []string{"", "html", "md", "json"}}, "format", "html|md|json (default: from --out)")
			fs.StringVar(&c.config, "config", "", "scope configuration (AI principal patterns, inventory)")
			fs.StringVar(&c.ipRanges, "aws-ip-ranges", "", "AWS ip-ranges.json: AWS addresses are never egress destinations")
			fs.StringArrayVar(&c.verify, "verify", nil, "also verify the CloudTrail digest chain of this log folder (repeatable)")
			fs.StringArrayVar(&c.publicKeys, "public-keys", nil, "CloudTrail public keys for --verify (aws cloudtrail list-public-keys output)")
			fs.StringVar(&c.signatures, "signatures", "", "digest signatures for --verify")
			fs.StringVar(&c.title, "title", "", "report title")
			return func(ctx context.Context, args []string) error {
				if len(args) != 0 {
					return usageErrorf("report: unexpected argument %q; seeds are flags (--access-key, --principal, --ip, --bucket)", args[0])
				}
				if c.out == "" {
					return usageErrorf("report: --out FILE is required (e.g. --out report.html)")
				}
				if c.format == "" {
					switch strings.ToLower(filepath.Ext(c.out)) {
					case ".html", ".htm":
						c.format = "html"
					case ".md", ".markdown":
						c.format = "md"
					case ".json":
						c.format = "json"
					default:
						return usageErrorf("report: cannot tell the format from %q: use .html, .md or .json, or --format", c.out)
					}
				}
				return runReport(ctx, e, c)
			}
		},
	}
}

func runReport(ctx context.Context, e *env, c *reportConfig) error {
	seeds, err := c.seeds.seeds()
	if err != nil {
		return err
	}
	eng, err := openLake(ctx, c.lake)
	if err != nil {
		return err
	}
	defer eng.Close()
	doc, err := buildReport(ctx, e, eng, c, seeds)
	if err != nil {
		return err
	}
	if err := writeOutput(e, c.out, func(w io.Writer) error {
		switch c.format {
		case "md":
			return report.RenderMarkdown(w, doc)
		case "json":
			return report.RenderJSON(w, doc)
		default:
			return report.RenderHTML(w, doc)
		}
	}); err != nil {
		return err
	}
	abs, _ := filepath.Abs(c.out)
	_, err = fmt.Fprintf(e.stdout, "report written to %s\n", terminalSafe(abs))
	return err
}

// buildReport assembles the canonical report document from the lake.
func buildReport(ctx context.Context, e *env, eng *query.Engine, c *reportConfig, seeds query.Seeds) (*report.Document, error) {
	doc := &report.Document{Title: c.title}
	if doc.Title == "" {
		doc.Title = "leakscope forensic report"
	}
	var res *scope.Result
	if !seeds.Empty() {
		opt := scope.Options{}
		if c.config != "" {
			cfg, err := scope.LoadConfig(c.config)
			if err != nil {
				return nil, usageErrorf("report: --config: %v", err)
			}
			opt.Config = cfg
		}
		if c.ipRanges != "" {
			r, err := scope.LoadIPRanges(c.ipRanges)
			if err != nil {
				return nil, usageErrorf("report: --aws-ip-ranges: %v", err)
			}
			opt.AWSRanges = r
		}
		r, err := scope.Build(ctx, eng, seeds, opt)
		if err != nil && !errors.Is(err, scope.ErrNoEvidence) {
			return nil, fmt.Errorf("report: scope: %w", err)
		}
		res = r
	}
	start, end := seeds.Since, seeds.Until
	if res != nil {
		doc.Scope = res.Scope
		start, end = res.Scope.Window.Start, res.Scope.Window.End
		doc.Coverage.Notes = append(doc.Coverage.Notes, res.Notes...)
	} else {
		doc.Scope.Window = report.Window{Start: start, End: end}
	}

	var err error
	if doc.Findings, err = reportFindings(ctx, eng, start, end); err != nil {
		return nil, err
	}
	if res != nil {
		if err := reportTimeline(ctx, eng, seeds, start, end, doc); err != nil {
			return nil, err
		}
		doc.Charts.Paths = scopePaths(doc.Scope)
		if err := egressSeries(ctx, eng, doc); err != nil {
			return nil, err
		}
	}
	if err := reportCoverage(ctx, eng, start, end, doc); err != nil {
		return nil, err
	}
	man, err := ingest.LoadManifest(eng.Lake())
	if err != nil {
		return nil, err
	}
	entries := man.Entries()
	doc.Evidence.Objects = report.EvidenceFromManifest(entries)
	doc.Evidence.Commands, doc.Evidence.Queries = reproduce(eng.Lake(), seeds, start, end)

	rules, _ := detections.Catalog()
	doc.Provenance = report.Provenance{
		Tool:           "leakscope",
		ToolVersion:    version,
		CatalogVersion: catalogVersion(rules),
		GeneratedAt:    generatedAt(e),
		Lake:           eng.Lake(),
		Command:        "leakscope report " + strings.Join(reportArgs(c), " "),
		Since:          start,
		Until:          end,
		Inputs:         []report.InputHash{manifestHash(entries)},
	}
	for _, kv := range []struct {
		kind string
		vals []string
	}{{"principal", seeds.Principals}, {"access-key", seeds.AccessKeys}, {"ip", seeds.IPs}, {"bucket", seeds.Buckets}, {"object", seeds.Objects}} {
		for _, v := range kv.vals {
			doc.Provenance.Seeds = append(doc.Provenance.Seeds, report.Seed{Kind: kv.kind, Value: v})
		}
	}
	if len(c.verify) > 0 {
		opt := integrity.Options{Lake: eng.Lake()}
		for _, f := range c.publicKeys {
			keys, err := loadWith(f, integrity.LoadPublicKeys)
			if err != nil {
				return nil, usageErrorf("report: --public-keys %s: %v", f, err)
			}
			opt.Keys = append(opt.Keys, keys...)
		}
		if c.signatures != "" {
			sigs, err := loadWith(c.signatures, integrity.LoadSignatures)
			if err != nil {
				return nil, usageErrorf("report: --signatures: %v", err)
			}
			opt.Signatures = sigs
		}
		vr, err := integrity.Verify(ctx, c.verify, opt)
		if err != nil {
			return nil, fmt.Errorf("report: verify: %w", err)
		}
		doc.Verification = report.VerificationFrom(vr)
	}
	doc.Summarize()
	return doc, nil
}

// loadWith opens file and decodes it with load.
func loadWith[T any](file string, load func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(file)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return load(f)
}

// generatedAt is the report time: $SOURCE_DATE_EPOCH when set (for
// reproducible reports), else now.
func generatedAt(e *env) time.Time {
	if s := e.getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

func reportArgs(c *reportConfig) []string {
	var a []string
	add := func(flag string, vals ...string) {
		for _, v := range vals {
			a = append(a, flag, shellQuote(v))
		}
	}
	add("--lake", c.lake)
	add("--principal", c.seeds.principals...)
	add("--access-key", c.seeds.accessKeys...)
	add("--ip", c.seeds.ips...)
	add("--bucket", c.seeds.buckets...)
	if c.seeds.since != "" {
		add("--since", c.seeds.since)
	}
	if c.seeds.until != "" {
		add("--until", c.seeds.until)
	}
	add("--out", c.out)
	return a
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func catalogVersion(rules []detections.Rule) string {
	h := sha256.New()
	for _, r := range rules {
		b, _ := json.Marshal(r.Meta)
		h.Write(b)
		h.Write([]byte(r.SQL))
	}
	return fmt.Sprintf("%d rules, sha256:%s", len(rules), hex.EncodeToString(h.Sum(nil))[:16])
}

func manifestHash(entries []ingest.Entry) report.InputHash {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\t%d\t%s\n", e.URI, e.Size, e.SHA256)
	}
	return report.InputHash{Name: fmt.Sprintf("ingest manifest (%d objects)", len(entries)), SHA256: hex.EncodeToString(h.Sum(nil))}
}

func windowArgs(start, end time.Time) (time.Time, time.Time) {
	if start.IsZero() {
		start = time.Unix(0, 0).UTC()
	}
	if end.IsZero() {
		end = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return start, end
}

// reportFindings reads the recorded findings of the window; when detect
// has not recorded any, the catalog runs in memory for the report.
func reportFindings(ctx context.Context, eng *query.Engine, start, end time.Time) ([]report.Finding, error) {
	s, t := windowArgs(start, end)
	rows, err := eng.Query(ctx, `SELECT detection_id, title, severity, event_time, coalesce(actor_arn, ''), coalesce(source_ip, ''),
		coalesce(operation, ''), coalesce(resource, ''), coalesce(attack_ids, ''), coalesce(evidence, ''), finding_id
		FROM findings WHERE event_time BETWEEN ? AND ? ORDER BY event_time, finding_id`, s, t)
	if err != nil {
		return nil, fmt.Errorf("report: findings: %w", err)
	}
	defer rows.Close()
	var out []report.Finding
	for rows.Next() {
		var f report.Finding
		var attack, evidence string
		if err := rows.Scan(&f.DetectionID, &f.Title, &f.Severity, &f.EventTime, &f.ActorARN, &f.SourceIP, &f.Operation, &f.Resource, &attack, &evidence, &f.FindingID); err != nil {
			return nil, err
		}
		f.AttackIDs = splitIDs(attack)
		if json.Valid([]byte(evidence)) {
			f.Evidence = json.RawMessage(evidence)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		return sortFindings(out), nil
	}
	rules, err := detections.Catalog()
	if err != nil {
		return nil, err
	}
	fs, _, err := detections.RunAll(ctx, eng.DB(), rules, detections.Window{Start: s, End: t})
	if err != nil {
		return nil, fmt.Errorf("report: detections: %w", err)
	}
	for _, f := range fs {
		rf := report.Finding{FindingID: f.FindingID, DetectionID: f.DetectionID, Title: f.Title, Severity: f.Severity,
			EventTime: f.Time(), ActorARN: f.ActorARN, SourceIP: f.SourceIP, Operation: f.Operation, Resource: f.Resource,
			AttackIDs: splitIDs(f.AttackIDs)}
		if json.Valid([]byte(f.Evidence)) {
			rf.Evidence = json.RawMessage(f.Evidence)
		}
		out = append(out, rf)
	}
	return sortFindings(out), nil
}

func sortFindings(fs []report.Finding) []report.Finding {
	slices.SortStableFunc(fs, func(a, b report.Finding) int {
		if d := detections.SeverityRank(b.Severity) - detections.SeverityRank(a.Severity); d != 0 {
			return d
		}
		return a.EventTime.Compare(b.EventTime)
	})
	return fs
}

func splitIDs(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readActions are bulk data-plane calls a report timeline summarises.
var readActions = map[string]bool{"GetObject": true, "REST.GET.OBJECT": true, "HeadObject": true, "REST.HEAD.OBJECT": true, "ListObjects": true, "ListObjectsV2": true}

// reportTimeline keeps the key events of the seeds' timeline (every call
// that is not a bulk read, plus the first and last read of each actor)
// and builds the activity and egress charts from all of it.
func reportTimeline(ctx context.Context, eng *query.Engine, seeds query.Seeds, start, end time.Time, doc *report.Document) error {
	seeds.Since, seeds.Until = start, end
	tl, err := eng.Timeline(ctx, query.TimelineOptions{Seeds: seeds})
	if err != nil {
		return fmt.Errorf("report: timeline: %w", err)
	}
	egressDst := map[string]bool{}
	for _, g := range doc.Scope.NetworkEgress {
		egressDst[g.DstIP] = true
	}
	type key struct {
		series string
		hour   time.Time
	}
	activity := map[key]int64{}
	egress := map[key]int64{}
	lastRead := map[string]int{}
	firstRead := map[string]bool{}
	for _, r := range tl.Rows {
		hour := r.Time.UTC().Truncate(time.Hour)
		activity[key{r.Source, hour}]++
		if r.Source == "vpc_flow" && egressDst[r.Destination] && r.Bytes != nil {
			egress[key{r.Destination, hour}] += *r.Bytes
		}
		ev := report.TimelineEvent{Time: r.Time, Source: r.Source, Actor: r.Actor, SourceIP: r.SourceIP, Action: r.Action, Resource: r.Target, Note: r.Description}
		if r.Bytes != nil {
			ev.Bytes = *r.Bytes
		}
		switch {
		case r.Source == "vpc_flow":
			continue // summarised by the egress table and chart
		case readActions[r.Action]:
			k := r.Actor + "|" + r.Source
			if !firstRead[k] {
				firstRead[k] = true
				ev.Note = "first read: " + ev.Note
				doc.Timeline = append(doc.Timeline, ev)
			} else {
				lastRead[k] = len(doc.Timeline)
				doc.Timeline = append(doc.Timeline, ev)
			}
		default:
			doc.Timeline = append(doc.Timeline, ev)
		}
	}
	// Drop the middle of bulk reads: keep the first and the last.
	keep := map[int]bool{}
	for _, i := range lastRead {
		keep[i] = true
	}
	var key_ []report.TimelineEvent
	for i, ev := range doc.Timeline {
		if readActions[ev.Action] && !strings.HasPrefix(ev.Note, "first read: ") && !keep[i] {
			continue
		}
		if keep[i] {
			ev.Note = "last read: " + ev.Note
		}
		key_ = append(key_, ev)
	}
	doc.Timeline = key_
	for _, src := range query.Sources {
		var s report.Series
		s.Name = src
		for k, v := range activity {
			if k.series == src {
				s.Points = append(s.Points, report.Point{Time: k.hour, Value: v})
			}
		}
		if len(s.Points) > 0 {
			slices.SortFunc(s.Points, func(a, b report.Point) int { return a.Time.Compare(b.Time) })
			doc.Charts.Activity = append(doc.Charts.Activity, s)
		}
	}
	return nil
}

// egressSeries charts, per destination, the bytes each hour of the
// network egress in scope, from the flow records themselves.
func egressSeries(ctx context.Context, eng *query.Engine, doc *report.Document) error {
	s, t := windowArgs(doc.Scope.Window.Start, doc.Scope.Window.End)
	byDst := map[string]map[time.Time]int64{}
	for _, g := range doc.Scope.NetworkEgress {
		rows, err := eng.Query(ctx, `SELECT date_trunc('hour', start_time) AS h, sum(bytes) FROM vpc_flow
			WHERE start_time BETWEEN ? AND ? AND dst_addr = ? AND dst_port = ? AND (interface_id = ? OR src_addr = ?)
			GROUP BY h ORDER BY h`, s, t, g.DstIP, g.DstPort, g.Interface, g.SrcIP)
		if err != nil {
			return fmt.Errorf("report: egress chart: %w", err)
		}
		name := fmt.Sprintf("%s:%d", g.DstIP, g.DstPort)
		if byDst[name] == nil {
			byDst[name] = map[time.Time]int64{}
		}
		for rows.Next() {
			var h time.Time
			var n sql.NullInt64
			if err := rows.Scan(&h, &n); err != nil {
				rows.Close()
				return err
			}
			byDst[name][h.UTC()] += n.Int64
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(byDst) {
		ser := report.Series{Name: name}
		for h, v := range byDst[name] {
			ser.Points = append(ser.Points, report.Point{Time: h, Value: v})
		}
		slices.SortFunc(ser.Points, func(a, b report.Point) int { return a.Time.Compare(b.Time) })
		doc.Charts.Egress = append(doc.Charts.Egress, ser)
	}
	return nil
}

// scopePaths draws identity → session → data → destination for every
// transfer and egress of the scope: the identity is the first in-scope
// principal that is not a session, the session the in-scope session
// active when the data moved (an AI session for network egress).
func scopePaths(sc report.Scope) []report.Path {
	if len(sc.Principals) == 0 {
		return nil
	}
	identity := sc.Principals[0].ARN
	for _, p := range sc.Principals {
		if p.Type != report.PrincipalAssumedRole {
			identity = p.ARN
			break
		}
	}
	sessionAt := func(t time.Time, ai bool) string {
		for _, p := range sc.Principals {
			if p.Type != report.PrincipalAssumedRole || (ai && p.AIService == "") {
				continue
			}
			if t.IsZero() || (!t.Before(p.FirstSeen) && !t.After(p.LastSeen.Add(time.Hour))) {
				return p.ARN
			}
		}
		return ""
	}
	var out []report.Path
	for _, x := range sc.Transfers {
		who := sessionAt(x.Time, false)
		if x.Kind == report.TransferExternalRead {
			who = x.Destination // the outside reader
		}
		out = append(out, report.Path{Identity: identity, Session: who, Data: x.Source, Destination: x.Destination, Bytes: x.Bytes})
	}
	for _, g := range sc.NetworkEgress {
		out = append(out, report.Path{Identity: identity, Session: sessionAt(time.Time{}, true), Data: g.Interface + " (" + g.SrcIP + ")",
			Destination: fmt.Sprintf("%s:%d", g.DstIP, g.DstPort), Bytes: g.Bytes})
	}
	return out
}

// reportCoverage says what the lake holds per source, where it is silent
// and what it could not read.
func reportCoverage(ctx context.Context, eng *query.Engine, start, end time.Time, doc *report.Document) error {
	s, t := windowArgs(start, end)
	db := eng.DB()
	for _, src := range []struct{ table, col string }{{"cloudtrail", "event_time"}, {"s3_access", "event_time"}, {"vpc_flow", "start_time"}} {
		var sc report.SourceCoverage
		sc.Source = src.table
		var first, last sql.NullTime
		q := fmt.Sprintf(`SELECT count(*), count(DISTINCT source_uri), min(%[1]s), max(%[1]s) FROM %[2]s WHERE %[1]s BETWEEN ? AND ?`, src.col, src.table)
		if err := db.QueryRowContext(ctx, q, s, t).Scan(&sc.Rows, &sc.Objects, &first, &last); err != nil {
			return fmt.Errorf("report: coverage of %s: %w", src.table, err)
		}
		sc.First, sc.Last = first.Time, last.Time
		doc.Coverage.Sources = append(doc.Coverage.Sources, sc)
		if start.IsZero() || end.IsZero() || end.Sub(start) > 31*24*time.Hour {
			continue
		}
		// Hours of the window without a single record of this source.
		q = fmt.Sprintf(`SELECT DISTINCT date_trunc('hour', %[1]s) FROM %[2]s WHERE %[1]s BETWEEN ? AND ?`, src.col, src.table)
		rows, err := db.QueryContext(ctx, q, s, t)
		if err != nil {
			return err
		}
		have := map[time.Time]bool{}
		for rows.Next() {
			var h time.Time
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			have[h.UTC()] = true
		}
		rows.Close()
		var gap *report.Gap
		for h := start.UTC().Truncate(time.Hour); !h.After(end); h = h.Add(time.Hour) {
			if have[h] {
				gap = nil
				continue
			}
			if gap == nil {
				doc.Coverage.Gaps = append(doc.Coverage.Gaps, report.Gap{Source: src.table, Start: h, End: h.Add(time.Hour)})
				gap = &doc.Coverage.Gaps[len(doc.Coverage.Gaps)-1]
			} else {
				gap.End = h.Add(time.Hour)
			}
		}
	}
	// Buckets whose reads in scope come from server access logs only.
	seen := map[string]bool{}
	for _, o := range doc.Scope.Objects {
		if slices.Contains(o.Evidence, "cloudtrail") {
			continue
		}
		b := strings.TrimPrefix(o.URI, "s3://")
		if i := strings.IndexByte(b, '/'); i >= 0 {
			b = b[:i]
		}
		if !seen[b] {
			seen[b] = true
			doc.Coverage.BucketsWithoutDataEvents = append(doc.Coverage.BucketsWithoutDataEvents, b)
		}
	}
	slices.Sort(doc.Coverage.BucketsWithoutDataEvents)
	for _, b := range doc.Coverage.BucketsWithoutDataEvents {
		doc.Coverage.Notes = append(doc.Coverage.Notes, fmt.Sprintf("bucket %s has no CloudTrail data events for the reads in scope; they come from S3 server access logs only", b))
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM quarantine`).Scan(&doc.Coverage.Quarantined); err != nil {
		return fmt.Errorf("report: quarantine: %w", err)
	}
	if doc.Coverage.Quarantined > 0 {
		doc.Coverage.Notes = append(doc.Coverage.Notes, fmt.Sprintf("%d records could not be read and are quarantined (leakscope query \"SELECT * FROM quarantine\")", doc.Coverage.Quarantined))
	}
	return nil
}

// reproduce lists the commands and queries that show the evidence behind
// every number of the report.
func reproduce(lake string, seeds query.Seeds, start, end time.Time) ([]string, []report.Query) {
	var seedArgs []string
	for _, k := range seeds.AccessKeys {
		seedArgs = append(seedArgs, "--access-key", shellQuote(k))
	}
	for _, p := range seeds.Principals {
		seedArgs = append(seedArgs, "--principal", shellQuote(p))
	}
	for _, ip := range seeds.IPs {
		seedArgs = append(seedArgs, "--ip", shellQuote(ip))
	}
	for _, b := range seeds.Buckets {
		seedArgs = append(seedArgs, "--bucket", shellQuote(b))
	}
	win := ""
	if !start.IsZero() {
		win += " --since " + start.UTC().Format(time.RFC3339)
	}
	if !end.IsZero() {
		win += " --until " + end.UTC().Format(time.RFC3339)
	}
	l := " --lake " + shellQuote(lake)
	s := strings.Join(seedArgs, " ")
	cmds := []string{
		"leakscope scope" + l + " " + s + win + " --format json",
		"leakscope timeline" + l + " " + s + win,
		"leakscope timeline" + l + " " + s + win + " --summary",
		"leakscope detect" + l + win,
	}
	qs := []report.Query{
		{Name: "every object read in the window, both sources, one row per request", SQL: fmt.Sprintf("SELECT * FROM s3_reads WHERE time BETWEEN '%s' AND '%s' ORDER BY time", fmtT(start), fmtT(end))},
		{Name: "what each ingested object contributed", SQL: "SELECT uri, sha256, records_read, rows_written, quarantined, duplicates, status FROM manifest ORDER BY uri"},
		{Name: "records that could not be read", SQL: "SELECT object, line, reason FROM quarantine ORDER BY object, line"},
	}
	return cmds, qs
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "1970-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339)
}
