package query

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Identity kinds in an IdentitySet.
const (
	KindPrincipal = "principal"
	KindAccessKey = "access_key"
	KindSession   = "session"
	KindAddress   = "address"
)

// Identity is one principal, access key, session or address an
// investigation follows, with the reason it is followed.
type Identity struct {
	Kind  string    `json:"kind"`
	Value string    `json:"value"`
	Seed  bool      `json:"seed"`
	Why   string    `json:"why"`             // "seed access key", "credentials ASIA… issued by AssumeRole to … at …"
	Via   string    `json:"via,omitempty"`   // the identity this one was reached from
	Time  time.Time `json:"time,omitzero"`   // when the link was logged
	Depth int       `json:"depth"`           // hops from a seed
	Event string    `json:"event,omitempty"` // the linking call (AssumeRole, …)
}

// IdentitySet is what FollowIdentities found: the seeds and everything
// reachable from them through issued credentials, in discovery order.
type IdentitySet struct {
	Principals []Identity `json:"principals"`
	AccessKeys []Identity `json:"access_keys"`
	Sessions   []Identity `json:"sessions"`
	Addresses  []Identity `json:"addresses"`
	// Truncated is set when following stopped at MaxFollow identities.
	Truncated bool `json:"truncated,omitempty"`

	index map[string]int // kind + "\x00" + value → position in its list
}

// MaxFollow bounds the identities an IdentitySet holds.
const MaxFollow = 5000

// maxHops bounds the rounds of following.
const maxHops = 16

// credentialEvents issue credentials that CloudTrail logs in
// responseElements (issued_access_key_id, issued_arn).
var credentialEvents = []string{
	"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity",
	"GetSessionToken", "GetFederationToken", "AssumeRoot",
}

func (s *IdentitySet) list(kind string) *[]Identity {
	switch kind {
	case KindPrincipal:
		return &s.Principals
	case KindAccessKey:
		return &s.AccessKeys
	case KindSession:
		return &s.Sessions
	default:
		return &s.Addresses
	}
}

// add records an identity unless it is already known; it reports whether
// it was new.
func (s *IdentitySet) add(id Identity) bool {
	if id.Value == "" {
		return false
	}
	if s.index == nil {
		s.index = map[string]int{}
	}
	k := id.Kind + "\x00" + id.Value
	if _, ok := s.index[k]; ok {
		return false
	}
	if s.Len() >= MaxFollow {
		s.Truncated = true
		return false
	}
	l := s.list(id.Kind)
	*l = append(*l, id)
	s.index[k] = len(*l) - 1
	return true
}

// normalise makes empty lists encode as [] rather than null.
func (s *IdentitySet) normalise() {
	for _, l := range []*[]Identity{&s.Principals, &s.AccessKeys, &s.Sessions, &s.Addresses} {
		if *l == nil {
			*l = []Identity{}
		}
	}
}

// Len is the number of identities.
func (s *IdentitySet) Len() int {
	return len(s.Principals) + len(s.AccessKeys) + len(s.Sessions) + len(s.Addresses)
}

// Lookup returns the identity of a kind and value.
func (s *IdentitySet) Lookup(kind, value string) (Identity, bool) {
	if s == nil || s.index == nil {
		return Identity{}, false
	}
	i, ok := s.index[kind+"\x00"+value]
	if !ok {
		return Identity{}, false
	}
	return (*s.list(kind))[i], true
}

// Values lists the values of one kind, in discovery order.
func (s *IdentitySet) Values(kind string) []string {
	l := *s.list(kind)
	out := make([]string, len(l))
	for i, id := range l {
		out[i] = id.Value
	}
	return out
}

// isSessionARN reports whether arn names a temporary session (assumed
// role or federated user), which one issuing call created.
func isSessionARN(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && (strings.Contains(arn, ":assumed-role/") || strings.Contains(arn, ":federated-user/"))
}

// isAddress reports whether a logged source is an IP address (not a
// service name or "AWS Internal").
func isAddress(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// shortTime formats a link time for a reason.
func shortTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// FollowIdentities starts from the seeds' principals, access keys and
// addresses and follows, in CloudTrail within the seeds' window, the
// credentials they obtained (AssumeRole, AssumeRoleWithSAML,
// AssumeRoleWithWebIdentity, GetSessionToken, GetFederationToken), through
// role chaining and across accounts, and back from a temporary key or
// session to the call that issued it, until nothing new is found. It also
// collects the addresses those identities called from. Every value is a
// bound parameter; each round scans the window once, for the identities
// the previous round found.
func (e *Engine) FollowIdentities(ctx context.Context, seeds Seeds) (*IdentitySet, error) {
	s := seedIdentities(seeds)
	defer s.normalise()
	w := windowOf(seeds)
	var keys, who, princ, backKeys, backSess []string
	newSince := func(from [3]int) {
		keys, who, princ, backKeys, backSess = nil, nil, nil, nil, nil
		for _, id := range s.AccessKeys[from[0]:] {
			keys = append(keys, id.Value)
			// Long-term keys (AKIA) are not issued by a logged call;
			// keys found as issued credentials already have their issuer.
			if !strings.HasPrefix(id.Value, "AKIA") && id.Event == "" {
				backKeys = append(backKeys, id.Value)
			}
		}
		for _, id := range s.Sessions[from[1]:] {
			who = append(who, id.Value)
			// Only seed sessions: a session name is reused across
			// sessions, so followed sessions keep the issuer they came with.
			if id.Seed {
				backSess = append(backSess, id.Value)
			}
		}
		for _, id := range s.Principals[from[2]:] {
			who = append(who, id.Value)
			princ = append(princ, id.Value)
		}
	}
	newSince([3]int{})
	for hop := 1; hop <= maxHops && len(keys)+len(who)+len(backKeys)+len(backSess) > 0; hop++ {
		mark := [3]int{len(s.AccessKeys), len(s.Sessions), len(s.Principals)}
		if err := e.followRound(ctx, s, w, hop, keys, who, princ, backKeys, backSess); err != nil {
			return nil, err
		}
		if s.Truncated {
			break
		}
		newSince(mark)
	}
	return s, nil
}

// window is a time window with the partition dates that cover it.
type window struct {
	since, until time.Time
}

func windowOf(seeds Seeds) window { return window{since: seeds.Since, until: seeds.Until} }

// predicate returns SQL over the time column tcol (and the date partition)
// with its arguments.
func (w window) predicate(tcol string) (string, []any) {
	var conds []string
	var args []any
	if !w.since.IsZero() {
		conds = append(conds, "date >= ?::DATE", tcol+" >= ?::TIMESTAMP")
		args = append(args, w.since.UTC().Format(time.DateOnly), w.since.UTC().Format("2006-01-02 15:04:05.999999"))
	}
	if !w.until.IsZero() {
		conds = append(conds, "date <= ?::DATE", tcol+" <= ?::TIMESTAMP")
		args = append(args, w.until.UTC().Format(time.DateOnly), w.until.UTC().Format("2006-01-02 15:04:05.999999"))
	}
	if len(conds) == 0 {
		return "true", nil
	}
	return strings.Join(conds, " AND "), args
}

// in returns "col IN (?, ?, …)" and the values as arguments, or "false"
// when there are none.
func in(col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return "false", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}

// followRound scans the window once for the calls of the given keys,
// sessions and principals (what they did, from where, which credentials
// they obtained) and for the calls that issued backKeys and backSess,
// grouping everything but credential calls down to one row per key,
// principal and address.
func (e *Engine) followRound(ctx context.Context, s *IdentitySet, w window, hop int, keys, who, princ, backKeys, backSess []string) error {
	wp, wargs := w.predicate("event_time")
	kp, kargs := in("access_key_id", keys)
	sp, sargs := in("principal_arn", who)
	ap, aargs := in("actor_arn", princ)
	bkp, bkargs := in("issued_access_key_id", backKeys)
	bsp, bsargs := in("issued_arn", backSess)
	ep, eargs := in("event_name", credentialEvents)
	q := `WITH hits AS (
	SELECT event_time, access_key_id, principal_arn, source_ip,
		coalesce(` + ep + ` AND error_code IS NULL AND (issued_access_key_id IS NOT NULL OR issued_arn IS NOT NULL), false) AS cred,
		coalesce(` + kp + ` OR ` + sp + ` OR ` + ap + `, false) AS own,
		event_name, issued_access_key_id, issued_arn, role_arn, coalesce(recipient_account_id, account) AS recipient, account_id
	FROM cloudtrail
	WHERE ` + wp + ` AND (` + kp + ` OR ` + sp + ` OR ` + ap + ` OR ` + bkp + ` OR ` + bsp + `)
)
SELECT event_time AS first, access_key_id, principal_arn, source_ip, own, event_name, issued_access_key_id, issued_arn, role_arn, recipient, account_id
FROM hits WHERE cred
UNION ALL
SELECT min(event_time), access_key_id, principal_arn, source_ip, true, NULL, NULL, NULL, NULL, NULL, NULL
FROM hits WHERE own GROUP BY access_key_id, principal_arn, source_ip
ORDER BY first, issued_access_key_id NULLS LAST, issued_arn NULLS LAST, access_key_id NULLS LAST, principal_arn NULLS LAST, source_ip NULLS LAST`
	args := concat(eargs, kargs, sargs, aargs, wargs, kargs, sargs, aargs, bkargs, bsargs)
	rows, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("follow identities: %w", err)
	}
	defer rows.Close()
	backK := map[string]bool{}
	for _, k := range backKeys {
		backK[k] = true
	}
	backS := map[string]bool{}
	for _, k := range backSess {
		backS[k] = true
	}
	for rows.Next() {
		var (
			t                                                       time.Time
			own                                                     bool
			key, principal, ip, name, issuedKey, issuedARN, roleARN sql.NullString
			recip, callerAcct                                       sql.NullString
		)
		if err := rows.Scan(&t, &key, &principal, &ip, &own, &name, &issuedKey, &issuedARN, &roleARN, &recip, &callerAcct); err != nil {
			return err
		}
		if name.Valid {
			if own {
				s.issued(hop, t, name.String, key.String, principal.String, issuedKey.String, issuedARN.String, roleARN.String, callerAcct.String)
			}
			if backK[issuedKey.String] || backS[issuedARN.String] {
				s.issuer(hop, t, name.String, key.String, principal.String, firstOf(issuedKey.String, issuedARN.String))
			}
			continue
		}
		s.used(hop, t, key.String, principal.String, ip.String)
	}
	return rows.Err()
}

// issued records the credentials a known identity obtained.
func (s *IdentitySet) issued(hop int, t time.Time, name, key, principal, issuedKey, issuedARN, roleARN, callerAcct string) {
	caller := firstOf(principal, key)
	via := firstOf(key, principal)
	cross := ""
	if target := accountOfARN(firstOf(issuedARN, roleARN)); target != "" && callerAcct != "" && target != callerAcct {
		cross = " into account " + target
	}
	if issuedKey != "" {
		s.add(Identity{
			Kind: KindAccessKey, Value: issuedKey, Via: via, Time: t, Depth: hop, Event: name,
			Why: fmt.Sprintf("credentials %s issued by %s to %s at %s%s", issuedKey, name, caller, shortTime(t), cross),
		})
	}
	if issuedARN != "" {
		s.add(Identity{
			Kind: KindSession, Value: issuedARN, Via: via, Time: t, Depth: hop, Event: name,
			Why: fmt.Sprintf("session of %s obtained by %s via %s at %s%s", roleOf(issuedARN, roleARN), caller, name, shortTime(t), cross),
		})
	}
}

// issuer records the caller whose request issued a known key or session.
func (s *IdentitySet) issuer(hop int, t time.Time, name, key, principal, got string) {
	why := fmt.Sprintf("obtained %s via %s at %s", got, name, shortTime(t))
	if key != "" {
		s.add(Identity{Kind: KindAccessKey, Value: key, Via: got, Time: t, Depth: hop, Why: "key that " + why})
	}
	if principal != "" {
		kind := KindPrincipal
		if isSessionARN(principal) {
			kind = KindSession
		}
		s.add(Identity{Kind: kind, Value: principal, Via: got, Time: t, Depth: hop, Why: "caller that " + why})
	}
}

// used records what a known identity's calls reveal: the session of a
// temporary key, the temporary keys of a session, the keys of a seed
// principal, and the addresses it called from.
func (s *IdentitySet) used(hop int, t time.Time, key, principal, ip string) {
	if p, known := s.Lookup(KindPrincipal, principal); known && p.Seed && key != "" {
		s.add(Identity{Kind: KindAccessKey, Value: key, Via: principal, Time: t, Depth: hop,
			Why: fmt.Sprintf("access key of seed principal %s", principal)})
	}
	if key != "" && isSessionARN(principal) {
		if _, known := s.Lookup(KindAccessKey, key); known {
			s.add(Identity{Kind: KindSession, Value: principal, Via: key, Time: t, Depth: hop,
				Why: fmt.Sprintf("session that used key %s", key)})
		} else if _, known := s.Lookup(KindSession, principal); known && strings.HasPrefix(key, "ASIA") {
			s.add(Identity{Kind: KindAccessKey, Value: key, Via: principal, Time: t, Depth: hop,
				Why: fmt.Sprintf("temporary key of session %s", principal)})
		}
	}
	if ip != "" && isAddress(ip) {
		who, what := key, "key"
		if _, known := s.Lookup(KindAccessKey, who); !known || who == "" {
			who, what = principal, "session"
			if !isSessionARN(who) {
				what = "principal"
			}
		}
		s.add(Identity{Kind: KindAddress, Value: ip, Via: who, Time: t, Depth: hop,
			Why: fmt.Sprintf("address used by %s %s", what, who)})
	}
}

func concat(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// accountOfARN returns the account id field of an ARN.
func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// roleOf names the role of a session ARN (arn:aws:sts::A:assumed-role/R/S
// → role R), falling back to the requested role ARN.
func roleOf(sessionARN, roleARN string) string {
	if _, rest, ok := strings.Cut(sessionARN, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return "role " + role
	}
	if roleARN != "" {
		return roleARN
	}
	return sessionARN
}
