package scope

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// compromisedRoles are the roles of in-scope sessions and the roles
// in-scope identities handed to resources.
func (b *builder) compromisedRoles() map[roleRef]string {
	out := map[roleRef]string{}
	for arn := range b.ids.arns {
		if r, _, ok := sessionRole(arn); ok {
			out[r] = "its session " + arn + " is in scope"
		}
	}
	for r, why := range b.passed {
		if _, ok := out[r]; !ok {
			out[r] = why
		}
	}
	for r := range b.ids.roles {
		delete(out, r) // every session is in scope already
	}
	return out
}

type roleUse struct {
	ips, uas map[string]bool
	n        int
}

// novelSessions adds the other sessions of compromised roles that called
// from a public address or with a user agent the role did not use in its
// baseline (the BaselineDays before the window). Roles without a
// baseline are left alone: there is nothing to compare with.
func (b *builder) novelSessions(ctx context.Context) error {
	roles := b.compromisedRoles()
	if len(roles) == 0 || b.win.start.IsZero() {
		return nil
	}
	var prefixes []string
	byPrefix := map[string]roleRef{}
	for r := range roles {
		prefixes = append(prefixes, r.sessionPrefix())
		byPrefix[r.sessionPrefix()] = r
	}
	slices.Sort(prefixes)
	baseStart := b.win.start.Add(-time.Duration(b.opt.BaselineDays) * 24 * time.Hour)
	all := span{baseStart, b.win.end}
	wp, wa := all.pred("event_time")
	cp, ca := prefixAny("principal_arn", prefixes)
	sp, sa := prefixAny("requester_arn", prefixes)
	q := `SELECT principal_arn, source_ip, user_agent, event_time < ?::TIMESTAMP AS base, any_value(access_key_id), min(event_time)
		FROM cloudtrail WHERE ` + wp + ` AND ` + cp + ` GROUP BY ALL
	UNION ALL
	SELECT requester_arn, remote_ip, user_agent, event_time < ?::TIMESTAMP AS base, NULL, min(event_time)
		FROM s3_access WHERE ` + wp + ` AND ` + sp + ` GROUP BY ALL
	ORDER BY 6, 1, 2, 3`
	start := tsArg(b.win.start)
	rows, err := b.db.QueryContext(ctx, q, cat([]any{start}, wa, ca, []any{start}, wa, sa)...)
	if err != nil {
		return fmt.Errorf("scope role baselines: %w", err)
	}
	defer rows.Close()
	base := map[roleRef]*roleUse{}
	type use struct {
		arn, ip, ua, key string
		t                time.Time
	}
	var inWin []use
	for rows.Next() {
		var arn, ip, ua, key sql.NullString
		var isBase bool
		var t time.Time
		if err := rows.Scan(&arn, &ip, &ua, &isBase, &key, &t); err != nil {
			return err
		}
		r, _, ok := sessionRole(arn.String)
		if !ok {
			continue
		}
		if isBase {
			u := base[r]
			if u == nil {
				u = &roleUse{ips: map[string]bool{}, uas: map[string]bool{}}
				base[r] = u
			}
			u.n++
			u.ips[ip.String] = true
			u.uas[ua.String] = true
			continue
		}
		inWin = append(inWin, use{arn.String, ip.String, ua.String, key.String, t.UTC()})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, u := range inWin {
		if b.ids.has(u.arn) {
			continue
		}
		r, _, _ := sessionRole(u.arn)
		bl := base[r]
		if bl == nil || bl.n == 0 {
			continue
		}
		var why []string
		if publicAddr(u.ip) && !bl.ips[u.ip] {
			why = append(why, "address "+u.ip)
		}
		if u.ua != "" && !bl.uas[u.ua] && !strings.HasSuffix(u.ua, ".amazonaws.com") && u.ua != "AWS Internal" {
			why = append(why, "user agent "+u.ua)
		}
		if len(why) == 0 {
			continue
		}
		reason := fmt.Sprintf("another session of role %s (compromised: %s) used %s, not seen in the role's %d-day baseline", r.name, roles[r], strings.Join(why, " and "), b.opt.BaselineDays)
		b.ids.addARN(u.arn, reason)
		if strings.HasPrefix(u.key, "ASIA") {
			b.ids.addKey(u.key, reason)
		}
	}
	return nil
}
