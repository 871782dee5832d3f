package scope

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leakscope/leakscope/query"
)

// JSON writes the SPEC §6 document, indented, ending in a newline.
func JSON(w io.Writer, r *Result) error {
	b, err := json.MarshalIndent(r.Scope, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func ai(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Table writes the scope for a terminal; every cell from logs is
// neutralised by query.Terminal.
func Table(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	sc := &r.Scope
	how := "given"
	if r.Inferred {
		how = "inferred from the evidence"
	}
	fmt.Fprintf(bw, "Leak scope %s .. %s (window %s)\n", ts(sc.Window.Start), ts(sc.Window.End), how)
	fmt.Fprintf(bw, "%d objects, %d bytes read, %d bytes transferred, %d bytes egress\n\n",
		sc.Totals.Objects, sc.Totals.BytesRead, sc.Totals.BytesTransferred, sc.Totals.BytesEgress)
	pr := &query.Result{Columns: []string{"principal", "type", "ai_service", "first_seen", "last_seen", "why"}}
	for _, p := range sc.Principals {
		why := r.Why[p.ARN]
		if w := r.AIWhy[p.ARN]; w != "" {
			why += "; AI: " + w
		}
		pr.Rows = append(pr.Rows, []any{p.ARN, p.Type, ai(string(p.AIService)), ts(p.FirstSeen), ts(p.LastSeen), why})
	}
	kr := &query.Result{Columns: []string{"access_key"}}
	for _, k := range sc.AccessKeys {
		kr.Rows = append(kr.Rows, []any{k})
	}
	ir := &query.Result{Columns: []string{"source_ip"}}
	for _, k := range sc.SourceIPs {
		ir.Rows = append(ir.Rows, []any{k})
	}
	objR := &query.Result{Columns: []string{"uri", "bytes", "first_seen", "last_seen", "evidence"}}
	for _, o := range sc.Objects {
		objR.Rows = append(objR.Rows, []any{o.URI, o.Bytes, ts(o.FirstSeen), ts(o.LastSeen), strings.Join(o.Evidence, ",")})
	}
	xr := &query.Result{Columns: []string{"time", "kind", "source", "destination", "source_region", "destination_region", "account", "bytes", "evidence"}}
	for _, x := range sc.Transfers {
		xr.Rows = append(xr.Rows, []any{ts(x.Time), x.Kind, x.Source, x.Destination, x.SourceRegion, x.DestinationRegion, x.Account, x.Bytes, strings.Join(x.Evidence, ",")})
	}
	er := &query.Result{Columns: []string{"interface", "src_ip", "dst_ip", "dst_port", "bytes", "first_seen", "last_seen"}}
	for _, e := range sc.NetworkEgress {
		er.Rows = append(er.Rows, []any{e.Interface, e.SrcIP, e.DstIP, e.DstPort, e.Bytes, ts(e.FirstSeen), ts(e.LastSeen)})
	}
	for _, s := range []struct {
		title string
		res   *query.Result
	}{{"Principals", pr}, {"Access keys", kr}, {"Source IPs", ir}, {"Objects read", objR}, {"Transfers", xr}, {"Network egress", er}} {
		fmt.Fprintf(bw, "%s\n", s.title)
		if err := query.Render(bw, query.TableFormat, s.res); err != nil {
			return err
		}
		fmt.Fprintln(bw)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", query.Terminal(n))
	}
	return bw.Flush()
}

// mdText escapes log text for Markdown: punctuation that would format,
// HTML brackets, pipes (table cells) and control characters.
func mdText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\\x%02x`, s[i])
		case unsafe(r):
			fmt.Fprintf(&b, `\\u%04x`, r)
		case strings.ContainsRune("\\`*_{}[]<>|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func unsafe(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (unicode.Is(unicode.Cf, r) && r != 0x200d) || r == utf8.RuneError
}

// mdCode renders s as an inline code span safe inside a table cell.
func mdCode(s string) string {
	s = query.Terminal(s)
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + strings.ReplaceAll(s, "|", `\|`) + pad + fence
}

// mdBlock renders a command as a fenced code block.
func mdBlock(w io.Writer, s string) {
	s = query.Terminal(s)
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	fmt.Fprintf(w, "%ssh\n%s\n%s\n\n", fence, s, fence)
}

// shq quotes for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// sqlq is a SQL string literal for display in a command (never executed
// by leakscope itself).
func sqlq(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = sqlq(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// tracer builds the commands that show the evidence rows behind numbers.
type tracer struct {
	lake         string
	start, end   string
	arns, keys   []string
	rolePrefixes []string
	routine      []Routine
}

func newTracer(r *Result, lake string) *tracer {
	t := &tracer{lake: lake, start: r.Scope.Window.Start.UTC().Format("2006-01-02 15:04:05"), end: r.Scope.Window.End.UTC().Format("2006-01-02 15:04:05")}
	for _, p := range r.Scope.Principals {
		t.arns = append(t.arns, p.ARN)
	}
	t.keys = r.Scope.AccessKeys
	t.routine = r.Routine
	return t
}

// routineSQL matches the rows of one seed's routine (display only).
// actor and key are the principal and access key columns; the address
// and user agent columns sit beside the key column.
func routineSQL(r Routine, actor, key string) string {
	col := strings.TrimSuffix(key, "access_key_id")
	who := actor + " = " + sqlq(r.Seed)
	switch {
	case r.Kind == "access key":
		who = key + " = " + sqlq(r.Seed)
	case isRoleSeed(r.Seed):
		ref, _ := roleOfARN(r.Seed)
		who = "starts_with(" + actor + ", " + sqlq(ref.sessionPrefix()) + ")"
	}
	pairs := make([]string, len(r.Pairs))
	for i, p := range r.Pairs {
		pairs[i] = "(" + sqlq(p.Addr) + ", " + sqlq(p.Agent) + ")"
	}
	return "(" + who + " AND (coalesce(" + col + "source_ip, ''), coalesce(" + col + "user_agent, '')) IN (" + strings.Join(pairs, ", ") + "))"
}

func isRoleSeed(arn string) bool {
	_, ok := roleOfARN(arn)
	return ok && !isSessionARN(arn)
}

func (t *tracer) query(sql string) string {
	return "leakscope query --lake " + shq(t.lake) + " --format table " + shq(sql)
}

func (t *tracer) between(col string) string {
	return col + " BETWEEN TIMESTAMP " + sqlq(t.start) + " AND TIMESTAMP " + sqlq(t.end)
}

func (t *tracer) who(actor, key string) string {
	parts := []string{}
	if len(t.arns) > 0 {
		parts = append(parts, actor+" IN "+sqlList(t.arns))
	}
	if key != "" && len(t.keys) > 0 {
		parts = append(parts, key+" IN "+sqlList(t.keys))
	}
	if len(parts) == 0 {
		return "false"
	}
	w := "(" + strings.Join(parts, " OR ") + ")"
	if key == "" || len(t.routine) == 0 {
		return w
	}
	// Leave out the owner's routine, as the scope did.
	var rt []string
	for _, r := range t.routine {
		rt = append(rt, routineSQL(r, actor, key))
	}
	return "(" + w + " AND NOT coalesce(" + strings.Join(rt, " OR ") + ", false))"
}

// Markdown writes a summary for humans: every number comes with the
// leakscope command that shows its evidence rows. Text from logs is
// escaped (Markdown punctuation, HTML brackets, pipes, control
// characters).
func Markdown(w io.Writer, r *Result, lake string) error {
	bw := bufio.NewWriter(w)
	sc := &r.Scope
	tr := newTracer(r, lake)
	fmt.Fprintf(bw, "# Leak scope\n\n")
	how := "given by --since/--until, narrowed to the evidence"
	if r.Inferred {
		how = "inferred from the evidence: first and last activity of the seeds' identity set"
	}
	fmt.Fprintf(bw, "- **Window:** %s to %s (%s)\n", ts(sc.Window.Start), ts(sc.Window.End), how)
	var seeds []string
	for _, s := range r.Seeds.Principals {
		seeds = append(seeds, "principal "+mdCode(s))
	}
	for _, s := range r.Seeds.AccessKeys {
		seeds = append(seeds, "access key "+mdCode(s))
	}
	for _, s := range r.Seeds.IPs {
		seeds = append(seeds, "address "+mdCode(s))
	}
	for _, s := range r.Seeds.Buckets {
		seeds = append(seeds, "bucket "+mdCode(s))
	}
	fmt.Fprintf(bw, "- **Seeds:** %s\n", strings.Join(seeds, ", "))
	fmt.Fprintf(bw, "- **Totals:** %d objects, %s bytes read, %s bytes transferred, %s bytes of network egress\n\n",
		sc.Totals.Objects, strconv.FormatInt(sc.Totals.BytesRead, 10), strconv.FormatInt(sc.Totals.BytesTransferred, 10), strconv.FormatInt(sc.Totals.BytesEgress, 10))

	fmt.Fprintf(bw, "## Principals\n\n| principal | type | AI service | first seen | last seen | why in scope | evidence |\n|---|---|---|---|---|---|---|\n")
	for _, p := range sc.Principals {
		why := mdText(r.Why[p.ARN])
		aiCell := ai(string(p.AIService))
		if w := r.AIWhy[p.ARN]; w != "" {
			aiCell += " (" + mdText(w) + ")"
		}
		cmd := "leakscope timeline --lake " + shq(lake) + " --principal " + shq(p.ARN) + " --since " + ts(sc.Window.Start) + " --until " + ts(sc.Window.End)
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCode(p.ARN), p.Type, aiCell, ts(p.FirstSeen), ts(p.LastSeen), why, mdCode(cmd))
	}
	fmt.Fprintf(bw, "\n**Access keys:** %s\n\n**Source addresses:** %s\n\n", codes(sc.AccessKeys), codes(sc.SourceIPs))
	markdownRoutine(bw, r, tr)

	fmt.Fprintf(bw, "## Objects read (%d, %d bytes)\n\n", sc.Totals.Objects, sc.Totals.BytesRead)
	if len(sc.Objects) > 0 {
		fmt.Fprintf(bw, "Each request counts once: a read logged by both CloudTrail and the S3 server access log shares its request id. Rows:\n\n")
		mdBlock(bw, tr.query("SELECT bucket, key, sum(bytes) AS bytes, count(*) AS requests, min(time) AS first_seen, max(time) AS last_seen FROM s3_reads WHERE outcome = 'success' AND operation <> 'REST.COPY.OBJECT_GET' AND "+
			tr.between("time")+" AND "+tr.who("actor", "access_key_id")+" GROUP BY bucket, key ORDER BY bucket, key"))
		fmt.Fprintf(bw, "| object | bytes | first seen | last seen | evidence |\n|---|---|---|---|---|\n")
		for _, o := range sc.Objects {
			fmt.Fprintf(bw, "| %s | %d | %s | %s | %s |\n", mdCode(o.URI), o.Bytes, ts(o.FirstSeen), ts(o.LastSeen), strings.Join(o.Evidence, ", "))
		}
		fmt.Fprintln(bw)
	}

	fmt.Fprintf(bw, "## Transfers (%d, %d bytes)\n\n", len(sc.Transfers), sc.Totals.BytesTransferred)
	if len(sc.Transfers) > 0 {
		fmt.Fprintf(bw, "| # | time | kind | source | destination | regions | account | bytes | evidence | shown by |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for i, x := range sc.Transfers {
			why := ""
			if i < len(r.TransferWhy) {
				why = r.TransferWhy[i]
			}
			fmt.Fprintf(bw, "| %d | %s | %s | %s | %s | %s → %s | %s | %d | %s | %s |\n", i+1, ts(x.Time), x.Kind, mdCode(x.Source), mdCode(x.Destination),
				mdText(x.SourceRegion), mdText(x.DestinationRegion), mdText(x.Account), x.Bytes, strings.Join(x.Evidence, ", "), mdText(why))
		}
		fmt.Fprintln(bw)
		for i, x := range sc.Transfers {
			fmt.Fprintf(bw, "Transfer %d:\n\n", i+1)
			mdBlock(bw, tr.query(tr.transferSQL(x.Kind, x.Source, x.Destination, x.Time)))
		}
	}

	fmt.Fprintf(bw, "## Network egress (%d bytes)\n\n", sc.Totals.BytesEgress)
	if len(sc.NetworkEgress) > 0 {
		fmt.Fprintf(bw, "| # | interface | source | destination | port | bytes | first seen | last seen |\n|---|---|---|---|---|---|---|---|\n")
		for i, e := range sc.NetworkEgress {
			fmt.Fprintf(bw, "| %d | %s | %s | %s | %d | %d | %s | %s |\n", i+1, mdCode(e.Interface), mdCode(e.SrcIP), mdCode(e.DstIP), e.DstPort, e.Bytes, ts(e.FirstSeen), ts(e.LastSeen))
		}
		fmt.Fprintln(bw)
		for i, e := range sc.NetworkEgress {
			fmt.Fprintf(bw, "Egress %d:\n\n", i+1)
			mdBlock(bw, tr.query("SELECT start_time, end_time, src_addr, dst_addr, dst_port, bytes FROM vpc_flow WHERE interface_id = "+sqlq(e.Interface)+
				" AND src_addr = "+sqlq(e.SrcIP)+" AND dst_addr = "+sqlq(e.DstIP)+" AND dst_port = "+strconv.Itoa(e.DstPort)+
				" AND action = 'ACCEPT' AND log_status = 'OK' AND coalesce(flow_direction, 'egress') = 'egress' AND "+tr.between("start_time")+" ORDER BY start_time"))
		}
	} else {
		fmt.Fprintf(bw, "No flows from interfaces or addresses tied to in-scope sessions reached destinations outside private networks and AWS services.\n\n")
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(bw, "## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(bw, "- %s\n", mdText(n))
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

// markdownRoutine says which calls of the seeds were left out as their
// owner's routine, and how to list them.
func markdownRoutine(w io.Writer, r *Result, tr *tracer) {
	if len(r.Routine) == 0 {
		return
	}
	fmt.Fprintf(w, "## Owner's routine left out\n\n")
	fmt.Fprintf(w, "A seed that was active in the baseline before the window keeps its owner's routine: calls in the window from an address and user agent pair the seed already used in the baseline are the owner's, not the leak's. "+
		"They are left out of the principals' first and last seen, the source addresses, the objects read and the credentials followed (calls that issued in-scope credentials stay in). "+
		"An intruder calling from the owner's own address with the owner's user agent would be left out too: review them.\n\n")
	fmt.Fprintf(w, "| seed | baseline pairs | CloudTrail events | access log requests | from |\n|---|---|---|---|---|\n")
	for _, x := range r.Routine {
		var from []string
		for _, a := range x.Addresses {
			from = append(from, fmt.Sprintf("%s (%d)", mdCode(a.Addr), a.N))
		}
		fmt.Fprintf(w, "| %s %s | %d | %d | %d | %s |\n", x.Kind, mdCode(x.Seed), len(x.Pairs), x.Events, x.Requests, strings.Join(from, ", "))
	}
	fmt.Fprintln(w)
	start, end := tr.start, tr.end
	if !r.Seeds.Since.IsZero() {
		start = r.Seeds.Since.UTC().Format("2006-01-02 15:04:05.999999")
	}
	if !r.Seeds.Until.IsZero() {
		end = r.Seeds.Until.UTC().Format("2006-01-02 15:04:05.999999")
	}
	for _, x := range r.Routine {
		fmt.Fprintf(w, "Calls of %s %s left out:\n\n", x.Kind, mdCode(x.Seed))
		mdBlock(w, tr.query("SELECT time, source, action, target, source_ip, user_agent FROM events WHERE time BETWEEN TIMESTAMP "+sqlq(start)+" AND TIMESTAMP "+sqlq(end)+
			" AND "+routineSQL(x, "principal", "access_key_id")+" ORDER BY time"))
	}
}

func codes(vals []string) string {
	if len(vals) == 0 {
		return "none"
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = mdCode(v)
	}
	return strings.Join(out, ", ")
}

// transferEventNames are the calls behind each transfer kind.
var transferEventNames = map[string][]string{
	"replication":       {"PutBucketReplication"},
	"policy_grant":      {"PutBucketPolicy"},
	"acl_grant":         {"PutBucketAcl", "PutObjectAcl"},
	"snapshot_share":    {"ModifySnapshotAttribute"},
	"image_share":       {"ModifyImageAttribute"},
	"db_snapshot_share": {"ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"},
	"cross_region_copy": {"CopySnapshot", "CopyImage", "CopyDBSnapshot", "CopyDBClusterSnapshot"},
	"export":            {"StartExportTask", "CreateInstanceExportTask", "ExportTableToPointInTime", "ExportImage", "ExportSnapshot"},
}

func (t *tracer) transferSQL(kind, src, dst string, at time.Time) string {
	srcBucket, _, _ := strings.Cut(strings.TrimPrefix(src, "s3://"), "/")
	dstBucket, _, _ := strings.Cut(strings.TrimPrefix(dst, "s3://"), "/")
	switch {
	case kind == "external_read":
		return "SELECT time, actor, key, bytes, evidence FROM s3_reads WHERE outcome = 'success' AND bucket = " + sqlq(srcBucket) +
			" AND actor = " + sqlq(dst) + " AND time >= TIMESTAMP " + sqlq(at.UTC().Format("2006-01-02 15:04:05")) + " ORDER BY time"
	case strings.HasPrefix(src, "s3://") && strings.HasPrefix(dst, "s3://") && (kind == "cross_region_copy" || kind == "export"):
		return "SELECT c.event_time, c.principal_arn, c.object_key, c.request_parameters, g.object_size FROM cloudtrail c LEFT JOIN s3_access g ON g.request_id = c.request_id AND g.operation = 'REST.COPY.OBJECT_GET' AND g.bucket = " +
			sqlq(srcBucket) + " WHERE c.event_name = 'CopyObject' AND c.bucket = " + sqlq(dstBucket) + " AND " + t.between("c.event_time") +
			" AND " + t.who("c.principal_arn", "c.access_key_id") + " ORDER BY c.event_time"
	}
	names := transferEventNames[kind]
	if kind == "export" && strings.HasPrefix(dst, "s3://") && !strings.HasPrefix(src, "s3://") {
		names = transferEventNames["export"]
	}
	return "SELECT event_time, event_name, principal_arn, aws_region, request_parameters, response_elements FROM cloudtrail WHERE event_name IN " +
		sqlList(names) + " AND error_code IS NULL AND " + t.between("event_time") + " AND " + t.who("principal_arn", "access_key_id") + " ORDER BY event_time"
}
