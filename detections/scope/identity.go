package scope

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// idset is the in-scope identity set: principal and session ARNs, whole
// roles (a seeded role ARN), and access keys, each with why.
type idset struct {
	arns  map[string]string
	roles map[roleRef]string
	keys  map[string]string
	// issuedTo maps issued keys to the session they were issued to.
	issuedTo map[string]string
	// looked marks sessions and keys whose issuer is known or was looked up.
	looked map[string]bool
	// routine are the seeds whose owner's routine (baseline address and
	// user agent pairs) is left out of the rows ctWho and saWho select.
	routine []*routineSeed
}

func newIDSet() *idset {
	return &idset{arns: map[string]string{}, roles: map[roleRef]string{}, keys: map[string]string{}, issuedTo: map[string]string{}, looked: map[string]bool{}}
}

func (s *idset) addARN(arn, why string) bool {
	if arn == "" {
		return false
	}
	if _, ok := s.arns[arn]; ok {
		return false
	}
	if r, ok := roleOfARN(arn); ok && !isSessionARN(arn) {
		if _, ok := s.roles[r]; ok {
			return false
		}
		s.roles[r] = why
		return true
	}
	s.arns[arn] = why
	return true
}

func (s *idset) addKey(k, why string) bool {
	if k == "" {
		return false
	}
	if _, ok := s.keys[k]; ok {
		return false
	}
	s.keys[k] = why
	return true
}

func (s *idset) size() int { return len(s.arns) + len(s.roles) + len(s.keys) }

// has reports whether an actor ARN is in scope.
func (s *idset) has(arn string) bool {
	if _, ok := s.arns[arn]; ok {
		return true
	}
	if r, _, ok := sessionRole(arn); ok {
		_, in := s.roles[r]
		return in
	}
	return false
}

// keyInScope: a key is reported when it is a seed or was used or issued
// to an in-scope identity (issued keys of sessions that are out of scope
// are not).
func (s *idset) keyInScope(k string) bool {
	if to, ok := s.issuedTo[k]; ok {
		return s.has(to)
	}
	return true
}

func (s *idset) why(arn string, usedKeys []string) string {
	if w, ok := s.arns[arn]; ok {
		return w
	}
	if r, _, ok := sessionRole(arn); ok {
		if w, ok := s.roles[r]; ok {
			return "session of " + w
		}
	}
	for _, k := range usedKeys {
		if w, ok := s.keys[k]; ok {
			return "used access key " + k + " (" + w + ")"
		}
	}
	return "in-scope identity"
}

func (s *idset) sortedARNs() []string { return slices.Sorted(maps.Keys(s.arns)) }
func (s *idset) sortedKeys() []string { return slices.Sorted(maps.Keys(s.keys)) }

func (s *idset) rolePrefixes() []string {
	var out []string
	for r := range s.roles {
		out = append(out, r.sessionPrefix())
	}
	slices.Sort(out)
	return out
}

func (s *idset) roleARNs() []string {
	var out []string
	for r := range s.roles {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// ctWho selects CloudTrail rows of in-scope identities, less the seeds'
// owner's routine.
func (s *idset) ctWho() (string, []any) {
	kp, ka := inList("access_key_id", s.sortedKeys())
	ap, aa := inList("principal_arn", s.sortedARNs())
	rp, ra := prefixAny("principal_arn", s.rolePrefixes())
	who, args := or(kp, ap, rp), cat(ka, aa, ra)
	if np, na := s.routineCT(); np != "false" && who != "false" {
		return "(" + who + " AND NOT " + np + ")", cat(args, na)
	}
	return who, args
}

// saWho selects S3 access log rows of in-scope identities, less the
// seeds' owner's routine.
func (s *idset) saWho() (string, []any) {
	ap, aa := inList("requester_arn", s.sortedARNs())
	rp, ra := prefixAny("requester_arn", s.rolePrefixes())
	who, args := or(ap, rp), cat(aa, ra)
	if np, na := s.routineSA(); np != "false" && who != "false" {
		return "(" + who + " AND NOT " + np + ")", cat(args, na)
	}
	return who, args
}

// identities builds the identity set from the seeds: addresses become the
// identities that used them, then follow walks issued credentials forward
// and back.
func (b *builder) identities(ctx context.Context) error {
	b.ids = newIDSet()
	for _, p := range b.seed.Principals {
		b.ids.addARN(p, "seed principal "+p)
	}
	for _, k := range b.seed.AccessKeys {
		b.ids.addKey(k, "seed access key "+k)
	}
	if err := b.baselines(ctx); err != nil {
		return err
	}
	if err := b.fromAddresses(ctx); err != nil {
		return err
	}
	if err := b.fromBuckets(ctx); err != nil {
		return err
	}
	return b.follow(ctx)
}

// fromAddresses adds the sessions and keys that called from seed IPs.
func (b *builder) fromAddresses(ctx context.Context) error {
	if len(b.seed.IPs) == 0 {
		return nil
	}
	wp, wa := b.search.pred("event_time")
	ip, ia := inList("source_ip", b.seed.IPs)
	rp, ra := inList("remote_ip", b.seed.IPs)
	q := `SELECT DISTINCT principal_arn, access_key_id, source_ip FROM cloudtrail WHERE ` + wp + ` AND ` + ip + ` AND principal_arn IS NOT NULL
	UNION ALL
	SELECT DISTINCT requester_arn, NULL, remote_ip FROM s3_access WHERE ` + wp + ` AND ` + rp + ` AND requester_arn IS NOT NULL
	ORDER BY 1, 2, 3`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ia, wa, ra)...)
	if err != nil {
		return fmt.Errorf("scope seed addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var arn, key, addr sql.NullString
		if err := rows.Scan(&arn, &key, &addr); err != nil {
			return err
		}
		why := "called from seed address " + addr.String
		switch {
		case key.Valid && !isSessionARN(arn.String):
			// A user's long-term key from the address: follow the key,
			// not everything the user did.
			b.ids.addKey(key.String, why)
		default:
			b.ids.addARN(arn.String, why)
			if key.Valid {
				b.ids.addKey(key.String, why)
			}
		}
	}
	return rows.Err()
}

// fromBuckets adds identities that changed a seed bucket's exposure
// (policy, ACL, replication) or copied out of it in the window.
func (b *builder) fromBuckets(ctx context.Context) error {
	if len(b.seed.Buckets) == 0 {
		return nil
	}
	wp, wa := b.search.pred("event_time")
	bp, ba := inList("bucket", b.seed.Buckets)
	q := `SELECT DISTINCT principal_arn, event_name, bucket FROM cloudtrail WHERE ` + wp + ` AND ` + bp + `
		AND event_name IN ('PutBucketPolicy', 'PutBucketAcl', 'PutObjectAcl', 'PutBucketReplication', 'DeleteBucketPolicy', 'PutBucketPublicAccessBlock', 'DeletePublicAccessBlock')
		AND error_code IS NULL AND principal_arn IS NOT NULL ORDER BY 1, 2, 3`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ba)...)
	if err != nil {
		return fmt.Errorf("scope seed buckets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var arn, ev, bucket string
		if err := rows.Scan(&arn, &ev, &bucket); err != nil {
			return err
		}
		b.ids.addARN(arn, fmt.Sprintf("called %s on seed bucket %s", ev, bucket))
	}
	return rows.Err()
}

// credentialEvents issue credentials that CloudTrail logs in
// responseElements (the issued_access_key_id and issued_arn columns).
var credentialEvents = []string{"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken", "GetFederationToken", "AssumeRoot"}

// maxSessionAge bounds how long before the window a session used in it
// can have been issued (role chaining and GetSessionToken allow 36 h).
const maxSessionAge = 36 * time.Hour

// follow walks CloudTrail's credential links until nothing new appears:
// forward, the credentials in-scope identities obtained (role chains,
// across accounts); back, the caller that obtained a seed's session or
// temporary key; and the temporary keys of in-scope sessions and the
// sessions of in-scope temporary keys.
func (b *builder) follow(ctx context.Context) error {
	for hop := 0; hop < 16 && b.ids.size() < maxIdentities; hop++ {
		before := b.ids.size()
		if err := b.followIssued(ctx); err != nil {
			return err
		}
		if err := b.followIssuers(ctx); err != nil {
			return err
		}
		if err := b.followKeys(ctx); err != nil {
			return err
		}
		if b.ids.size() == before {
			return nil
		}
	}
	if b.ids.size() >= maxIdentities {
		b.note("Following credentials stopped at %d identities; the scope may be incomplete.", maxIdentities)
	}
	return nil
}

// maxIdentities bounds the identity set (and the bound parameters of
// every query).
const maxIdentities = 5000

func (b *builder) followIssued(ctx context.Context) error {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	ep, ea := inList("event_name", credentialEvents)
	q := `SELECT event_time, event_name, coalesce(principal_arn, access_key_id), issued_access_key_id, issued_arn, role_arn, account_id
	FROM cloudtrail WHERE ` + wp + ` AND ` + ep + ` AND error_code IS NULL
		AND (issued_access_key_id IS NOT NULL OR issued_arn IS NOT NULL) AND ` + cw + `
	ORDER BY event_time, source_uri, source_offset`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ea, ca)...)
	if err != nil {
		return fmt.Errorf("scope issued credentials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t time.Time
		var name string
		var caller, key, arn, role, acct sql.NullString
		if err := rows.Scan(&t, &name, &caller, &key, &arn, &role, &acct); err != nil {
			return err
		}
		into := ""
		if target := accountOf(cmp.Or(arn.String, role.String)); target != "" && acct.Valid && target != acct.String {
			into = " into account " + target
		}
		what := cmp.Or(arn.String, key.String)
		why := fmt.Sprintf("%s obtained by %s via %s at %s%s", what, caller.String, name, t.UTC().Format(time.RFC3339), into)
		b.ids.addARN(arn.String, why)
		if b.ids.addKey(key.String, "credentials of "+why) && arn.Valid {
			b.ids.issuedTo[key.String] = arn.String
		}
		b.ids.looked[arn.String], b.ids.looked[key.String] = true, true
	}
	return rows.Err()
}

// followIssuers finds who obtained the sessions and temporary keys the
// investigation started from (seeds, seed addresses, seed buckets).
func (b *builder) followIssuers(ctx context.Context) error {
	var sess, keys []string
	for _, a := range b.ids.sortedARNs() {
		if isSessionARN(a) && !b.ids.looked[a] {
			sess = append(sess, a)
			b.ids.looked[a] = true
		}
	}
	for _, k := range b.ids.sortedKeys() {
		if !strings.HasPrefix(k, "AKIA") && !b.ids.looked[k] {
			keys = append(keys, k)
			b.ids.looked[k] = true
		}
	}
	if len(sess)+len(keys) == 0 {
		return nil
	}
	back := b.win
	if !back.start.IsZero() {
		back.start = back.start.Add(-maxSessionAge)
	}
	wp, wa := back.pred("event_time")
	sp, sa := inList("issued_arn", sess)
	kp, ka := inList("issued_access_key_id", keys)
	ep, ea := inList("event_name", credentialEvents)
	q := `SELECT event_time, event_name, principal_arn, access_key_id, coalesce(issued_arn, issued_access_key_id)
	FROM cloudtrail WHERE ` + wp + ` AND ` + ep + ` AND error_code IS NULL AND ` + or(sp, kp) + `
	ORDER BY event_time, source_uri, source_offset`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ea, sa, ka)...)
	if err != nil {
		return fmt.Errorf("scope credential issuers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t time.Time
		var name string
		var caller, key, got sql.NullString
		if err := rows.Scan(&t, &name, &caller, &key, &got); err != nil {
			return err
		}
		// AWS services (no principal) issue sessions to their roles; they
		// are not identities of the leak.
		why := fmt.Sprintf("obtained %s via %s at %s", got.String, name, t.UTC().Format(time.RFC3339))
		if caller.Valid {
			b.ids.addARN(caller.String, "caller that "+why)
			b.ids.addKey(key.String, "key of the caller that "+why)
		}
	}
	return rows.Err()
}

// followKeys pairs temporary keys and sessions: the session of an
// in-scope ASIA key and the ASIA keys of an in-scope session.
func (b *builder) followKeys(ctx context.Context) error {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	q := `SELECT DISTINCT principal_arn, access_key_id FROM cloudtrail WHERE ` + wp + ` AND ` + cw + `
		AND starts_with(access_key_id, 'ASIA') AND principal_arn IS NOT NULL ORDER BY 1, 2`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca)...)
	if err != nil {
		return fmt.Errorf("scope session keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var arn, key string
		if err := rows.Scan(&arn, &key); err != nil {
			return err
		}
		_, knownKey := b.ids.keys[key]
		switch {
		case knownKey && isSessionARN(arn):
			b.ids.addARN(arn, "session that used in-scope key "+key)
		case b.ids.has(arn):
			b.ids.addKey(key, "temporary key of in-scope session "+arn)
		}
	}
	return rows.Err()
}

// extras adds identities credential links do not reach: sessions that
// carry an in-scope sourceIdentity, Lambda functions in-scope identities
// created or changed (the function's role session is named after the
// function), and sessions of compromised roles from addresses or user
// agents outside the role's baseline. Whatever is new is followed again.
func (b *builder) extras(ctx context.Context) error {
	for round := 0; round < 4; round++ {
		before := b.ids.size()
		if err := b.sourceIdentities(ctx); err != nil {
			return err
		}
		if err := b.functions(ctx); err != nil {
			return err
		}
		if err := b.novelSessions(ctx); err != nil {
			return err
		}
		if b.ids.size() == before {
			return nil
		}
		if err := b.follow(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) sourceIdentities(ctx context.Context) error {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	q := `SELECT DISTINCT source_identity, CASE WHEN event_name LIKE 'AssumeRole%' THEN request_parameters END
		FROM cloudtrail WHERE ` + wp + ` AND ` + cw + ` AND (source_identity IS NOT NULL OR (event_name LIKE 'AssumeRole%' AND request_parameters LIKE '%sourceIdentity%'))`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca)...)
	if err != nil {
		return fmt.Errorf("scope source identities: %w", err)
	}
	set := map[string]bool{}
	for rows.Next() {
		var si, rp sql.NullString
		if err := rows.Scan(&si, &rp); err != nil {
			rows.Close()
			return err
		}
		if si.Valid {
			set[si.String] = true
		}
		if rp.Valid {
			var p struct {
				SourceIdentity string `json:"sourceIdentity"`
			}
			if json.Unmarshal([]byte(rp.String), &p) == nil && p.SourceIdentity != "" {
				set[p.SourceIdentity] = true
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	sp, sa := inList("source_identity", slices.Sorted(maps.Keys(set)))
	q = `SELECT DISTINCT principal_arn, access_key_id, source_identity FROM cloudtrail WHERE ` + wp + ` AND ` + sp + ` AND principal_arn IS NOT NULL ORDER BY 1, 2`
	rows, err = b.db.QueryContext(ctx, q, cat(wa, sa)...)
	if err != nil {
		return fmt.Errorf("scope source identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var arn, key, si sql.NullString
		if err := rows.Scan(&arn, &key, &si); err != nil {
			return err
		}
		why := "carries sourceIdentity " + si.String + " set by an in-scope identity"
		b.ids.addARN(arn.String, why)
		b.ids.addKey(key.String, why)
	}
	return rows.Err()
}

// functions links Lambda functions created or reconfigured by in-scope
// identities to their role's session named after the function.
func (b *builder) functions(ctx context.Context) error {
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	q := `SELECT event_name, principal_arn, account_id, request_parameters FROM cloudtrail WHERE ` + wp + ` AND ` + cw + `
		AND event_source = 'lambda.amazonaws.com' AND error_code IS NULL AND request_parameters IS NOT NULL
		AND (event_name LIKE 'CreateFunction%' OR event_name LIKE 'UpdateFunctionConfiguration%' OR event_name LIKE 'UpdateFunctionCode%')
		ORDER BY event_time, event_name`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca)...)
	if err != nil {
		return fmt.Errorf("scope functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev, who, acct, rp sql.NullString
		if err := rows.Scan(&ev, &who, &acct, &rp); err != nil {
			return err
		}
		var p struct {
			FunctionName string `json:"functionName"`
			Role         string `json:"role"`
		}
		if json.Unmarshal([]byte(rp.String), &p) != nil || p.FunctionName == "" || p.Role == "" {
			continue
		}
		fn := p.FunctionName
		if i := strings.LastIndex(fn, ":function:"); i >= 0 {
			fn = strings.SplitN(fn[i+len(":function:"):], ":", 2)[0]
		}
		r, ok := roleOfARN(p.Role)
		if !ok {
			continue
		}
		verb := strings.TrimRight(strings.TrimSuffix(strings.TrimSuffix(ev.String, "20150331v2"), "20150331"), "0123456789")
		b.passed[r] = fmt.Sprintf("%s passed it to Lambda function %s (%s)", who.String, fn, verb)
		b.ids.addARN(r.sessionPrefix()+fn, fmt.Sprintf("Lambda function %s runs as role %s; %s by %s", fn, r.name, verb, who.String))
	}
	return rows.Err()
}
