package scope

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/report"
)

// transfer is a §6 transfer with the reason it is one.
type transfer struct {
	report.Transfer
	why string
	// owner is the account that owns the exposed bucket (the copy or
	// replication destination, the granted bucket), as far as known.
	owner string
}

// transferEvents are the CloudTrail calls that move or expose data.
var transferEvents = []string{
	"CopyObject", "PutBucketReplication", "PutBucketPolicy", "PutBucketAcl", "PutObjectAcl",
	"ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute",
	"CopySnapshot", "CopyImage", "CopyDBSnapshot", "CopyDBClusterSnapshot",
	"StartExportTask", "CreateInstanceExportTask", "ExportTableToPointInTime", "ExportSnapshot", "ExportImage",
}

// ctEvent is one transfer call as logged.
type ctEvent struct {
	t                               time.Time
	name, region, recipient, caller string
	bucket, key, requestID          string
	params, response, resources     map[string]any
	resourceList                    []any
	copyGet, copyPut                sql.NullInt64
}

// public is the destination and account of grants to everyone.
const public = "*"

// agg aggregates transfers per (kind, source, destination).
type agg struct {
	list []*transfer
	idx  map[string]*transfer
}

func (a *agg) add(x transfer) {
	if a.idx == nil {
		a.idx = map[string]*transfer{}
	}
	k := x.Kind + "\x00" + x.Source + "\x00" + x.Destination
	if y := a.idx[k]; y != nil {
		y.Bytes += x.Bytes
		if x.Time.Before(y.Time) {
			y.Time = x.Time
		}
		for _, e := range x.Evidence {
			if !slices.Contains(y.Evidence, e) {
				y.Evidence = append(y.Evidence, e)
			}
		}
		slices.Sort(y.Evidence)
		return
	}
	c := x
	a.idx[k] = &c
	a.list = append(a.list, &c)
}

// transfers finds data moved or exposed by in-scope identities.
func (b *builder) transfers(ctx context.Context) ([]transfer, error) {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	bp, ba := inList("bucket", b.seed.Buckets)
	ep, ea := inList("event_name", transferEvents)
	who := or(cw, bp)
	q := `WITH e AS (
		SELECT event_time, event_name, aws_region, coalesce(recipient_account_id, account) AS recipient_account_id, principal_arn, bucket, object_key, request_id,
			request_parameters, response_elements, resources, source_uri, source_offset
		FROM cloudtrail WHERE ` + wp + ` AND ` + ep + ` AND error_code IS NULL AND ` + who + `
	), g AS (
		SELECT request_id, max(object_size) FILTER (WHERE operation = 'REST.COPY.OBJECT_GET') AS get_size,
			max(object_size) FILTER (WHERE operation = 'REST.COPY.OBJECT') AS put_size
		FROM s3_access WHERE ` + wp + ` AND operation IN ('REST.COPY.OBJECT_GET', 'REST.COPY.OBJECT')
			AND request_id IN (SELECT request_id FROM e WHERE event_name = 'CopyObject')
		GROUP BY request_id
	)
	SELECT e.event_time, e.event_name, e.aws_region, e.recipient_account_id, e.principal_arn, e.bucket, e.object_key, e.request_id,
		e.request_parameters, e.response_elements, e.resources, g.get_size, g.put_size
	FROM e LEFT JOIN g ON e.event_name = 'CopyObject' AND e.request_id = g.request_id
	ORDER BY e.event_time, e.source_uri, e.source_offset`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ea, ca, ba, wa)...)
	if err != nil {
		return nil, fmt.Errorf("scope transfers: %w", err)
	}
	var evs []*ctEvent
	for rows.Next() {
		var e ctEvent
		var region, recip, caller, bucket, key, rid, rp, re, rs sql.NullString
		if err := rows.Scan(&e.t, &e.name, &region, &recip, &caller, &bucket, &key, &rid, &rp, &re, &rs, &e.copyGet, &e.copyPut); err != nil {
			rows.Close()
			return nil, err
		}
		e.t = e.t.UTC()
		e.region, e.recipient, e.caller, e.bucket, e.key, e.requestID = region.String, recip.String, caller.String, bucket.String, key.String, rid.String
		e.params, e.response = jsonObject(rp.String), jsonObject(re.String)
		_ = json.Unmarshal([]byte(rs.String), &e.resourceList)
		evs = append(evs, &e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Learn the regions and owners of every bucket involved.
	var names []string
	for _, e := range evs {
		if e.bucket != "" {
			names = append(names, e.bucket)
		}
		if e.name == "CopyObject" {
			if sb, _ := copySource(e.params); sb != "" {
				names = append(names, sb)
			}
		}
		for _, d := range replicationDests(e.params) {
			names = append(names, d.bucket)
		}
		if s := exportBucket(e); s != "" {
			names = append(names, s)
		}
	}
	alCopies, err := b.accessLogCopies(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range alCopies {
		names = append(names, c.src, c.dst)
	}
	if err := b.learnBuckets(ctx, names); err != nil {
		return nil, err
	}
	var a agg
	for _, e := range evs {
		b.transferOf(e, &a)
	}
	for _, c := range alCopies {
		b.copyTransfer(&a, c.t, c.src, c.dst, c.requester, c.size, true, false,
			fmt.Sprintf("server access logs: %s copied objects from s3://%s to s3://%s (request ids paired across both buckets' logs)", c.requester, c.src, c.dst))
	}
	out := make([]transfer, 0, len(a.list))
	for _, x := range a.list {
		if x.Evidence == nil {
			x.Evidence = []string{}
		}
		out = append(out, *x)
	}
	return out, nil
}

func jsonObject(s string) map[string]any {
	if s == "" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

// get walks nested objects by keys (case-insensitive on a miss).
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		x, ok := m[k]
		if !ok {
			for mk, mv := range m {
				if strings.EqualFold(mk, k) {
					x, ok = mv, true
					break
				}
			}
		}
		if !ok {
			return nil
		}
		v = x
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	}
	return ""
}

// list turns a value that AWS logs as an object or an array into a list.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		if s := str(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// copySource parses x-amz-copy-source ("bucket/key", URL-encoded, maybe
// with a leading slash and ?versionId=).
func copySource(p map[string]any) (string, string) {
	s := str(get(p, "x-amz-copy-source"))
	if s == "" {
		return "", ""
	}
	s, _, _ = strings.Cut(s, "?versionId=")
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	s = strings.TrimPrefix(s, "/")
	bucket, key, _ := strings.Cut(s, "/")
	return bucket, key
}

type replDest struct{ bucket, account string }

func replicationDests(p map[string]any) []replDest {
	var out []replDest
	for _, r := range list(get(p, "ReplicationConfiguration", "Rule")) {
		if st := str(get(r, "Status")); st != "" && st != "Enabled" {
			continue
		}
		d := get(r, "Destination")
		bucket := strings.TrimPrefix(str(get(d, "Bucket")), "arn:aws:s3:::")
		if bucket == "" {
			continue
		}
		out = append(out, replDest{bucket, str(get(d, "Account"))})
	}
	return out
}

func exportBucket(e *ctEvent) string {
	switch e.name {
	case "StartExportTask":
		return str(get(e.params, "s3BucketName"))
	case "CreateInstanceExportTask":
		return cmp.Or(str(get(e.params, "exportToS3", "s3Bucket")), str(get(e.params, "exportToS3Task", "s3Bucket")))
	case "ExportTableToPointInTime":
		return str(get(e.params, "s3Bucket"))
	case "ExportImage":
		return str(get(e.params, "s3ExportLocation", "s3Bucket"))
	}
	return ""
}

// s3Owner is the account that owns a bucket: learned, else the account
// the call was logged in.
func (b *builder) s3Owner(bucket, fallback string) string {
	if f := b.buckets[bucket]; f != nil && f.owner != "" {
		return f.owner
	}
	return fallback
}

func (b *builder) s3Region(bucket string) string {
	if f := b.buckets[bucket]; f != nil {
		return f.region
	}
	return ""
}

func (b *builder) copyTransfer(a *agg, t time.Time, src, dst, caller string, size int64, sized, ct bool, why string) {
	srcOwner, dstOwner := b.s3Owner(src, ""), b.s3Owner(dst, "")
	srcRegion, dstRegion := b.s3Region(src), b.s3Region(dst)
	kind, acct := "", ""
	switch {
	case srcOwner != "" && dstOwner != "" && srcOwner != dstOwner:
		kind, acct = report.TransferExport, dstOwner
	case srcRegion != "" && dstRegion != "" && srcRegion != dstRegion:
		kind, acct = report.TransferCrossRegionCopy, cmp.Or(dstOwner, srcOwner)
	default:
		return
	}
	ev := []string{}
	if ct {
		ev = append(ev, "cloudtrail")
	}
	if sized {
		ev = append(ev, "s3_access")
	}
	a.add(transfer{Transfer: report.Transfer{Kind: kind, Source: "s3://" + src, Destination: "s3://" + dst,
		SourceRegion: srcRegion, DestinationRegion: dstRegion, Account: acct, Bytes: size, Time: t, Evidence: ev}, why: why, owner: cmp.Or(dstOwner, srcOwner)})
}

// transferOf turns one logged call into transfers.
func (b *builder) transferOf(e *ctEvent, a *agg) {
	ct := []string{"cloudtrail"}
	owner := cmp.Or(b.s3Owner(e.bucket, ""), e.recipient)
	add := func(kind, src, dst, srcRegion, dstRegion, acct, why string) {
		exposedOwner := owner
		if kind == report.TransferReplication {
			exposedOwner = acct
		}
		a.add(transfer{Transfer: report.Transfer{Kind: kind, Source: src, Destination: dst, SourceRegion: srcRegion,
			DestinationRegion: dstRegion, Account: acct, Time: e.t, Evidence: slices.Clone(ct)},
			why: fmt.Sprintf("%s by %s at %s: %s", e.name, e.caller, e.t.Format(time.RFC3339), why), owner: exposedOwner})
	}
	switch e.name {
	case "CopyObject":
		src, _ := copySource(e.params)
		if src == "" || e.bucket == "" {
			return
		}
		size := cmp.Or(e.copyGet, e.copyPut)
		b.copyTransfer(a, e.t, src, e.bucket, e.caller, size.Int64, size.Valid, true,
			fmt.Sprintf("CopyObject calls by %s; bytes are the object sizes logged by S3 server access logs (REST.COPY.OBJECT_GET / REST.COPY.OBJECT)", e.caller))
	case "PutBucketReplication":
		srcRegion := cmp.Or(b.s3Region(e.bucket), e.region)
		for _, d := range replicationDests(e.params) {
			acct := cmp.Or(d.account, b.s3Owner(d.bucket, ""), owner)
			dstRegion := b.s3Region(d.bucket)
			if acct == owner && dstRegion == srcRegion {
				continue
			}
			if dstRegion == "" {
				b.note("The region of replication destination s3://%s is not in the logs; destination_region is empty.", d.bucket)
			}
			add(report.TransferReplication, "s3://"+e.bucket, "s3://"+d.bucket, srcRegion, dstRegion, acct,
				"replication of s3://"+e.bucket+" to s3://"+d.bucket+" in account "+acct)
		}
	case "PutBucketPolicy":
		region := cmp.Or(b.s3Region(e.bucket), e.region)
		pol := get(e.params, "bucketPolicy")
		if s, ok := pol.(string); ok {
			pol = jsonObject(s)
		}
		for _, g := range policyGrantees(pol, owner) {
			add(report.TransferPolicyGrant, "s3://"+e.bucket, g.dest, region, region, g.account, "bucket policy allows "+g.dest+" "+g.actions)
		}
	case "PutBucketAcl", "PutObjectAcl":
		region := cmp.Or(b.s3Region(e.bucket), e.region)
		src := "s3://" + e.bucket
		if e.name == "PutObjectAcl" && e.key != "" {
			src += "/" + e.key
		}
		for _, g := range aclGrantees(e.params) {
			add(report.TransferACLGrant, src, g.dest, region, region, g.account, "ACL grants "+g.actions+" to "+g.dest)
		}
	case "ModifySnapshotAttribute":
		id := str(get(e.params, "snapshotId"))
		src := "arn:aws:ec2:" + e.region + ":" + e.recipient + ":snapshot/" + id
		for _, g := range permissionAdds(get(e.params, "createVolumePermission"), e.params) {
			add(report.TransferSnapshotShare, src, g.dest, e.region, e.region, g.account, "snapshot "+id+" shared with "+g.dest)
		}
	case "ModifyImageAttribute":
		id := str(get(e.params, "imageId"))
		src := "arn:aws:ec2:" + e.region + ":" + e.recipient + ":image/" + id
		for _, g := range permissionAdds(get(e.params, "launchPermission"), e.params) {
			add(report.TransferImageShare, src, g.dest, e.region, e.region, g.account, "image "+id+" shared with "+g.dest)
		}
	case "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute":
		id, typ := str(get(e.params, "dBSnapshotIdentifier")), "snapshot"
		if e.name == "ModifyDBClusterSnapshotAttribute" {
			id, typ = str(get(e.params, "dBClusterSnapshotIdentifier")), "cluster-snapshot"
		}
		if !strings.EqualFold(str(get(e.params, "attributeName")), "restore") {
			return
		}
		src := id
		if !strings.HasPrefix(id, "arn:") {
			src = "arn:aws:rds:" + e.region + ":" + e.recipient + ":" + typ + ":" + id
		}
		for _, v := range strs(get(e.params, "valuesToAdd")) {
			g := grantee(v)
			add(report.TransferDBSnapshotShare, src, g.dest, e.region, e.region, g.account, "DB snapshot "+id+" restorable by "+g.dest)
		}
	case "CopySnapshot", "CopyImage":
		srcRegion := str(get(e.params, "sourceRegion"))
		dstRegion := cmp.Or(str(get(e.params, "destinationRegion")), e.region)
		typ, srcID, dstID := "snapshot", str(get(e.params, "sourceSnapshotId")), str(get(e.response, "snapshotId"))
		if e.name == "CopyImage" {
			typ, srcID, dstID = "image", str(get(e.params, "sourceImageId")), str(get(e.response, "imageId"))
		}
		if srcRegion == "" || srcRegion == dstRegion {
			return
		}
		add(report.TransferCrossRegionCopy, "arn:aws:ec2:"+srcRegion+":"+e.recipient+":"+typ+"/"+srcID,
			"arn:aws:ec2:"+dstRegion+":"+e.recipient+":"+typ+"/"+cmp.Or(dstID, "unknown"), srcRegion, dstRegion, e.recipient,
			typ+" "+srcID+" copied from "+srcRegion+" to "+dstRegion)
	case "CopyDBSnapshot", "CopyDBClusterSnapshot":
		srcID, dstID, typ := str(get(e.params, "sourceDBSnapshotIdentifier")), str(get(e.params, "targetDBSnapshotIdentifier")), "snapshot"
		if e.name == "CopyDBClusterSnapshot" {
			srcID, dstID, typ = str(get(e.params, "sourceDBClusterSnapshotIdentifier")), str(get(e.params, "targetDBClusterSnapshotIdentifier")), "cluster-snapshot"
		}
		srcRegion := str(get(e.params, "sourceRegion"))
		if strings.HasPrefix(srcID, "arn:") {
			if p := strings.SplitN(srcID, ":", 6); len(p) == 6 {
				srcRegion = cmp.Or(srcRegion, p[3])
			}
		}
		if srcRegion == "" || srcRegion == e.region {
			return
		}
		src := srcID
		if !strings.HasPrefix(src, "arn:") {
			src = "arn:aws:rds:" + srcRegion + ":" + e.recipient + ":" + typ + ":" + srcID
		}
		add(report.TransferCrossRegionCopy, src, "arn:aws:rds:"+e.region+":"+e.recipient+":"+typ+":"+dstID, srcRegion, e.region, e.recipient,
			"DB "+typ+" copied from "+srcRegion+" to "+e.region)
	case "StartExportTask", "CreateInstanceExportTask", "ExportTableToPointInTime", "ExportImage", "ExportSnapshot":
		var src string
		switch e.name {
		case "StartExportTask":
			src = str(get(e.params, "sourceArn"))
		case "CreateInstanceExportTask":
			src = "arn:aws:ec2:" + e.region + ":" + e.recipient + ":instance/" + str(get(e.params, "instanceId"))
		case "ExportTableToPointInTime":
			src = str(get(e.params, "tableArn"))
		case "ExportImage":
			src = "arn:aws:ec2:" + e.region + ":" + e.recipient + ":image/" + str(get(e.params, "imageId"))
		case "ExportSnapshot":
			src = "arn:aws:lightsail:" + e.region + ":" + e.recipient + ":snapshot/" + str(get(e.params, "sourceSnapshotName"))
		}
		bucket := exportBucket(e)
		dst, dstRegion, acct := "arn:aws:ec2:"+e.region+":"+e.recipient, e.region, e.recipient
		if bucket != "" {
			dst = "s3://" + bucket
			dstRegion = b.s3Region(bucket)
			acct = cmp.Or(str(get(e.params, "s3BucketOwner")), b.s3Owner(bucket, ""), e.recipient)
		}
		add(report.TransferExport, src, dst, e.region, dstRegion, acct, "export of "+src+" to "+dst)
	}
}

// grant is one outside grantee.
type grant struct{ dest, account, actions string }

// grantee normalises an account id, ARN, "all" or "*" to a grant.
func grantee(v string) grant {
	switch {
	case v == "*" || strings.EqualFold(v, "all"):
		return grant{dest: public, account: public}
	case isAccountID(v):
		return grant{dest: "arn:aws:iam::" + v + ":root", account: v}
	}
	return grant{dest: v, account: accountOf(v)}
}

// readActions reports whether a policy's actions let the grantee read or
// take over data.
func readActions(v any) (bool, string) {
	acts := strs(v)
	for _, a := range acts {
		l := strings.ToLower(a)
		if l == "*" || l == "s3:*" || strings.HasPrefix(l, "s3:get") || strings.HasPrefix(l, "s3:list") || strings.HasPrefix(l, "s3:replicate") || strings.HasPrefix(l, "s3:putbucketpolicy") {
			return true, strings.Join(acts, ", ")
		}
	}
	return false, ""
}

// orgConditions limit "*" to the owner's organisation or network.
var orgConditions = []string{"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:sourcevpce", "aws:sourcevpc", "aws:resourceorgid", "aws:sourceorgid"}

// policyGrantees lists outside principals an Allow statement gives read
// access to.
func policyGrantees(pol any, owner string) []grant {
	var out []grant
	for _, st := range list(get(pol, "Statement")) {
		if !strings.EqualFold(str(get(st, "Effect")), "Allow") {
			continue
		}
		ok, acts := readActions(get(st, "Action"))
		if !ok {
			continue
		}
		limited := false
		if cond, ok := get(st, "Condition").(map[string]any); ok {
			for _, c := range cond {
				if m, ok := c.(map[string]any); ok {
					for k := range m {
						if slices.Contains(orgConditions, strings.ToLower(k)) {
							limited = true
						}
					}
				}
			}
		}
		p := get(st, "Principal")
		var ids []string
		if s, ok := p.(string); ok {
			ids = []string{s}
		} else {
			ids = strs(get(p, "AWS"))
			for _, c := range strs(get(p, "CanonicalUser")) {
				out = append(out, grant{dest: "canonical-user:" + c, actions: acts})
			}
		}
		for _, id := range ids {
			g := grantee(id)
			if g.dest == public && limited {
				continue
			}
			if g.account != "" && g.account == owner {
				continue
			}
			g.actions = acts
			out = append(out, g)
		}
	}
	return out
}

// ACL groups that mean everyone.
const (
	allUsers  = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

// aclGrantees lists public and outside grants in an ACL change.
func aclGrantees(p map[string]any) []grant {
	var out []grant
	seen := map[string]bool{}
	addG := func(g grant) {
		if !seen[g.dest+g.actions] {
			seen[g.dest+g.actions] = true
			out = append(out, g)
		}
	}
	switch a := str(get(p, "x-amz-acl")); a {
	case "public-read", "public-read-write":
		addG(grant{dest: allUsers, account: public, actions: a})
	case "authenticated-read":
		addG(grant{dest: authUsers, account: public, actions: a})
	}
	acp := get(p, "AccessControlPolicy")
	owner := str(get(acp, "Owner", "ID"))
	for _, g := range list(get(acp, "AccessControlList", "Grant")) {
		perm := str(get(g, "Permission"))
		if perm == "WRITE" || perm == "WRITE_ACP" {
			continue
		}
		gr := get(g, "Grantee")
		switch {
		case str(get(gr, "URI")) == allUsers || str(get(gr, "URI")) == authUsers:
			addG(grant{dest: str(get(gr, "URI")), account: public, actions: perm})
		case str(get(gr, "ID")) != "" && str(get(gr, "ID")) != owner:
			addG(grant{dest: "canonical-user:" + str(get(gr, "ID")), actions: perm})
		case str(get(gr, "EmailAddress")) != "":
			addG(grant{dest: "email:" + str(get(gr, "EmailAddress")), actions: perm})
		}
	}
	for _, h := range []string{"x-amz-grant-read", "x-amz-grant-full-control", "x-amz-grant-read-acp"} {
		for _, part := range strings.Split(str(get(p, h)), ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			switch strings.ToLower(k) {
			case "uri":
				if v == allUsers || v == authUsers {
					addG(grant{dest: v, account: public, actions: h})
				}
			case "id":
				addG(grant{dest: "canonical-user:" + v, actions: h})
			case "emailaddress":
				addG(grant{dest: "email:" + v, actions: h})
			}
		}
	}
	return out
}

// permissionAdds reads EC2 createVolumePermission / launchPermission
// additions, in both logged shapes.
func permissionAdds(perm any, params map[string]any) []grant {
	var out []grant
	for _, it := range list(get(perm, "add", "items")) {
		if u := str(get(it, "userId")); u != "" {
			out = append(out, grantee(u))
		}
		if g := str(get(it, "group")); g != "" {
			out = append(out, grantee(g))
		}
		for _, k := range []string{"organizationArn", "organizationalUnitArn"} {
			if o := str(get(it, k)); o != "" {
				out = append(out, grant{dest: o})
			}
		}
	}
	if strings.EqualFold(str(get(params, "operationType")), "add") {
		for _, u := range strs(get(params, "userIds")) {
			out = append(out, grantee(u))
		}
		for _, g := range strs(get(params, "groupNames")) {
			out = append(out, grantee(g))
		}
	}
	return out
}

// alCopy is a copy seen only in server access logs.
type alCopy struct {
	t                   time.Time
	src, dst, requester string
	size                int64
}

// accessLogCopies pairs REST.COPY.OBJECT_GET lines of in-scope requesters
// with the destination's REST.COPY.OBJECT line (same request id) for
// copies CloudTrail did not log.
func (b *builder) accessLogCopies(ctx context.Context) ([]alCopy, error) {
	wp, wa := b.win.pred("event_time")
	sw, sa := b.ids.saWho()
	q := `SELECT g.event_time, g.bucket, d.bucket, g.requester_arn, coalesce(g.object_size, d.object_size, 0)
	FROM (SELECT * FROM s3_access WHERE ` + wp + ` AND operation = 'REST.COPY.OBJECT_GET' AND request_id IS NOT NULL AND ` + sw + `) g
	JOIN (SELECT request_id, bucket, object_size FROM s3_access WHERE ` + wp + ` AND operation = 'REST.COPY.OBJECT') d
		ON d.request_id = g.request_id AND d.bucket <> g.bucket
	WHERE g.request_id NOT IN (SELECT request_id FROM cloudtrail WHERE ` + wp + ` AND event_name = 'CopyObject' AND request_id IS NOT NULL)
	ORDER BY g.event_time, g.request_id`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, sa, wa, wa)...)
	if err != nil {
		return nil, fmt.Errorf("scope access-log copies: %w", err)
	}
	defer rows.Close()
	var out []alCopy
	for rows.Next() {
		var c alCopy
		var req sql.NullString
		if err := rows.Scan(&c.t, &c.src, &c.dst, &req, &c.size); err != nil {
			return nil, err
		}
		c.t, c.requester = c.t.UTC(), req.String
		out = append(out, c)
	}
	return out, rows.Err()
}

func reportTransfer(kind, src, dst, region, account string, n int64, t time.Time, ev []string) report.Transfer {
	return report.Transfer{Kind: kind, Source: src, Destination: dst, SourceRegion: region, DestinationRegion: region,
		Account: account, Bytes: n, Time: t, Evidence: ev}
}
