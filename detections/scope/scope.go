package scope

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/query"
	"github.com/leakscope/leakscope/report"
)

// ErrNoSeeds: Build needs at least one principal, key, address or bucket.
var ErrNoSeeds = errors.New("no seeds: give at least one --principal, --access-key, --ip or --bucket")

// ErrNoEvidence: nothing in the lake matches the seeds.
var ErrNoEvidence = errors.New("no CloudTrail or S3 access log activity matches the seeds; check the seeds or widen --since/--until")

// Options tune Build.
type Options struct {
	// Config is the optional --config file (AI principal patterns,
	// interface inventory, internal networks).
	Config *Config
	// AWSRanges is the optional AWS ip-ranges.json: addresses of AWS
	// services are never egress destinations.
	AWSRanges *IPRanges
	// BaselineDays is how far before the window a role's baseline
	// (addresses and user agents) and the routine of seed keys and
	// principals reach; 0 means 14.
	BaselineDays int
}

// Result is a scope and the reasons behind it.
type Result struct {
	// Scope is the SPEC §6 document.
	Scope report.Scope
	// Seeds as given.
	Seeds query.Seeds
	// Inferred reports that the window was inferred from the evidence
	// (first and last activity in scope) rather than given in full.
	Inferred bool
	// Why says, per principal ARN, why it is in scope; AIWhy why it has
	// its ai_service.
	Why   map[string]string
	AIWhy map[string]string
	// TransferWhy says, per Scope.Transfers index, what logged call or
	// access shows the transfer.
	TransferWhy []string
	// Notes are caveats (unknown regions, links the logs do not carry).
	Notes []string
	// Routine lists, per seed key or principal with baseline activity,
	// the owner's routine calls of the window left out of the scope.
	Routine []Routine
}

// builder holds one Build's state.
type builder struct {
	db   *sql.DB
	opt  Options
	seed query.Seeds

	// win is the window identity activity is looked for in; search the
	// bounds the user gave (zero = open).
	win, search span

	ids     *idset
	passed  map[roleRef]string // roles handed to resources by in-scope identities
	notes   []string
	buckets map[string]*bucketFacts
}

// Build reconstructs the leak that seeds point at.
func Build(ctx context.Context, eng *query.Engine, seeds query.Seeds, opt Options) (*Result, error) {
	if len(seeds.Principals)+len(seeds.AccessKeys)+len(seeds.IPs)+len(seeds.Buckets) == 0 {
		return nil, ErrNoSeeds
	}
	if opt.BaselineDays <= 0 {
		opt.BaselineDays = 14
	}
	b := &builder{db: eng.DB(), opt: opt, seed: seeds,
		search: span{seeds.Since.UTC(), seeds.Until.UTC()}, passed: map[roleRef]string{}, buckets: map[string]*bucketFacts{}}
	b.win = b.search
	if err := b.identities(ctx); err != nil {
		return nil, err
	}
	if b.win.open() {
		first, last, err := b.activitySpan(ctx)
		if err != nil {
			return nil, err
		}
		if first.IsZero() {
			return nil, ErrNoEvidence
		}
		if b.win.start.IsZero() {
			b.win.start = first
		}
		if b.win.end.IsZero() {
			b.win.end = last
		}
	}
	if err := b.extras(ctx); err != nil {
		return nil, err
	}
	xf, err := b.transfers(ctx)
	if err != nil {
		return nil, err
	}
	ext, err := b.externalReads(ctx, xf)
	if err != nil {
		return nil, err
	}
	xf = append(xf, ext...)
	act, err := b.activity(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := b.objects(ctx)
	if err != nil {
		return nil, err
	}
	eg, err := b.egress(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Seeds: seeds, Inferred: seeds.Since.IsZero() || seeds.Until.IsZero(), Why: map[string]string{}, AIWhy: map[string]string{}}
	sc := &res.Scope
	sc.Principals = []report.Principal{}
	for _, p := range act.principals {
		sc.Principals = append(sc.Principals, report.Principal{ARN: p.arn, Type: principalType(p.arn), FirstSeen: p.first, LastSeen: p.last})
		res.Why[p.arn] = b.ids.why(p.arn, p.keys)
	}
	if err := b.classifyAll(ctx, sc.Principals, res.AIWhy); err != nil {
		return nil, err
	}
	slices.SortFunc(sc.Principals, func(a, b report.Principal) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.ARN, b.ARN))
	})
	keys := map[string]bool{}
	for _, k := range act.keys {
		keys[k] = true
	}
	for k := range b.ids.keys {
		if b.ids.keyInScope(k) {
			keys[k] = true
		}
	}
	sc.AccessKeys = slices.Sorted(maps.Keys(keys))
	sc.SourceIPs = act.ips
	slices.SortFunc(objs, func(a, b report.Object) int { return strings.Compare(a.URI, b.URI) })
	sc.Objects = objs
	slices.SortFunc(xf, func(a, b transfer) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Source, b.Source), strings.Compare(a.Destination, b.Destination))
	})
	sc.Transfers = []report.Transfer{}
	for _, x := range xf {
		sc.Transfers = append(sc.Transfers, x.Transfer)
		res.TransferWhy = append(res.TransferWhy, x.why)
	}
	sc.NetworkEgress = eg
	// The window is the evidence's span.
	var first, last time.Time
	see := func(a, z time.Time) {
		if !a.IsZero() && (first.IsZero() || a.Before(first)) {
			first = a
		}
		if z.After(last) {
			last = z
		}
	}
	for _, p := range sc.Principals {
		see(p.FirstSeen, p.LastSeen)
	}
	for _, t := range act.issued {
		see(t, t)
	}
	for _, x := range sc.Transfers {
		see(x.Time, x.Time)
	}
	for _, o := range sc.Objects {
		see(o.FirstSeen, o.LastSeen)
	}
	for _, e := range sc.NetworkEgress {
		see(e.FirstSeen, e.FirstSeen)
	}
	if first.IsZero() {
		first, last = b.win.start, b.win.end
	}
	sc.Window = report.Window{Start: first.UTC(), End: last.UTC()}
	for _, o := range sc.Objects {
		sc.Totals.Objects++
		sc.Totals.BytesRead += o.Bytes
	}
	for _, x := range sc.Transfers {
		sc.Totals.BytesTransferred += x.Bytes
	}
	for _, e := range sc.NetworkEgress {
		sc.Totals.BytesEgress += e.Bytes
	}
	if res.Routine, err = b.routineReport(ctx); err != nil {
		return nil, err
	}
	res.Notes = b.notes
	return res, nil
}

func (b *builder) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !slices.Contains(b.notes, s) {
		b.notes = append(b.notes, s)
	}
}

// activitySpan is the first and last activity of the identity set in the
// search bounds.
func (b *builder) activitySpan(ctx context.Context) (time.Time, time.Time, error) {
	wp, wa := b.search.pred("event_time")
	cw, ca := b.ids.ctWho()
	sw, sa := b.ids.saWho()
	q := `SELECT min(t), max(t) FROM (
		SELECT event_time AS t FROM cloudtrail WHERE ` + wp + ` AND ` + cw + `
		UNION ALL
		SELECT event_time FROM s3_access WHERE ` + wp + ` AND ` + sw + `)`
	var first, last sql.NullTime
	if err := b.db.QueryRowContext(ctx, q, cat(wa, ca, wa, sa)...).Scan(&first, &last); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("scope window: %w", err)
	}
	return first.Time.UTC(), last.Time.UTC(), nil
}
