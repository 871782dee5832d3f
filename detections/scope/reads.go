package scope

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leakscope/leakscope/report"
)

// ctReads and saReads are the operations that return object content.
const (
	ctReads = `('GetObject', 'GetObjectVersion', 'GetObjectTorrent', 'SelectObjectContent')`
	saReads = `('REST.GET.OBJECT', 'REST.GET.OBJECT_TORRENT', 'REST.POST.SELECT', 'WEBSITE.GET.OBJECT', 'BATCH.GET.OBJECT')`
)

// readsCTE defines "r": one row per successful read request matching
// the predicates, a request logged by both CloudTrail and the access log
// counted once (same S3 request id and bucket). Columns: bucket, key,
// bytes, t, who, acct, in_ct, in_sa. The access-log side also takes the
// log lines of requests the CloudTrail side selected, so that a request
// found by its access key still gets its access-log evidence.
func readsCTE(ctWhere, saWhere string) string {
	return `WITH ct AS (
	SELECT coalesce(request_id, source_uri || '#' || CAST(source_offset AS VARCHAR)) AS rid, bucket, object_key AS key,
		bytes_out AS bytes, event_time AS t, principal_arn AS who, account_id AS acct
	FROM cloudtrail
	WHERE event_source = 's3.amazonaws.com' AND event_name IN ` + ctReads + ` AND error_code IS NULL AND bucket IS NOT NULL AND ` + ctWhere + `
), c AS (
	SELECT rid, bucket, any_value(key) AS key, max(bytes) AS bytes, min(t) AS t, any_value(who) AS who, any_value(acct) AS acct
	FROM ct GROUP BY rid, bucket
), sa AS (
	SELECT coalesce(request_id, source_uri || '#' || CAST(source_offset AS VARCHAR)) AS rid, bucket, key, bytes_sent AS bytes, event_time AS t,
		CASE WHEN requester_anonymous THEN 'anonymous' ELSE requester_arn END AS who, requester_account AS acct
	FROM s3_access
	WHERE operation IN ` + saReads + ` AND error_code IS NULL AND coalesce(http_status, 200) < 300 AND key IS NOT NULL
		AND (` + saWhere + ` OR request_id IN (SELECT rid FROM c))
), s AS (
	SELECT rid, bucket, any_value(key) AS key, max(bytes) AS bytes, min(t) AS t, any_value(who) AS who, any_value(acct) AS acct
	FROM sa GROUP BY rid, bucket
), r AS (
	SELECT coalesce(c.bucket, s.bucket) AS bucket, coalesce(c.key, s.key) AS key, coalesce(s.bytes, c.bytes, 0) AS bytes,
		least(c.t, s.t) AS t, coalesce(c.who, s.who) AS who, coalesce(c.acct, s.acct) AS acct,
		c.rid IS NOT NULL AS in_ct, s.rid IS NOT NULL AS in_sa
	FROM c FULL OUTER JOIN s ON c.rid = s.rid AND c.bucket = s.bucket
)
`
}

func evidence(ct, sa bool) []string {
	var ev []string
	if ct {
		ev = append(ev, "cloudtrail")
	}
	if sa {
		ev = append(ev, "s3_access")
	}
	return ev
}

// objects lists every object in-scope identities read in the window.
func (b *builder) objects(ctx context.Context) ([]report.Object, error) {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	sw, sa := b.ids.saWho()
	q := readsCTE(wp+" AND "+cw, wp+" AND "+sw) + `
	SELECT bucket, key, sum(bytes), min(t), max(t), bool_or(in_ct), bool_or(in_sa)
	FROM r GROUP BY bucket, key ORDER BY bucket, key`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca, wa, sa)...)
	if err != nil {
		return nil, fmt.Errorf("scope objects: %w", err)
	}
	defer rows.Close()
	out := []report.Object{}
	for rows.Next() {
		var o report.Object
		var bucket, key string
		var ct, s3 bool
		if err := rows.Scan(&bucket, &key, &o.Bytes, &o.FirstSeen, &o.LastSeen, &ct, &s3); err != nil {
			return nil, err
		}
		o.URI = "s3://" + bucket + "/" + key
		o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
		o.Evidence = evidence(ct, s3)
		out = append(out, o)
	}
	return out, rows.Err()
}

type actor struct {
	arn         string
	first, last time.Time
	keys        []string
}

type activityResult struct {
	principals []actor
	keys, ips  []string
	issued     []time.Time
}

// activity is who acted, with which keys and from which addresses.
func (b *builder) activity(ctx context.Context) (*activityResult, error) {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	sw, sa := b.ids.saWho()
	q := `SELECT principal_arn, access_key_id, source_ip, min(event_time), max(event_time) FROM cloudtrail WHERE ` + wp + ` AND ` + cw + ` GROUP BY ALL
	UNION ALL
	SELECT requester_arn, NULL, remote_ip, min(event_time), max(event_time) FROM s3_access WHERE ` + wp + ` AND ` + sw + ` GROUP BY ALL`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca, wa, sa)...)
	if err != nil {
		return nil, fmt.Errorf("scope activity: %w", err)
	}
	defer rows.Close()
	by := map[string]*actor{}
	keys, ips := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var arn, key, ip sql.NullString
		var first, last time.Time
		if err := rows.Scan(&arn, &key, &ip, &first, &last); err != nil {
			return nil, err
		}
		if arn.Valid {
			a := by[arn.String]
			if a == nil {
				a = &actor{arn: arn.String, first: first.UTC(), last: last.UTC()}
				by[arn.String] = a
			}
			if first.Before(a.first) {
				a.first = first.UTC()
			}
			if last.After(a.last) {
				a.last = last.UTC()
			}
			if key.Valid && !slices.Contains(a.keys, key.String) {
				a.keys = append(a.keys, key.String)
				slices.Sort(a.keys)
			}
		}
		if key.Valid {
			keys[key.String] = true
		}
		if ip.Valid && publicAddr(ip.String) {
			ips[ip.String] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res := &activityResult{keys: slices.Sorted(maps.Keys(keys)), ips: slices.Sorted(maps.Keys(ips))}
	for _, k := range slices.Sorted(maps.Keys(by)) {
		res.principals = append(res.principals, *by[k])
	}
	// Credentials issued to in-scope sessions in the window: their keys
	// are in scope and the issuing call starts the story.
	ap, aa := inList("issued_arn", b.ids.sortedARNs())
	rp, ra := prefixAny("issued_arn", b.ids.rolePrefixes())
	q = `SELECT issued_access_key_id, event_time FROM cloudtrail WHERE ` + wp + `
		AND event_name IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetSessionToken', 'GetFederationToken')
		AND error_code IS NULL AND ` + or(ap, rp) + ` ORDER BY event_time`
	rows2, err := b.db.QueryContext(ctx, q, cat(wa, aa, ra)...)
	if err != nil {
		return nil, fmt.Errorf("scope issued credentials: %w", err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var key sql.NullString
		var t time.Time
		if err := rows2.Scan(&key, &t); err != nil {
			return nil, err
		}
		if key.Valid && !slices.Contains(res.keys, key.String) {
			res.keys = append(res.keys, key.String)
		}
		res.issued = append(res.issued, t.UTC())
	}
	slices.Sort(res.keys)
	return res, rows2.Err()
}
