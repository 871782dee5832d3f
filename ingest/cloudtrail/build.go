package cloudtrail

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fieldName names top-level slots in quarantine reasons.
var fieldName = [...]string{
	fEventVersion:        "eventVersion",
	fUserIdentity:        "userIdentity",
	fEventTime:           "eventTime",
	fEventSource:         "eventSource",
	fEventName:           "eventName",
	fAWSRegion:           "awsRegion",
	fSourceIP:            "sourceIPAddress",
	fUserAgent:           "userAgent",
	fErrorCode:           "errorCode",
	fErrorMessage:        "errorMessage",
	fRequestParameters:   "requestParameters",
	fResponseElements:    "responseElements",
	fAdditionalEventData: "additionalEventData",
	fRequestID:           "requestID",
	fEventID:             "eventID",
	fEventType:           "eventType",
	fReadOnly:            "readOnly",
	fManagementEvent:     "managementEvent",
	fResources:           "resources",
	fRecipientAccountID:  "recipientAccountId",
	fServiceEventDetails: "serviceEventDetails",
	fSharedEventID:       "sharedEventID",
	fVPCEndpointID:       "vpcEndpointId",
	fEventCategory:       "eventCategory",
	fTLSDetails:          "tlsDetails",
	fInsightDetails:      "insightDetails",
	fTimestamp:           "@timestamp",
}

// scalarFields must be scalars (strings; numbers and booleans keep their
// literal text).
var scalarFields = [...]int{
	fEventVersion, fEventSource, fEventName, fAWSRegion, fSourceIP, fUserAgent,
	fErrorCode, fErrorMessage, fRequestID, fEventID, fEventType,
	fRecipientAccountID, fSharedEventID, fVPCEndpointID, fEventCategory,
}

// objectFields must be objects or null.
var objectFields = [...]int{fUserIdentity, fRequestParameters}

// arena hands out *bool and *int64 without one allocation each. Values
// are never rewritten (the sink owns the rows); a full slice is replaced.
type arena struct {
	bools []bool
	ints  []int64
}

func (a *arena) bool(v bool) *bool {
	if len(a.bools) == cap(a.bools) {
		a.bools = make([]bool, 0, 3*batchSize)
	}
	a.bools = append(a.bools, v)
	return &a.bools[len(a.bools)-1]
}

func (a *arena) int(v int64) *int64 {
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, 3*batchSize)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

// strArena copies record bytes into large shared chunks and hands out
// strings over them, so a row costs no allocation of its own. A chunk is
// a strings.Builder: it only ever appends, so the bytes of a string it
// handed out are never written again, and it allocates without zeroing.
type strArena struct{ b strings.Builder }

const strChunk = 1 << 20

// reserve makes room for n more bytes in the current chunk (n <=
// strChunk).
func (a *strArena) reserve(n int) {
	if a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(strChunk)
	}
}

// string returns a copy of b.
func (a *strArena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > strChunk/8 {
		return string(b)
	}
	a.reserve(len(b))
	start := a.b.Len()
	a.b.Write(b)
	return a.b.String()[start:]
}

// concat returns the concatenation of parts.
func (a *strArena) concat(parts ...string) string {
	n := 0
	for _, s := range parts {
		n += len(s)
	}
	if n > strChunk/8 {
		return strings.Join(parts, "")
	}
	a.reserve(n)
	start := a.b.Len()
	for _, s := range parts {
		a.b.WriteString(s)
	}
	return a.b.String()[start:]
}

// view reads captured values out of one compacted record.
type view struct {
	f    *[nSlots]span
	comp []byte // compacted record
	s    string // the same bytes as one string; every field is a substring
}

// str returns a scalar as text: strings unescaped, numbers and booleans
// as written, anything else empty.
func (v *view) str(slot int) string {
	sp := &v.f[slot]
	switch sp.k {
	case kString:
		if sp.esc {
			return string(unescape(v.comp[sp.s+1 : sp.e-1]))
		}
		return v.s[sp.s+1 : sp.e-1]
	case kNumber, kTrue, kFalse:
		return v.s[sp.s:sp.e]
	}
	return ""
}

// strOnly is str restricted to JSON strings.
func (v *view) strOnly(slot int) string {
	if v.f[slot].k != kString {
		return ""
	}
	return v.str(slot)
}

// raw returns the compact JSON text of a value; null and absent are empty.
func (v *view) raw(slot int) string {
	sp := v.f[slot]
	if sp.k == kNone || sp.k == kNull {
		return ""
	}
	return v.s[sp.s:sp.e]
}

// bytes returns the unescaped body of a string value without allocating
// when it has no escapes.
func (v *view) bytes(slot int) ([]byte, bool) {
	sp := v.f[slot]
	if sp.k != kString {
		return nil, false
	}
	b := v.comp[sp.s+1 : sp.e-1]
	if sp.esc {
		b = unescape(b)
	}
	return b, true
}

func (v *view) boolean(slot int) (val, ok bool, err string) {
	sp := v.f[slot]
	switch sp.k {
	case kNone, kNull:
		return false, false, ""
	case kTrue:
		return true, true, ""
	case kFalse:
		return false, true, ""
	case kString:
		b, _ := v.bytes(slot)
		switch string(b) {
		case "true", "True", "TRUE":
			return true, true, ""
		case "false", "False", "FALSE":
			return false, true, ""
		case "":
			return false, false, ""
		}
		return false, false, fmt.Sprintf("%s is %q, want a boolean", fieldName[slot], clip(string(b)))
	}
	return false, false, fmt.Sprintf("%s is %s, want a boolean", fieldName[slot], sp.k)
}

// integer reads a byte count given as a number (possibly 1024.0) or a
// numeric string.
func (v *view) integer(slot int) (int64, bool) {
	sp := v.f[slot]
	var b string
	switch sp.k {
	case kNumber:
		b = v.s[sp.s:sp.e]
	case kString:
		b = v.str(slot)
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(b, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(b, 64)
	if err != nil || math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// build turns the parsed record into a row, filling r, which must be the
// zero Row. A non-empty reason means the record is quarantined instead.
func (d *decoder) build(r *Row, comp []byte, off int64) string {
	p := &d.p
	f := &p.f
	for _, slot := range scalarFields {
		if k := f[slot].k; k == kObject || k == kArray {
			return fmt.Sprintf("%s is %s, want a string", fieldName[slot], k)
		}
	}
	for _, slot := range objectFields {
		if k := f[slot].k; k != kNone && k != kNull && k != kObject {
			return fmt.Sprintf("%s is %s, want an object", fieldName[slot], k)
		}
	}
	if k := f[fResources].k; k != kNone && k != kNull && k != kArray {
		return fmt.Sprintf("resources is %s, want an array", k)
	}
	v := view{f: f, comp: comp}

	// Time: eventTime, else Logstash's @timestamp.
	tslot := fEventTime
	if k := f[fEventTime].k; k == kNone || k == kNull {
		tslot = fTimestamp
	}
	var t int64
	switch sp := f[tslot]; sp.k {
	case kString:
		b, _ := v.bytes(tslot)
		var ok bool
		if t, ok = parseTime(b); !ok {
			return fmt.Sprintf("%s %q is not an RFC 3339 time", fieldName[tslot], clip(string(b)))
		}
	case kNone, kNull:
		return "no eventTime"
	default:
		return fmt.Sprintf("%s is %s, want a string", fieldName[tslot], sp.k)
	}
	ro, roOK, reason := v.boolean(fReadOnly)
	if reason != "" {
		return reason
	}
	me, meOK, reason := v.boolean(fManagementEvent)
	if reason != "" {
		return reason
	}

	v.s = d.strings.string(comp) // every string column is a substring of this
	// r is zero: setting the fields one by one spares building the whole
	// row aside and copying it in.
	r.EventTime = t
	r.EventID = v.str(fEventID)
	r.RequestID = v.str(fRequestID)
	r.EventSource = v.str(fEventSource)
	r.EventName = v.str(fEventName)
	r.EventType = v.str(fEventType)
	r.EventCategory = v.str(fEventCategory)
	r.EventVersion = v.str(fEventVersion)
	r.AWSRegion = v.str(fAWSRegion)
	r.SourceIP = v.str(fSourceIP)
	r.UserAgent = v.str(fUserAgent)
	r.ErrorCode = v.str(fErrorCode)
	r.ErrorMessage = v.str(fErrorMessage)
	r.RecipientAccountID = v.str(fRecipientAccountID)
	r.VPCEndpointID = v.str(fVPCEndpointID)
	r.SharedEventID = v.str(fSharedEventID)
	r.UserIdentity = v.raw(fUserIdentity)
	r.RequestParameters = v.raw(fRequestParameters)
	r.ResponseElements = v.raw(fResponseElements)
	r.AdditionalEventData = v.raw(fAdditionalEventData)
	r.Resources = v.raw(fResources)
	r.ServiceEventDetails = v.raw(fServiceEventDetails)
	r.TLSDetails = v.raw(fTLSDetails)
	r.InsightDetails = v.raw(fInsightDetails)
	r.SourceOffset = off
	r.Hash = hashBytes(comp)
	if roOK {
		r.ReadOnly = d.arena.bool(ro)
	}
	if meOK {
		r.ManagementEvent = d.arena.bool(me)
	}
	if f[fUserIdentity].k == kObject {
		d.identityCached(&v, r)
	}
	if n, ok := v.integer(fAEDBytesIn); ok {
		r.BytesIn = d.arena.int(n)
	}
	if n, ok := v.integer(fAEDBytesOut); ok {
		r.BytesOut = d.arena.int(n)
	}
	r.IssuedAccessKeyID = v.strOnly(fRECredAccessKeyID)
	r.IssuedARN = v.strOnly(fREAssumedRoleARN)
	if r.IssuedARN == "" {
		r.IssuedARN = v.strOnly(fREFederatedARN)
	}
	r.RoleARN = v.strOnly(fRPRoleARN)
	d.s3Target(&v, r)
	if len(p.extras) > 0 {
		r.ExtraFields = d.strings.extraJSON(v.s, p.extras)
	}

	r.PartAcc = r.RecipientAccountID
	if r.PartAcc == "" {
		r.PartAcc = r.AccountID
	}
	if r.PartAcc == "" {
		r.PartAcc = d.obj.Account
	}
	r.PartReg = r.AWSRegion
	if r.PartReg == "" {
		r.PartReg = d.obj.Region
	}
	return ""
}

// extraJSON returns the object of the extra top-level pairs ex (spans
// into s).
func (a *strArena) extraJSON(s string, ex []extra) string {
	n := 1
	for _, e := range ex {
		n += e.k.e - e.k.s + 1 + e.v.e - e.v.s + 1
	}
	var b *strings.Builder
	var own strings.Builder
	start := 0
	if n > strChunk/8 {
		own.Grow(n)
		b = &own
	} else {
		a.reserve(n)
		b = &a.b
		start = b.Len()
	}
	b.WriteByte('{')
	for i, e := range ex {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[e.k.s:e.k.e])
		b.WriteByte(':')
		b.WriteString(s[e.v.s:e.v.e])
	}
	b.WriteByte('}')
	return b.String()[start:]
}

// identityCols are the columns identity derives from userIdentity.
type identityCols struct {
	raw string // the userIdentity object they come from; "" for none

	identityType, principalARN, principalID, accountID, accessKeyID, invokedBy,
	sourceIdentity, sessionIssuerType, userName, sessionName, actorARN string

	mfa, hasMFA bool
	created     int64
	hasCreated  bool
}

// identityCached is identity, but events come in runs from one principal
// and it reuses the columns of the last event when its userIdentity
// object is the same text. That holds only if the columns depend on the
// object alone: the record has one userIdentity object (no values left
// over from another) and the actor's partition did not come from
// elsewhere in the record.
func (d *decoder) identityCached(v *view, r *Row) {
	raw := v.raw(fUserIdentity)
	c := &d.lastIdentity
	if d.p.uiCount == 1 && c.raw == raw {
		r.IdentityType, r.PrincipalARN, r.PrincipalID = c.identityType, c.principalARN, c.principalID
		r.AccountID, r.AccessKeyID, r.InvokedBy = c.accountID, c.accessKeyID, c.invokedBy
		r.SourceIdentity, r.SessionIssuerType, r.UserName = c.sourceIdentity, c.sessionIssuerType, c.userName
		r.SessionName, r.ActorARN = c.sessionName, c.actorARN
		if c.hasMFA {
			r.MFAAuthenticated = d.arena.bool(c.mfa)
		}
		if c.hasCreated {
			r.SessionCreated = d.arena.int(c.created)
		}
		return
	}
	d.usedPartition = false
	d.identity(v, r)
	if d.p.uiCount != 1 || d.usedPartition {
		*c = identityCols{}
		return
	}
	*c = identityCols{
		raw:          raw,
		identityType: r.IdentityType, principalARN: r.PrincipalARN, principalID: r.PrincipalID,
		accountID: r.AccountID, accessKeyID: r.AccessKeyID, invokedBy: r.InvokedBy,
		sourceIdentity: r.SourceIdentity, sessionIssuerType: r.SessionIssuerType, userName: r.UserName,
		sessionName: r.SessionName, actorARN: r.ActorARN,
	}
	if r.MFAAuthenticated != nil {
		c.mfa, c.hasMFA = *r.MFAAuthenticated, true
	}
	if r.SessionCreated != nil {
		c.created, c.hasCreated = *r.SessionCreated, true
	}
}

// identity fills the userIdentity columns and the normalised actor.
func (d *decoder) identity(v *view, r *Row) {
	r.IdentityType = v.str(fUIType)
	r.PrincipalARN = v.str(fUIARN)
	r.PrincipalID = v.str(fUIPrincipalID)
	r.AccountID = v.str(fUIAccountID)
	r.AccessKeyID = v.str(fUIAccessKeyID)
	r.InvokedBy = v.str(fUIInvokedBy)
	r.SourceIdentity = v.str(fSCSourceIdentity)
	r.SessionIssuerType = v.str(fSIType)
	r.UserName = v.str(fUIUserName)
	issuerARN := v.str(fSIARN)
	if r.UserName == "" {
		r.UserName = v.str(fSIUserName)
	}
	switch v.f[fAttrMFA].k {
	case kTrue:
		r.MFAAuthenticated = d.arena.bool(true)
	case kFalse:
		r.MFAAuthenticated = d.arena.bool(false)
	case kString:
		switch v.str(fAttrMFA) {
		case "true":
			r.MFAAuthenticated = d.arena.bool(true)
		case "false":
			r.MFAAuthenticated = d.arena.bool(false)
		}
	}
	if b, ok := v.bytes(fAttrCreationDate); ok {
		if t, ok := parseTime(b); ok {
			r.SessionCreated = d.arena.int(t)
		}
	}

	arn := r.PrincipalARN
	if role, sess, ok := assumedRole(&d.strings, arn); ok {
		r.SessionName = sess
		if issuerARN == "" {
			issuerARN = role
		}
	} else if name, ok := federatedUser(arn); ok {
		r.SessionName = name
	}

	switch r.IdentityType {
	case "AssumedRole":
		r.ActorARN = issuerARN
		if r.ActorARN == "" {
			r.ActorARN = arn
		}
	case "IAMUser":
		r.ActorARN = arn
	case "Root":
		r.ActorARN = arn
		if arn == "" && r.AccountID != "" {
			r.ActorARN = d.strings.concat("arn:", d.partition(v, r), ":iam::", r.AccountID, ":root")
		}
	case "AWSService":
		r.ActorARN = r.InvokedBy
	case "AWSAccount":
		if r.AccountID != "" {
			r.ActorARN = d.strings.concat("arn:", d.partition(v, r), ":iam::", r.AccountID, ":root")
		}
	case "FederatedUser":
		r.ActorARN = issuerARN
		if r.ActorARN == "" {
			r.ActorARN = arn
		}
	case "SAMLUser", "WebIdentityUser":
		r.ActorARN = arn
		if arn == "" {
			idp, user := v.str(fUIIdentityProvider), r.UserName
			switch {
			case idp != "" && user != "":
				r.ActorARN = idp + ":" + user
			case idp != "":
				r.ActorARN = idp
			default:
				r.ActorARN = user
			}
		}
	case "IdentityCenterUser":
		store, user := v.str(fOBOStoreARN), v.str(fOBOUserID)
		if store != "" && user != "" {
			r.ActorARN = store + "/user/" + user
		} else {
			r.ActorARN = arn
		}
	default:
		switch {
		case issuerARN != "":
			r.ActorARN = issuerARN
		case arn != "":
			r.ActorARN = arn
		default:
			r.ActorARN = r.InvokedBy
		}
	}
}

// partition returns the ARN partition used in the event ("aws" when none).
// It notes that it was called, as its answer may come from outside
// userIdentity (see identityCached).
func (d *decoder) partition(v *view, r *Row) string {
	d.usedPartition = true
	if p := arnPartition(r.PrincipalARN); p != "" {
		return p
	}
	if i := bytes.Index(v.comp, []byte(`"arn:`)); i >= 0 {
		rest := v.s[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 && j < 32 && strings.IndexByte(rest[:j], '"') < 0 {
			return rest[:j]
		}
	}
	return "aws"
}

func arnPartition(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	rest := arn[4:]
	if j := strings.IndexByte(rest, ':'); j > 0 {
		return rest[:j]
	}
	return ""
}

// arnParts splits arn:partition:service:region:account:resource.
func arnParts(arn string) (partition, service, account, resource string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", "", "", false
	}
	// The fields before the resource are short: find their colons with a
	// plain loop rather than a call to IndexByte each.
	var field [4]string
	for k := range field {
		j := 0
		for j < len(rest) && rest[j] != ':' {
			j++
		}
		if j == len(rest) {
			return "", "", "", "", false
		}
		field[k], rest = rest[:j], rest[j+1:]
	}
	return field[0], field[1], field[3], rest, true
}

// assumedRole maps arn:<p>:sts::<acct>:assumed-role/<role>/<session> to
// arn:<p>:iam::<acct>:role/<role> (built in a) and <session>.
func assumedRole(a *strArena, arn string) (role, session string, ok bool) {
	part, svc, acct, res, ok := arnParts(arn)
	if !ok || svc != "sts" {
		return "", "", false
	}
	// res follows a ':', so the prefix test usually spares the search.
	if !strings.HasPrefix(res, "assumed-role/") && !strings.Contains(arn, ":assumed-role/") {
		return "", "", false
	}
	rest := strings.TrimPrefix(res, "assumed-role/")
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return a.concat("arn:", part, ":iam::", acct, ":role/", rest), "", true
	}
	return a.concat("arn:", part, ":iam::", acct, ":role/", rest[:i]), rest[strings.LastIndexByte(rest, '/')+1:], true
}

// federatedUser returns the name in arn:<p>:sts::<acct>:federated-user/<name>.
func federatedUser(arn string) (string, bool) {
	i := strings.Index(arn, ":federated-user/")
	if i < 0 || !strings.HasPrefix(arn, "arn:") {
		return "", false
	}
	return arn[i+len(":federated-user/"):], true
}

// s3Target sets bucket and object_key from requestParameters, else from
// the S3 entries of resources[].
func (d *decoder) s3Target(v *view, r *Row) {
	r.Bucket = v.strOnly(fRPBucketName)
	r.ObjectKey = v.strOnly(fRPKey)
	if r.Bucket != "" && r.ObjectKey != "" {
		return
	}
	for _, res := range d.p.res {
		if res[0].k != kString || res[1].k != kString {
			continue
		}
		v.f[fResType], v.f[fResARN] = res[0], res[1]
		typ := v.str(fResType)
		if typ != "AWS::S3::Object" && typ != "AWS::S3::Bucket" {
			continue
		}
		arn := v.str(fResARN)
		i := strings.Index(arn, ":::")
		if i < 0 || !strings.HasPrefix(arn, "arn:") {
			continue
		}
		path := arn[i+3:]
		bucket, key, hasKey := strings.Cut(path, "/")
		if typ == "AWS::S3::Bucket" {
			bucket, key, hasKey = path, "", false
		}
		if r.Bucket == "" {
			r.Bucket = bucket
		}
		if r.ObjectKey == "" && hasKey && bucket == r.Bucket {
			r.ObjectKey = key
		}
		if r.Bucket != "" && r.ObjectKey != "" {
			return
		}
	}
}
