package query

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Timesketch is the timeline format Timesketch imports: JSON Lines with
// message, datetime and timestamp_desc.
const Timesketch Format = "timesketch"

// TimelineFormats lists the formats of a timeline.
var TimelineFormats = []Format{TableFormat, CSV, JSON, JSONL, Timesketch}

// Sources are the lake tables a timeline draws from.
var Sources = []string{"cloudtrail", "s3_access", "vpc_flow"}

// TimelineOptions select a timeline.
type TimelineOptions struct {
	Seeds Seeds
	// Sources limits the tables (cloudtrail, s3_access, vpc_flow); empty
	// means all.
	Sources []string
	// Limit caps the rows; 0 means no cap.
	Limit int
	// NoFollow uses the seeds as given, without following the
	// credentials and addresses they lead to.
	NoFollow bool
}

// TimelineRow is one event of a timeline.
type TimelineRow struct {
	Time           time.Time
	Source         string // cloudtrail, s3_access, vpc_flow
	Actor          string
	Action         string
	Target         string
	SourceIP       string
	Destination    string
	Bytes          *int64
	Region         string
	Account        string
	Outcome        string // success, error, rejected, nodata, skipdata
	Why            string
	Description    string
	Evidence       []string // the tables that logged the event
	EvidenceURI    string
	EvidenceOffset int64
	Principal      string
	AccessKeyID    string
	UserAgent      string
	RequestID      string
	Bucket         string
	ObjectKey      string
	ErrorCode      string
	Protocol       string // vpc_flow: IANA protocol number
}

// Timeline is a time-ordered story across the lake's tables.
type Timeline struct {
	Rows       []TimelineRow
	Identities *IdentitySet
	// Truncated reports that Limit cut the timeline short.
	Truncated bool
}

// TimelineColumns are the columns of a rendered timeline.
var TimelineColumns = []string{
	"time", "source", "actor", "action", "target", "source_ip", "destination", "bytes",
	"region", "account", "outcome", "why", "description", "evidence", "evidence_uri",
	"evidence_offset", "principal", "access_key_id", "user_agent", "request_id", "error_code",
}

// Timeline follows the seeds' identities (unless NoFollow) and returns
// every matching event of the window, oldest first. A read CloudTrail and
// the server access log both recorded (same request id and bucket)
// appears once, with both as evidence. Every seed and followed value is a
// bound parameter; the window becomes predicates on the date partition
// and the time column so DuckDB skips files and row groups outside it.
func (e *Engine) Timeline(ctx context.Context, opts TimelineOptions) (*Timeline, error) {
	if opts.Seeds.Empty() {
		return nil, fmt.Errorf("timeline needs at least one seed: --principal, --access-key, --ip, --bucket or --object")
	}
	for _, s := range opts.Sources {
		if !slices.Contains(Sources, s) {
			return nil, fmt.Errorf("unknown source %q: use %s", s, strings.Join(Sources, ", "))
		}
	}
	var ids *IdentitySet
	if opts.NoFollow {
		ids = seedIdentities(opts.Seeds)
		ids.normalise()
	} else {
		var err error
		if ids, err = e.FollowIdentities(ctx, opts.Seeds); err != nil {
			return nil, err
		}
	}
	q, args := timelineQuery(opts, ids)
	rows, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	tl := &Timeline{Identities: ids}
	objects := parseObjects(opts.Seeds.Objects)
	for rows.Next() {
		var (
			r                                                                TimelineRow
			actor, action, target, sip, dst, region, account, uri, principal sql.NullString
			key, ua, reqID, bucket, object, errCode, proto, evidence         sql.NullString
			bytes, offset                                                    sql.NullInt64
		)
		if err := rows.Scan(&r.Time, &r.Source, &actor, &action, &target, &sip, &dst, &bytes, &region, &account,
			&r.Outcome, &uri, &offset, &principal, &key, &ua, &reqID, &bucket, &object, &errCode, &proto, &evidence); err != nil {
			return nil, fmt.Errorf("timeline: %w", err)
		}
		r.Actor, r.Action, r.Target, r.SourceIP, r.Destination = actor.String, action.String, target.String, sip.String, dst.String
		r.Region, r.Account, r.EvidenceURI, r.EvidenceOffset = region.String, account.String, uri.String, offset.Int64
		r.Principal, r.AccessKeyID, r.UserAgent, r.RequestID = principal.String, key.String, ua.String, reqID.String
		r.Bucket, r.ObjectKey, r.ErrorCode, r.Protocol = bucket.String, object.String, errCode.String, proto.String
		r.Time = r.Time.UTC()
		if bytes.Valid {
			b := bytes.Int64
			r.Bytes = &b
		}
		r.Evidence = []string{r.Source}
		if evidence.Valid {
			r.Evidence = append(r.Evidence, evidence.String)
		}
		r.Why = why(&r, ids, opts.Seeds, objects)
		r.Description = describe(&r)
		tl.Rows = append(tl.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	if opts.Limit > 0 && len(tl.Rows) > opts.Limit {
		tl.Rows = tl.Rows[:opts.Limit]
		tl.Truncated = true
	}
	return tl, nil
}

// seedIdentities is the identity set of the seeds alone.
func seedIdentities(seeds Seeds) *IdentitySet {
	s := &IdentitySet{}
	for _, p := range seeds.Principals {
		if isSessionARN(p) {
			s.add(Identity{Kind: KindSession, Value: p, Seed: true, Why: "seed session " + p})
		} else {
			s.add(Identity{Kind: KindPrincipal, Value: p, Seed: true, Why: "seed principal " + p})
		}
	}
	for _, k := range seeds.AccessKeys {
		s.add(Identity{Kind: KindAccessKey, Value: k, Seed: true, Why: "seed access key " + k})
	}
	for _, ip := range seeds.IPs {
		s.add(Identity{Kind: KindAddress, Value: ip, Seed: true, Why: "seed address " + ip})
	}
	return s
}

type objectSeed struct{ bucket, key string }

// parseObjects reads s3://bucket/key or bucket/key seeds.
func parseObjects(objs []string) []objectSeed {
	var out []objectSeed
	for _, o := range objs {
		b, k, _ := strings.Cut(strings.TrimPrefix(o, "s3://"), "/")
		out = append(out, objectSeed{b, k})
	}
	return out
}

// timelineQuery builds the SQL text (fixed shapes with one placeholder per
// value) and its arguments.
func timelineQuery(opts TimelineOptions, ids *IdentitySet) (string, []any) {
	want := func(src string) bool { return len(opts.Sources) == 0 || slices.Contains(opts.Sources, src) }
	seeds := opts.Seeds
	keys := ids.Values(KindAccessKey)
	princ := ids.Values(KindPrincipal)
	who := append(ids.Values(KindSession), princ...)
	var seedIPs, followedIPs []string
	for _, a := range ids.Addresses {
		if a.Seed {
			seedIPs = append(seedIPs, a.Value)
		} else {
			followedIPs = append(followedIPs, a.Value)
		}
	}
	allIPs := ids.Values(KindAddress)
	objects := parseObjects(seeds.Objects)
	objPred := func(bcol, kcol string) (string, []any) {
		if len(objects) == 0 {
			return "false", nil
		}
		var parts []string
		var args []any
		for _, o := range objects {
			parts = append(parts, "("+bcol+" = ? AND "+kcol+" = ?)")
			args = append(args, o.bucket, o.key)
		}
		return "(" + strings.Join(parts, " OR ") + ")", args
	}
	w := windowOf(seeds)
	var branches []string
	var args []any
	branch := func(proj, table, tcol string, conds []pred) {
		wp, wargs := w.predicate(tcol)
		b, bargs := anyOf("SELECT "+proj+"\n\tFROM "+table+"\n\tWHERE "+wp, wargs, conds)
		branches = append(branches, b)
		args = append(args, bargs...)
	}
	if want("cloudtrail") {
		var conds []pred
		for _, p := range []func() (string, []any){
			func() (string, []any) { return in("access_key_id", keys) },
			func() (string, []any) { return in("principal_arn", who) },
			func() (string, []any) { return in("actor_arn", princ) },
			func() (string, []any) { return in("source_ip", seedIPs) },
			func() (string, []any) { return in("bucket", seeds.Buckets) },
			func() (string, []any) { return objPred("bucket", "object_key") },
		} {
			if c, a := p(); c != "false" {
				conds = append(conds, pred{c, a})
			}
		}
		if len(conds) > 0 {
			branch(ctProjection, "cloudtrail", "event_time", conds)
		}
	}
	if want("s3_access") {
		var conds []pred
		for _, p := range []func() (string, []any){
			func() (string, []any) { return in("requester_arn", who) },
			func() (string, []any) { return in("requester", who) },
			func() (string, []any) { return in("remote_ip", seedIPs) },
			func() (string, []any) {
				c, a := in("remote_ip", followedIPs)
				if c == "false" {
					return c, nil
				}
				return "(" + c + " AND (requester_anonymous OR requester IS NULL))", a
			},
			func() (string, []any) { return in("bucket", seeds.Buckets) },
			func() (string, []any) { return objPred("bucket", "key") },
		} {
			if c, a := p(); c != "false" {
				conds = append(conds, pred{c, a})
			}
		}
		if len(conds) > 0 {
			branch(s3Projection, "s3_access", "event_time", conds)
		}
	}
	if want("vpc_flow") && len(allIPs) > 0 {
		c1, a1 := in("src_addr", allIPs)
		c2, a2 := in("dst_addr", allIPs)
		branch(flowProjection, "vpc_flow", "coalesce(start_time, end_time)", []pred{{c1, a1}, {c2, a2}})
	}
	if len(branches) == 0 {
		branches = append(branches, "SELECT "+ctProjection+" FROM cloudtrail WHERE false")
	}
	q := `WITH m AS MATERIALIZED (
	` + strings.Join(branches, "\n\tUNION ALL\n\t") + `
), ct_ids AS (
	SELECT DISTINCT request_id, bucket FROM m WHERE source = 'cloudtrail' AND request_id IS NOT NULL AND bucket IS NOT NULL
), sa_ids AS (
	SELECT DISTINCT request_id, bucket FROM m WHERE source = 's3_access' AND request_id IS NOT NULL
)
SELECT m.time, m.source, m.actor, m.action, m.target, m.source_ip, m.destination, m.bytes, m.region, m.account,
	m.outcome, m.evidence_uri, m.evidence_offset, m.principal, m.access_key_id, m.user_agent, m.request_id,
	m.bucket, m.object_key, m.error_code, m.event_source,
	CASE WHEN m.source = 'cloudtrail' AND EXISTS (SELECT 1 FROM sa_ids WHERE sa_ids.request_id = m.request_id AND sa_ids.bucket = m.bucket)
		THEN 's3_access' END AS also
FROM m
WHERE NOT (m.source = 's3_access' AND m.request_id IS NOT NULL
	AND EXISTS (SELECT 1 FROM ct_ids WHERE ct_ids.request_id = m.request_id AND ct_ids.bucket = m.bucket))
ORDER BY m.time, m.source, m.evidence_uri, m.evidence_offset`
	if opts.Limit > 0 {
		// One more row than asked tells that the limit cut it short.
		q += "\nLIMIT ?"
		args = append(args, opts.Limit+1)
	}
	return q, args
}

// pred is a SQL condition with its arguments.
type pred struct {
	sql  string
	args []any
}

// anyOf selects the rows of base (a SELECT … WHERE with its arguments)
// that meet any of conds. One scan with an OR beats one UNION ALL branch
// per condition: DuckDB does not push IN lists with parameters into the
// Parquet scan, so each branch would read the window again.
func anyOf(base string, bargs []any, conds []pred) (string, []any) {
	var parts []string
	args := append([]any(nil), bargs...)
	for _, c := range conds {
		parts = append(parts, c.sql)
		args = append(args, c.args...)
	}
	return base + " AND (" + strings.Join(parts, "\n\t\tOR ") + ")", args
}

// why explains why a row is in the timeline: the identity, address or
// seed it matched.
func why(r *TimelineRow, ids *IdentitySet, seeds Seeds, objects []objectSeed) string {
	look := func(kind, v string) string {
		if v == "" {
			return ""
		}
		if id, ok := ids.Lookup(kind, v); ok {
			return id.Why
		}
		return ""
	}
	var cands []string
	switch r.Source {
	case "cloudtrail":
		cands = []string{look(KindAccessKey, r.AccessKeyID), look(KindSession, r.Principal), look(KindPrincipal, r.Principal), look(KindPrincipal, r.Actor)}
		if id, ok := ids.Lookup(KindAddress, r.SourceIP); ok && id.Seed {
			cands = append(cands, id.Why)
		}
	case "s3_access":
		cands = []string{look(KindSession, r.Principal), look(KindPrincipal, r.Principal), look(KindAddress, r.SourceIP)}
	case "vpc_flow":
		cands = []string{look(KindAddress, r.SourceIP), look(KindAddress, r.Destination)}
	}
	for _, c := range cands {
		if c != "" {
			return c
		}
	}
	if r.Bucket != "" {
		for _, o := range objects {
			if o.bucket == r.Bucket && o.key == r.ObjectKey {
				return "seed object s3://" + o.bucket + "/" + o.key
			}
		}
		if slices.Contains(seeds.Buckets, r.Bucket) {
			return "seed bucket " + r.Bucket
		}
	}
	return ""
}

// shortName is the readable end of an ARN: user/ci-deployer →
// ci-deployer, assumed-role/R/S → R/S.
func shortName(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return arn
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[5] == "" {
		return arn
	}
	res := parts[5]
	for _, p := range []string{"assumed-role/", "federated-user/", "user/", "role/", "group/"} {
		if strings.HasPrefix(res, p) {
			res = res[len(p):]
			break
		}
	}
	if i := strings.LastIndexByte(res, '/'); i >= 0 && !strings.HasPrefix(parts[5], "assumed-role/") {
		res = res[i+1:]
	}
	if res == "root" {
		return "root of " + parts[4]
	}
	return res
}

// HumanBytes writes a byte count in SI units: 1234567 → 1.2 MB.
func HumanBytes(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n), "kMGTPE"
	i := -1
	for v >= 1000 && i < len(unit)-1 {
		v /= 1000
		i++
	}
	if unit[i] == 'k' {
		return strconv.FormatFloat(v, 'f', 1, 64) + " kB"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + string(unit[i]) + "B"
}

var protocols = map[string]string{"1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6"}

// describe writes the one-line story of a row. The text is built from log
// values and is neutralised by each renderer, never here.
func describe(r *TimelineRow) string {
	var b strings.Builder
	switch r.Source {
	case "vpc_flow":
		b.WriteString("flow ")
		b.WriteString(orUnknown(r.SourceIP))
		b.WriteString(" → ")
		b.WriteString(orUnknown(r.Target))
		if p, ok := protocols[r.Protocol]; ok {
			b.WriteString(" " + p)
		}
		if r.Bytes != nil {
			b.WriteString(" (" + HumanBytes(*r.Bytes) + ")")
		}
		if r.Action != "" {
			b.WriteString(" " + r.Action)
		}
		if r.Actor != "" {
			b.WriteString(" on " + r.Actor)
		}
		return b.String()
	}
	who := shortName(firstOf(r.Principal, r.Actor))
	b.WriteString(orUnknown(who))
	b.WriteString(" ")
	b.WriteString(orUnknown(r.Action))
	if r.Target != "" {
		b.WriteString(" " + r.Target)
	}
	if r.Bytes != nil && *r.Bytes > 0 {
		b.WriteString(" (" + HumanBytes(*r.Bytes) + ")")
	}
	if r.SourceIP != "" {
		b.WriteString(" from " + r.SourceIP)
	}
	if r.Outcome == "error" {
		b.WriteString(" failed")
		if r.ErrorCode != "" {
			b.WriteString(": " + r.ErrorCode)
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
