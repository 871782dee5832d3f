package cloudtrail

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// The parser is a strict RFC 8259 validator over one buffered record. In a
// single pass it validates the record, records where the known fields are
// (as spans into the compacted record) and produces the compacted record
// (insignificant whitespace removed) without copying when the input is
// already compact.

// kind is the JSON type of a captured value.
type kind uint8

const (
	kNone kind = iota // absent
	kString
	kNumber
	kTrue
	kFalse
	kNull
	kObject
	kArray
)

func (k kind) String() string {
	switch k {
	case kString:
		return "a string"
	case kNumber:
		return "a number"
	case kTrue, kFalse:
		return "a boolean"
	case kNull:
		return "null"
	case kObject:
		return "an object"
	case kArray:
		return "an array"
	}
	return "absent"
}

// span locates a value in the compacted record. Strings include their
// quotes; esc reports whether the string holds escapes.
type span struct {
	s, e int
	k    kind
	esc  bool
}

// ctx says which known object a value belongs to.
type ctx uint8

const (
	cNone ctx = iota
	cTop
	cUI   // userIdentity
	cSC   // userIdentity.sessionContext
	cAttr // userIdentity.sessionContext.attributes
	cSI   // userIdentity.sessionContext.sessionIssuer
	cOBO  // userIdentity.onBehalfOf
	cRP   // requestParameters
	cRE   // responseElements
	cCred // responseElements.credentials
	cARU  // responseElements.assumedRoleUser
	cFU   // responseElements.federatedUser
	cAED  // additionalEventData
	cResArr
	cRes // resources[i]
)

// Slots of captured values.
const (
	fEventVersion = iota
	fUserIdentity
	fEventTime
	fEventSource
	fEventName
	fAWSRegion
	fSourceIP
	fUserAgent
	fErrorCode
	fErrorMessage
	fRequestParameters
	fResponseElements
	fAdditionalEventData
	fRequestID
	fEventID
	fEventType
	fReadOnly
	fManagementEvent
	fResources
	fRecipientAccountID
	fServiceEventDetails
	fSharedEventID
	fVPCEndpointID
	fEventCategory
	fTLSDetails
	fInsightDetails
	fTimestamp // Logstash @timestamp (also kept in ExtraFields)

	fUIType
	fUIPrincipalID
	fUIARN
	fUIAccountID
	fUIAccessKeyID
	fUIUserName
	fUIInvokedBy
	fUIIdentityProvider
	fSCSourceIdentity
	fAttrMFA
	fAttrCreationDate
	fSIType
	fSIARN
	fSIUserName
	fOBOUserID
	fOBOStoreARN

	fRPBucketName
	fRPKey
	fRPRoleARN
	fRECredAccessKeyID
	fREAssumedRoleARN
	fREFederatedARN
	fAEDBytesIn
	fAEDBytesOut

	fResType
	fResARN

	nSlots

	sExtra   = -2 // unknown top-level key: goes to ExtraFields
	sRecords = -3 // top-level "Records"
	sDigest  = -4 // a digest-file key (also an extra)
)

// lookup maps a key in a known object to its slot and the context of its
// value. slot -1 means "not captured".
func lookup(c ctx, key []byte) (int, ctx) {
	switch c {
	case cTop:
		switch string(key) {
		case "eventVersion":
			return fEventVersion, cNone
		case "userIdentity":
			return fUserIdentity, cUI
		case "eventTime":
			return fEventTime, cNone
		case "eventSource":
			return fEventSource, cNone
		case "eventName":
			return fEventName, cNone
		case "awsRegion":
			return fAWSRegion, cNone
		case "sourceIPAddress":
			return fSourceIP, cNone
		case "userAgent":
			return fUserAgent, cNone
		case "errorCode":
			return fErrorCode, cNone
		case "errorMessage":
			return fErrorMessage, cNone
		case "requestParameters":
			return fRequestParameters, cRP
		case "responseElements":
			return fResponseElements, cRE
		case "additionalEventData":
			return fAdditionalEventData, cAED
		case "requestID":
			return fRequestID, cNone
		case "eventID":
			return fEventID, cNone
		case "eventType":
			return fEventType, cNone
		case "readOnly":
			return fReadOnly, cNone
		case "managementEvent":
			return fManagementEvent, cNone
		case "resources":
			return fResources, cResArr
		case "recipientAccountId":
			return fRecipientAccountID, cNone
		case "serviceEventDetails":
			return fServiceEventDetails, cNone
		case "sharedEventID":
			return fSharedEventID, cNone
		case "vpcEndpointId":
			return fVPCEndpointID, cNone
		case "eventCategory":
			return fEventCategory, cNone
		case "tlsDetails":
			return fTLSDetails, cNone
		case "insightDetails":
			return fInsightDetails, cNone
		case "@timestamp":
			return fTimestamp, cNone
		case "Records":
			return sRecords, cNone
		case "digestStartTime", "digestEndTime", "logFiles", "previousDigestSignature",
			"digestPublicKeyFingerprint", "digestSignatureAlgorithm":
			return sDigest, cNone
		}
		return sExtra, cNone
	case cUI:
		switch string(key) {
		case "type":
			return fUIType, cNone
		case "principalId":
			return fUIPrincipalID, cNone
		case "arn":
			return fUIARN, cNone
		case "accountId":
			return fUIAccountID, cNone
		case "accessKeyId":
			return fUIAccessKeyID, cNone
		case "userName":
			return fUIUserName, cNone
		case "invokedBy":
			return fUIInvokedBy, cNone
		case "identityProvider":
			return fUIIdentityProvider, cNone
		case "sessionContext":
			return -1, cSC
		case "onBehalfOf":
			return -1, cOBO
		}
	case cSC:
		switch string(key) {
		case "sourceIdentity":
			return fSCSourceIdentity, cNone
		case "attributes":
			return -1, cAttr
		case "sessionIssuer":
			return -1, cSI
		}
	case cAttr:
		switch string(key) {
		case "mfaAuthenticated":
			return fAttrMFA, cNone
		case "creationDate":
			return fAttrCreationDate, cNone
		}
	case cSI:
		switch string(key) {
		case "type":
			return fSIType, cNone
		case "arn":
			return fSIARN, cNone
		case "userName":
			return fSIUserName, cNone
		}
	case cOBO:
		switch string(key) {
		case "userId":
			return fOBOUserID, cNone
		case "identityStoreArn":
			return fOBOStoreARN, cNone
		}
	case cRP:
		switch string(key) {
		case "bucketName":
			return fRPBucketName, cNone
		case "key":
			return fRPKey, cNone
		case "roleArn":
			return fRPRoleARN, cNone
		}
	case cRE:
		switch string(key) {
		case "credentials":
			return -1, cCred
		case "assumedRoleUser":
			return -1, cARU
		case "federatedUser":
			return -1, cFU
		}
	case cCred:
		if string(key) == "accessKeyId" {
			return fRECredAccessKeyID, cNone
		}
	case cARU:
		if string(key) == "arn" {
			return fREAssumedRoleARN, cNone
		}
	case cFU:
		if string(key) == "arn" {
			return fREFederatedARN, cNone
		}
	case cAED:
		switch string(key) {
		case "bytesTransferredIn":
			return fAEDBytesIn, cNone
		case "bytesTransferredOut":
			return fAEDBytesOut, cNone
		}
	case cRes:
		switch string(key) {
		case "type":
			return fResType, cNone
		case "ARN":
			return fResARN, cNone
		}
	}
	return -1, cNone
}

// status is the outcome of a parse.
type status uint8

const (
	stOK      status = iota
	stShort          // ran out of input: more data needed (or truncated)
	stSyntax         // syntax error at errPos
	stRecords        // top-level "Records": [ found; the '[' is at errPos
)

const maxDepth = 1000

// extra is one top-level key:value pair kept in ExtraFields.
type extra struct{ k, v span }

type parser struct {
	in      []byte
	i       int
	shift   int // whitespace bytes dropped before i
	flushed int // in[:flushed] is already in out (when shift > 0)
	out     []byte
	depth   int

	allowRecords bool

	st     status
	errPos int // index into in
	errMsg string
	utf8At int // index into in of invalid UTF-8, or -1

	f      [nSlots]span
	extras []extra
	res    [][2]span // (type, ARN) of each resources[] element
	digest bool
}

func (p *parser) reset(in []byte) {
	p.in = in
	p.i = 0
	p.shift = 0
	p.flushed = 0
	p.out = p.out[:0]
	p.depth = 0
	p.st = stOK
	p.errPos = 0
	p.errMsg = ""
	p.utf8At = -1
	p.f = [nSlots]span{}
	p.extras = p.extras[:0]
	p.res = p.res[:0]
	p.digest = false
}

// parseRecord parses one record (normally an object) at the start of in.
// On stOK, p.i is just past it and isObject reports its type.
func (p *parser) parseRecord(in []byte, allowRecords bool) (st status, k kind) {
	p.reset(in)
	p.allowRecords = allowRecords
	if len(in) == 0 {
		return stShort, kNone
	}
	if in[0] == '{' {
		if !p.object(cTop) {
			return p.st, kNone
		}
		return stOK, kObject
	}
	if !p.value(cNone, -1) {
		return p.st, kNone
	}
	switch in[0] {
	case '"':
		k = kString
	case '[':
		k = kArray
	case 't', 'f':
		k = kTrue
	case 'n':
		k = kNull
	default:
		k = kNumber
	}
	return stOK, k
}

// parseValue validates any one JSON value at the start of in.
func (p *parser) parseValue(in []byte) status {
	p.reset(in)
	if len(in) == 0 {
		return stShort
	}
	if !p.value(cNone, -1) {
		return p.st
	}
	return stOK
}

// compact returns the compacted bytes of in[:p.i].
func (p *parser) compact() []byte {
	if p.shift == 0 {
		return p.in[:p.i]
	}
	p.out = append(p.out, p.in[p.flushed:p.i]...)
	p.flushed = p.i
	return p.out
}

func (p *parser) short() bool {
	p.st = stShort
	return false
}

func (p *parser) syntax(at int, format string, args ...any) bool {
	p.st = stSyntax
	p.errPos = at
	p.errMsg = fmt.Sprintf(format, args...)
	return false
}

// quoteChar formats c the way encoding/json does in its errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	if c >= 0x80 {
		return fmt.Sprintf("'\\x%02x'", c)
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser) ws() {
	in := p.in
	i := p.i
	if i < len(in) && in[i] > ' ' {
		return
	}
	j := i
	for j < len(in) {
		c := in[j]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			j++
			continue
		}
		break
	}
	if j != i {
		p.out = append(p.out, in[p.flushed:i]...)
		p.flushed = j
		p.shift += j - i
		p.i = j
	}
}

func (p *parser) value(c ctx, slot int) bool {
	in := p.in
	i := p.i
	start := i - p.shift
	var k kind
	var esc, ok bool
	switch in[i] {
	case '"':
		esc, ok = p.str()
		k = kString
	case '{':
		ok = p.object(c)
		k = kObject
	case '[':
		ok = p.array(c)
		k = kArray
	case 't':
		ok = p.lit("true")
		k = kTrue
	case 'f':
		ok = p.lit("false")
		k = kFalse
	case 'n':
		ok = p.lit("null")
		k = kNull
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		ok = p.number()
		k = kNumber
	default:
		return p.syntax(i, "invalid character %s looking for beginning of value", quoteChar(in[i]))
	}
	if !ok {
		return false
	}
	if slot >= 0 {
		p.f[slot] = span{s: start, e: p.i - p.shift, k: k, esc: esc}
	}
	return true
}

func (p *parser) lit(word string) bool {
	in := p.in
	i := p.i
	for j := 1; j < len(word); j++ {
		if i+j >= len(in) {
			return p.short()
		}
		if in[i+j] != word[j] {
			return p.syntax(i+j, "invalid character %s in literal %s (expecting %s)", quoteChar(in[i+j]), word, quoteChar(word[j]))
		}
	}
	p.i = i + len(word)
	return true
}

func (p *parser) number() bool {
	in := p.in
	i := p.i
	if in[i] == '-' {
		i++
		if i >= len(in) {
			return p.short()
		}
	}
	switch c := in[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return p.syntax(i, "invalid character %s in numeric literal", quoteChar(c))
	}
	if i >= len(in) {
		return p.short()
	}
	if in[i] == '.' {
		i++
		if i >= len(in) {
			return p.short()
		}
		if in[i] < '0' || in[i] > '9' {
			return p.syntax(i, "invalid character %s after decimal point in numeric literal", quoteChar(in[i]))
		}
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i >= len(in) {
			return p.short()
		}
	}
	if in[i] == 'e' || in[i] == 'E' {
		i++
		if i >= len(in) {
			return p.short()
		}
		if in[i] == '+' || in[i] == '-' {
			i++
			if i >= len(in) {
				return p.short()
			}
		}
		if in[i] < '0' || in[i] > '9' {
			return p.syntax(i, "invalid character %s in exponent of numeric literal", quoteChar(in[i]))
		}
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i >= len(in) {
			return p.short()
		}
	}
	p.i = i
	return true
}

// strPlain marks bytes that need no attention inside a string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var hexVal = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// specialBytes returns a mask whose lowest set bit lies in the first byte
// of x (little endian) that is '"', '\\', a control character or
// non-ASCII; 0 when there is none.
func specialBytes(x uint64) uint64 {
	q := x ^ ('"' * lo8)
	b := x ^ ('\\' * lo8)
	return ((q-lo8) & ^q | (b-lo8) & ^b | (x - 0x20*lo8) | x) & hi8
}

// str scans the string at p.in[p.i] == '"'.
func (p *parser) str() (esc, ok bool) {
	in := p.in
	i := p.i + 1
	for {
		for i+8 <= len(in) {
			x := binary.LittleEndian.Uint64(in[i:])
			if m := specialBytes(x); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(in) && strPlain[in[i]] {
			i++
		}
		if i >= len(in) {
			return esc, p.short()
		}
		c := in[i]
		switch {
		case c == '"':
			p.i = i + 1
			return esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(in) {
				return esc, p.short()
			}
			switch in[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(in) {
						return esc, p.short()
					}
					if hexVal[in[j]] < 0 {
						return esc, p.syntax(j, "invalid character %s in \\u hexadecimal character escape", quoteChar(in[j]))
					}
				}
				i += 6
			default:
				return esc, p.syntax(i+1, "invalid character %s in string escape code", quoteChar(in[i+1]))
			}
		case c < 0x20:
			return esc, p.syntax(i, "invalid character %s in string literal", quoteChar(c))
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				if !utf8.FullRune(in[i:]) {
					return esc, p.short()
				}
				p.utf8At = i
				return esc, p.syntax(i, "invalid UTF-8")
			}
			i += size
		}
	}
}

func (p *parser) object(c ctx) bool {
	p.depth++
	if p.depth > maxDepth {
		return p.syntax(p.i, "exceeded max depth")
	}
	p.i++
	p.ws()
	if p.i >= len(p.in) {
		return p.short()
	}
	if p.in[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	for {
		in := p.in
		if in[p.i] != '"' {
			return p.syntax(p.i, "invalid character %s looking for beginning of object key string", quoteChar(in[p.i]))
		}
		ks := p.i
		kesc, ok := p.str()
		if !ok {
			return false
		}
		ke := p.i
		kspan := span{s: ks - p.shift, e: ke - p.shift, k: kString}
		p.ws()
		if p.i >= len(in) {
			return p.short()
		}
		if in[p.i] != ':' {
			return p.syntax(p.i, "invalid character %s after object key", quoteChar(in[p.i]))
		}
		p.i++
		p.ws()
		if p.i >= len(in) {
			return p.short()
		}
		slot, child := -1, cNone
		if c != cNone {
			key := in[ks+1 : ke-1]
			if kesc {
				key = unescape(key)
			}
			slot, child = lookup(c, key)
		}
		if c == cTop && slot < -1 {
			switch slot {
			case sRecords:
				if p.allowRecords && p.depth == 1 && in[p.i] == '[' {
					p.st = stRecords
					p.errPos = p.i
					return false
				}
			case sDigest:
				p.digest = true
			}
			vs := p.i - p.shift
			if !p.value(cNone, -1) {
				return false
			}
			p.extras = append(p.extras, extra{k: kspan, v: span{s: vs, e: p.i - p.shift}})
		} else {
			if !p.value(child, slot) {
				return false
			}
			if slot == fTimestamp {
				p.extras = append(p.extras, extra{k: kspan, v: p.f[fTimestamp]})
			}
		}
		p.ws()
		if p.i >= len(in) {
			return p.short()
		}
		switch in[p.i] {
		case ',':
			p.i++
			p.ws()
			if p.i >= len(in) {
				return p.short()
			}
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return p.syntax(p.i, "invalid character %s after object key:value pair", quoteChar(in[p.i]))
		}
	}
}

func (p *parser) array(c ctx) bool {
	p.depth++
	if p.depth > maxDepth {
		return p.syntax(p.i, "exceeded max depth")
	}
	p.i++
	p.ws()
	if p.i >= len(p.in) {
		return p.short()
	}
	if p.in[p.i] == ']' {
		p.i++
		p.depth--
		return true
	}
	ec := cNone
	if c == cResArr {
		ec = cRes
	}
	for {
		if ec == cRes {
			p.f[fResType] = span{}
			p.f[fResARN] = span{}
			if !p.value(cRes, -1) {
				return false
			}
			p.res = append(p.res, [2]span{p.f[fResType], p.f[fResARN]})
		} else if !p.value(cNone, -1) {
			return false
		}
		p.ws()
		in := p.in
		if p.i >= len(in) {
			return p.short()
		}
		switch in[p.i] {
		case ',':
			p.i++
			p.ws()
			if p.i >= len(in) {
				return p.short()
			}
		case ']':
			p.i++
			p.depth--
			return true
		default:
			return p.syntax(p.i, "invalid character %s after array element", quoteChar(in[p.i]))
		}
	}
}

// unescape decodes the body of a validated JSON string.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(b[i+2:])
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
				if r2 := hex4(b[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
					out = utf8.AppendRune(out, (r-0xD800)<<10+(r2-0xDC00)+0x10000)
					i += 6
					continue
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return out
}

func hex4(b []byte) rune {
	return rune(hexVal[b[0]])<<12 | rune(hexVal[b[1]])<<8 | rune(hexVal[b[2]])<<4 | rune(hexVal[b[3]])
}
