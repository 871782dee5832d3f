package scope

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The owner of a stolen long-term key (or of a seeded principal) usually
// goes on using it during the incident: a CI system deploying, a batch
// job reading its data. Those calls are not the leak. A seed that was
// active in the baseline (the BaselineDays before the window) has its
// routine learnt there: the address and user agent pairs it called from.
// Calls in the window from one of those pairs are the owner's routine and
// are left out of the identity rows every query selects (activity, reads,
// transfers, egress, following), unless they issued credentials that are
// in scope. A seed without baseline activity keeps all its calls.

// Routine is the owner's routine use of one seed that was left out.
type Routine struct {
	// Seed is the access key or principal ARN; Kind "access key" or
	// "principal".
	Seed, Kind string
	// Pairs are the address and user agent pairs the seed used in the
	// baseline (at most maxRoutinePairs, the most used first).
	Pairs []AddrAgent
	// Events and Requests count the CloudTrail events and S3 server
	// access log lines of the window left out; Addresses says from where.
	Events, Requests int
	Addresses        []AddrCount
}

// AddrAgent is a source address and user agent.
type AddrAgent struct{ Addr, Agent string }

// AddrCount is how many left-out calls came from an address.
type AddrCount struct {
	Addr string
	N    int
}

// routineSeed is one seed's baseline: match is the access key, the
// principal ARN or (prefix) a role's session ARN prefix.
type routineSeed struct {
	kind   string // "access key" or "principal"
	seed   string
	match  string
	prefix bool
	pairs  []AddrAgent
}

// maxRoutinePairs bounds a seed's baseline pairs (and the parameters of
// every identity query); the most used pairs are kept.
const maxRoutinePairs = 500

// baselines learns the routine of seed keys and principals from the
// baseline period. It needs a window start: with none given there is no
// "before".
func (b *builder) baselines(ctx context.Context) error {
	if b.search.start.IsZero() || len(b.seed.AccessKeys)+len(b.seed.Principals) == 0 {
		return nil
	}
	base := b.baseSpan()
	bp, ba := base.pred("event_time")
	var keys, arns, prefixes []string
	seeds := map[string]*routineSeed{}
	var order []*routineSeed
	add := func(rs *routineSeed) {
		k := rs.kind + "\x00" + rs.match
		if seeds[k] == nil {
			seeds[k] = rs
			order = append(order, rs)
		}
	}
	for _, k := range b.seed.AccessKeys {
		if k != "" {
			add(&routineSeed{kind: "access key", seed: k, match: k})
			keys = append(keys, k)
		}
	}
	for _, p := range b.seed.Principals {
		if p == "" {
			continue
		}
		if r, ok := roleOfARN(p); ok && !isSessionARN(p) {
			add(&routineSeed{kind: "principal", seed: p, match: r.sessionPrefix(), prefix: true})
			prefixes = append(prefixes, r.sessionPrefix())
			continue
		}
		add(&routineSeed{kind: "principal", seed: p, match: p})
		arns = append(arns, p)
	}
	slices.Sort(keys)
	slices.Sort(arns)
	slices.Sort(prefixes)
	kp, ka := inList("access_key_id", keys)
	ap, aa := inList("principal_arn", arns)
	rp, ra := prefixAny("principal_arn", prefixes)
	sp, sa := inList("requester_arn", arns)
	srp, sra := prefixAny("requester_arn", prefixes)
	q := `SELECT 'access key' AS kind, access_key_id AS who, coalesce(source_ip, '') AS ip, coalesce(user_agent, '') AS ua, count(*) AS n
		FROM cloudtrail WHERE ` + bp + ` AND ` + kp + ` GROUP BY ALL
	UNION ALL
	SELECT 'principal', principal_arn, coalesce(source_ip, ''), coalesce(user_agent, ''), count(*)
		FROM cloudtrail WHERE ` + bp + ` AND ` + or(ap, rp) + ` GROUP BY ALL
	UNION ALL
	SELECT 'principal', requester_arn, coalesce(remote_ip, ''), coalesce(user_agent, ''), count(*)
		FROM s3_access WHERE ` + bp + ` AND ` + or(sp, srp) + ` GROUP BY ALL`
	rows, err := b.db.QueryContext(ctx, q, cat(ba, ka, ba, aa, ra, ba, sa, sra)...)
	if err != nil {
		return fmt.Errorf("scope seed baselines: %w", err)
	}
	defer rows.Close()
	counts := map[*routineSeed]map[AddrAgent]int{}
	for rows.Next() {
		var kind, who, ip, ua string
		var n int
		if err := rows.Scan(&kind, &who, &ip, &ua, &n); err != nil {
			return err
		}
		rs := seeds[kind+"\x00"+who]
		if rs == nil && kind == "principal" {
			for _, p := range prefixes {
				if strings.HasPrefix(who, p) {
					rs = seeds[kind+"\x00"+p]
					break
				}
			}
		}
		if rs == nil {
			continue
		}
		if counts[rs] == nil {
			counts[rs] = map[AddrAgent]int{}
		}
		counts[rs][AddrAgent{ip, ua}] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, rs := range order {
		c := counts[rs]
		if len(c) == 0 {
			continue // no baseline: every call stays in scope
		}
		rs.pairs = slices.SortedFunc(maps.Keys(c), func(x, y AddrAgent) int {
			return cmp.Or(cmp.Compare(c[y], c[x]), cmp.Compare(x.Addr, y.Addr), cmp.Compare(x.Agent, y.Agent))
		})
		if len(rs.pairs) > maxRoutinePairs {
			b.note("The %s %s used %d address and user agent pairs in the baseline; only the %d most used are taken as its owner's routine.", rs.kind, rs.seed, len(rs.pairs), maxRoutinePairs)
			rs.pairs = rs.pairs[:maxRoutinePairs]
		}
		b.ids.routine = append(b.ids.routine, rs)
	}
	return nil
}

// baseSpan is the baseline period: the BaselineDays before the window.
func (b *builder) baseSpan() span {
	start := b.search.start
	return span{start.Add(-time.Duration(b.opt.BaselineDays) * 24 * time.Hour), start.Add(-time.Microsecond)}
}

// routinePred matches rows of one seed's routine: idCol (the key or the
// principal) is the seed and (ipCol, user_agent) a baseline pair.
func (rs *routineSeed) pred(keyCol, arnCol, ipCol string) (string, []any) {
	var who string
	switch {
	case rs.kind == "access key" && keyCol == "":
		return "false", nil
	case rs.kind == "access key":
		who = keyCol + " = ?"
	case rs.prefix:
		who = "starts_with(" + arnCol + ", ?)"
	default:
		who = arnCol + " = ?"
	}
	args := []any{rs.match}
	pairs := make([]string, len(rs.pairs))
	for i, p := range rs.pairs {
		pairs[i] = "(?, ?)"
		args = append(args, p.Addr, p.Agent)
	}
	return "(" + who + " AND (coalesce(" + ipCol + ", ''), coalesce(user_agent, '')) IN (" + strings.Join(pairs, ", ") + "))", args
}

// routineCT matches CloudTrail rows of the seeds' routine that did not
// issue in-scope credentials; "false" without a routine.
func (s *idset) routineCT() (string, []any) {
	var preds []string
	var args []any
	for _, rs := range s.routine {
		p, a := rs.pred("access_key_id", "principal_arn", "source_ip")
		preds, args = append(preds, p), append(args, a...)
	}
	if or(preds...) == "false" {
		return "false", nil
	}
	ip, ia := s.issuesInScope()
	return "coalesce(" + or(preds...) + " AND NOT coalesce(" + ip + ", false), false)", cat(args, ia)
}

// routineSA matches S3 server access log rows of the seeds' routine (the
// log carries no access key: principal seeds only).
func (s *idset) routineSA() (string, []any) {
	var preds []string
	var args []any
	for _, rs := range s.routine {
		p, a := rs.pred("", "requester_arn", "remote_ip")
		if p != "false" {
			preds, args = append(preds, p), append(args, a...)
		}
	}
	if len(preds) == 0 {
		return "false", nil
	}
	return "coalesce(" + or(preds...) + ", false)", args
}

// issuesInScope matches CloudTrail calls that issued in-scope
// credentials.
func (s *idset) issuesInScope() (string, []any) {
	ap, aa := inList("issued_arn", s.sortedARNs())
	rp, ra := prefixAny("issued_arn", s.rolePrefixes())
	kp, ka := inList("issued_access_key_id", s.sortedKeys())
	return or(ap, rp, kp), cat(aa, ra, ka)
}

// routineReport counts, per seed with a baseline, the calls of the window
// left out as the owner's routine, and notes them.
func (b *builder) routineReport(ctx context.Context) ([]Routine, error) {
	if len(b.ids.routine) == 0 {
		return nil, nil
	}
	wp, wa := b.win.pred("event_time")
	ip, ia := b.ids.issuesInScope()
	var out []Routine
	for _, rs := range b.ids.routine {
		r := Routine{Seed: rs.seed, Kind: rs.kind, Pairs: rs.pairs}
		cp, ca := rs.pred("access_key_id", "principal_arn", "source_ip")
		sp, sa := rs.pred("", "requester_arn", "remote_ip")
		q := `SELECT 'ct', coalesce(source_ip, ''), count(*) FROM cloudtrail WHERE ` + wp + ` AND ` + cp + ` AND NOT coalesce(` + ip + `, false) GROUP BY ALL
		UNION ALL
		SELECT 'sa', coalesce(remote_ip, ''), count(*) FROM s3_access WHERE ` + wp + ` AND ` + sp + ` GROUP BY ALL`
		rows, err := b.db.QueryContext(ctx, q, cat(wa, ca, ia, wa, sa)...)
		if err != nil {
			return nil, fmt.Errorf("scope owner routine: %w", err)
		}
		by := map[string]int{}
		for rows.Next() {
			var src, addr string
			var n int
			if err := rows.Scan(&src, &addr, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if src == "ct" {
				r.Events += n
			} else {
				r.Requests += n
			}
			by[addr] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if r.Events+r.Requests == 0 {
			continue
		}
		for _, a := range slices.Sorted(maps.Keys(by)) {
			r.Addresses = append(r.Addresses, AddrCount{a, by[a]})
		}
		slices.SortStableFunc(r.Addresses, func(x, y AddrCount) int { return cmp.Compare(y.N, x.N) })
		var from []string
		for _, a := range r.Addresses {
			from = append(from, fmt.Sprintf("%s (%d)", cmp.Or(a.Addr, "no address"), a.N))
		}
		base := b.baseSpan()
		b.note("Owner's routine left out: %d CloudTrail events and %d S3 access log requests of the seed %s %s came from an address and user agent pair it already used in the %d-day baseline (%s to %s): %s.",
			r.Events, r.Requests, rs.kind, rs.seed, b.opt.BaselineDays, ts(base.start), ts(b.search.start), strings.Join(from, ", "))
		out = append(out, r)
	}
	return out, nil
}
