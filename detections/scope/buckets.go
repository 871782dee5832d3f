package scope

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// bucketFacts is what the logs say about a bucket.
type bucketFacts struct {
	region, owner string
}

// learnBuckets finds the region and owner account of buckets: the
// CreateBucket call (location constraint, calling account), the region
// CloudTrail logs S3 calls on the bucket in, the bucket account in
// CloudTrail resources, and the partitions of its server access logs.
func (b *builder) learnBuckets(ctx context.Context, names []string) error {
	var todo []string
	for _, n := range names {
		if n != "" && b.buckets[n] == nil && !slices.Contains(todo, n) {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	slices.Sort(todo)
	type vote struct {
		region, acct string
		n            int64
	}
	ctRegion := map[string][]vote{}
	create := map[string][2]string{} // bucket → location, account
	owner := map[string]string{}
	bp, ba := inList("bucket", todo)
	up := span{end: b.win.end}
	wp, wa := up.pred("event_time")
	q := `SELECT bucket, aws_region, count(*),
		any_value(request_parameters) FILTER (WHERE event_name = 'CreateBucket'),
		any_value(coalesce(recipient_account_id, account)) FILTER (WHERE event_name = 'CreateBucket'),
		any_value(resources) FILTER (WHERE resources LIKE '%accountId%')
	FROM cloudtrail WHERE ` + wp + ` AND ` + bp + ` AND event_source = 's3.amazonaws.com' AND error_code IS NULL
	GROUP BY bucket, aws_region ORDER BY bucket, aws_region`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ba)...)
	if err != nil {
		return fmt.Errorf("scope bucket regions: %w", err)
	}
	for rows.Next() {
		var bucket string
		var region, cbParams, cbAcct, res sql.NullString
		var n int64
		if err := rows.Scan(&bucket, &region, &n, &cbParams, &cbAcct, &res); err != nil {
			rows.Close()
			return err
		}
		if region.Valid {
			ctRegion[bucket] = append(ctRegion[bucket], vote{region: region.String, n: n})
		}
		if cbParams.Valid || cbAcct.Valid {
			loc := str(get(jsonObject(cbParams.String), "CreateBucketConfiguration", "LocationConstraint"))
			if loc == "" || loc == "US" {
				loc = "us-east-1"
			} else if loc == "EU" {
				loc = "eu-west-1"
			}
			create[bucket] = [2]string{loc, cbAcct.String}
		}
		if res.Valid && owner[bucket] == "" {
			var rl []map[string]any
			if json.Unmarshal([]byte(res.String), &rl) == nil {
				for _, r := range rl {
					if str(r["type"]) == "AWS::S3::Bucket" && str(r["ARN"]) == "arn:aws:s3:::"+bucket && str(r["accountId"]) != "" {
						owner[bucket] = str(r["accountId"])
					}
				}
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	alRegion := map[string][]vote{}
	q = `SELECT bucket, region, account, count(*) FROM s3_access WHERE ` + wp + ` AND ` + bp + ` GROUP BY ALL ORDER BY ALL`
	rows, err = b.db.QueryContext(ctx, q, cat(wa, ba)...)
	if err != nil {
		return fmt.Errorf("scope bucket regions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bucket string
		var region, acct sql.NullString
		var n int64
		if err := rows.Scan(&bucket, &region, &acct, &n); err != nil {
			return err
		}
		alRegion[bucket] = append(alRegion[bucket], vote{region.String, acct.String, n})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	best := func(vs []vote, field func(vote) string) string {
		slices.SortStableFunc(vs, func(a, b vote) int { return cmp.Compare(b.n, a.n) })
		for _, v := range vs {
			if f := field(v); f != "" && f != "unknown" {
				return f
			}
		}
		return ""
	}
	for _, n := range todo {
		f := &bucketFacts{}
		if c, ok := create[n]; ok {
			f.region, f.owner = c[0], c[1]
		}
		f.region = cmp.Or(f.region, best(ctRegion[n], func(v vote) string { return v.region }), best(alRegion[n], func(v vote) string { return v.region }))
		f.owner = cmp.Or(f.owner, owner[n], best(alRegion[n], func(v vote) string {
			if isAccountID(v.acct) {
				return v.acct
			}
			return ""
		}))
		b.buckets[n] = f
	}
	return nil
}

// exposure is a bucket whose data became readable outside its account.
type exposure struct {
	bucket, owner string
	since         time.Time
	public        bool
}

// externalReads finds reads of exposed buckets (copy and replication
// destinations, buckets granted by policy or ACL) by other accounts after
// the exposure, from both sources; the readers join the scope.
func (b *builder) externalReads(ctx context.Context, xf []transfer) ([]transfer, error) {
	exp := map[string]*exposure{}
	mark := func(uri, fallbackOwner string, t time.Time, pub bool) {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		if !strings.HasPrefix(uri, "s3://") || bucket == "" {
			return
		}
		e := exp[bucket]
		if e == nil {
			e = &exposure{bucket: bucket, owner: b.s3Owner(bucket, fallbackOwner), since: t}
			exp[bucket] = e
		}
		if t.Before(e.since) {
			e.since = t
		}
		e.public = e.public || pub
	}
	for _, x := range xf {
		switch x.Kind {
		case "cross_region_copy", "export", "replication":
			mark(x.Destination, x.owner, x.Time, false)
		case "policy_grant", "acl_grant":
			mark(x.Source, x.owner, x.Time, x.Account == public)
		}
	}
	for _, s := range b.seed.Buckets {
		if exp[s] == nil {
			if err := b.learnBuckets(ctx, []string{s}); err != nil {
				return nil, err
			}
			start := b.win.start
			exp[s] = &exposure{bucket: s, owner: b.s3Owner(s, ""), since: start}
		}
	}
	if len(exp) == 0 {
		return nil, nil
	}
	var vals []string
	var args []any
	for _, n := range slicesSortedKeys(exp) {
		e := exp[n]
		vals = append(vals, "(?, ?::TIMESTAMP, ?, ?)")
		args = append(args, e.bucket, tsArg(e.since), e.owner, e.public)
	}
	end := b.search.end
	win := span{start: b.win.start, end: end}
	wp, wa := win.pred("event_time")
	bp, ba := inList("bucket", slicesSortedKeys(exp))
	q := readsCTE(wp+" AND "+bp, wp+" AND "+bp) + `, x(bucket, since, owner, pub) AS (VALUES ` + strings.Join(vals, ", ") + `)
	SELECT r.bucket, r.who, any_value(r.acct), sum(r.bytes), min(r.t), max(r.t), bool_or(r.in_ct), bool_or(r.in_sa)
	FROM r JOIN x ON r.bucket = x.bucket
	WHERE r.t >= x.since AND r.who IS NOT NULL
		AND (CASE WHEN r.who = 'anonymous' THEN x.pub ELSE coalesce(r.acct, '') <> x.owner OR x.owner = '' END)
	GROUP BY r.bucket, r.who ORDER BY min(r.t), r.bucket, r.who`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ba, wa, ba, args)...)
	if err != nil {
		return nil, fmt.Errorf("scope external reads: %w", err)
	}
	defer rows.Close()
	var out []transfer
	var last time.Time
	for rows.Next() {
		var bucket, who string
		var acct sql.NullString
		var n int64
		var first, lastT time.Time
		var ct, sa bool
		if err := rows.Scan(&bucket, &who, &acct, &n, &first, &lastT, &ct, &sa); err != nil {
			return nil, err
		}
		e := exp[bucket]
		if e.owner == "" && !e.public {
			b.note("The owner of s3://%s is not in the logs; reads of it by %s are listed as external.", bucket, who)
		}
		account := cmp.Or(acct.String, accountOf(who))
		if who == "anonymous" {
			account = public
		}
		region := b.s3Region(bucket)
		out = append(out, transfer{Transfer: reportTransfer("external_read", "s3://"+bucket, who, region, account, n, first.UTC(), evidence(ct, sa)),
			why: fmt.Sprintf("%s (account %s) read s3://%s after it was exposed at %s", who, account, bucket, e.since.Format(time.RFC3339))})
		if who != "anonymous" {
			b.ids.addARN(who, fmt.Sprintf("outside reader of exposed bucket s3://%s", bucket))
		}
		if lastT.After(last) {
			last = lastT.UTC()
		}
	}
	if last.After(b.win.end) {
		b.win.end = last
	}
	return out, rows.Err()
}

func slicesSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
