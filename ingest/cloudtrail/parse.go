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
//
// CloudTrail records are repetitive, and the parser uses that where the
// outcome is certain: it compares each key of a known object with the key
// that followed the previous one last time before scanning and looking it
// up (keyTable), and for a userIdentity object that is byte for byte the
// last one it replays that parse (userIdentity).

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

	nCtx
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

// keyDef is one key of a known object: the slot its value is captured in
// (-1 for none) and the context of its value.
type keyDef struct {
	c     ctx
	key   string
	slot  int
	child ctx
}

// keyDefs lists every key lookup knows.
var keyDefs = [...]keyDef{
	{cTop, "eventVersion", fEventVersion, cNone},
	{cTop, "userIdentity", fUserIdentity, cUI},
	{cTop, "eventTime", fEventTime, cNone},
	{cTop, "eventSource", fEventSource, cNone},
	{cTop, "eventName", fEventName, cNone},
	{cTop, "awsRegion", fAWSRegion, cNone},
	{cTop, "sourceIPAddress", fSourceIP, cNone},
	{cTop, "userAgent", fUserAgent, cNone},
	{cTop, "errorCode", fErrorCode, cNone},
	{cTop, "errorMessage", fErrorMessage, cNone},
	{cTop, "requestParameters", fRequestParameters, cRP},
	{cTop, "responseElements", fResponseElements, cRE},
	{cTop, "additionalEventData", fAdditionalEventData, cAED},
	{cTop, "requestID", fRequestID, cNone},
	{cTop, "eventID", fEventID, cNone},
	{cTop, "eventType", fEventType, cNone},
	{cTop, "readOnly", fReadOnly, cNone},
	{cTop, "managementEvent", fManagementEvent, cNone},
	{cTop, "resources", fResources, cResArr},
	{cTop, "recipientAccountId", fRecipientAccountID, cNone},
	{cTop, "serviceEventDetails", fServiceEventDetails, cNone},
	{cTop, "sharedEventID", fSharedEventID, cNone},
	{cTop, "vpcEndpointId", fVPCEndpointID, cNone},
	{cTop, "eventCategory", fEventCategory, cNone},
	{cTop, "tlsDetails", fTLSDetails, cNone},
	{cTop, "insightDetails", fInsightDetails, cNone},
	{cTop, "@timestamp", fTimestamp, cNone},
	{cTop, "Records", sRecords, cNone},
	{cTop, "digestStartTime", sDigest, cNone},
	{cTop, "digestEndTime", sDigest, cNone},
	{cTop, "logFiles", sDigest, cNone},
	{cTop, "previousDigestSignature", sDigest, cNone},
	{cTop, "digestPublicKeyFingerprint", sDigest, cNone},
	{cTop, "digestSignatureAlgorithm", sDigest, cNone},

	{cUI, "type", fUIType, cNone},
	{cUI, "principalId", fUIPrincipalID, cNone},
	{cUI, "arn", fUIARN, cNone},
	{cUI, "accountId", fUIAccountID, cNone},
	{cUI, "accessKeyId", fUIAccessKeyID, cNone},
	{cUI, "userName", fUIUserName, cNone},
	{cUI, "invokedBy", fUIInvokedBy, cNone},
	{cUI, "identityProvider", fUIIdentityProvider, cNone},
	{cUI, "sessionContext", -1, cSC},
	{cUI, "onBehalfOf", -1, cOBO},

	{cSC, "sourceIdentity", fSCSourceIdentity, cNone},
	{cSC, "attributes", -1, cAttr},
	{cSC, "sessionIssuer", -1, cSI},

	{cAttr, "mfaAuthenticated", fAttrMFA, cNone},
	{cAttr, "creationDate", fAttrCreationDate, cNone},

	{cSI, "type", fSIType, cNone},
	{cSI, "arn", fSIARN, cNone},
	{cSI, "userName", fSIUserName, cNone},

	{cOBO, "userId", fOBOUserID, cNone},
	{cOBO, "identityStoreArn", fOBOStoreARN, cNone},

	{cRP, "bucketName", fRPBucketName, cNone},
	{cRP, "key", fRPKey, cNone},
	{cRP, "roleArn", fRPRoleARN, cNone},

	{cRE, "credentials", -1, cCred},
	{cRE, "assumedRoleUser", -1, cARU},
	{cRE, "federatedUser", -1, cFU},

	{cCred, "accessKeyId", fRECredAccessKeyID, cNone},
	{cARU, "arn", fREAssumedRoleARN, cNone},
	{cFU, "arn", fREFederatedARN, cNone},

	{cAED, "bytesTransferredIn", fAEDBytesIn, cNone},
	{cAED, "bytesTransferredOut", fAEDBytesOut, cNone},

	{cRes, "type", fResType, cNone},
	{cRes, "ARN", fResARN, cNone},
}

// Key ids: 0 is "no key" (the start of an object), 1 to len(keyDefs)
// number keyDefs, unknownKey is any other key, and the ids above it name
// other keys a keyTable has met.
const unknownKey = uint8(len(keyDefs) + 1)

const (
	keyBits   = 10 // a keyTable has 1 << keyBits entries
	maxKeyLen = 64 // longest other key a keyTable remembers
)

// keyTable looks up and guesses the keys of known objects. It starts with
// keyDefs and also numbers the other keys it meets (as long as ids last),
// so that they can be guessed too. A keyTable is kept across records and
// decoders.
//
// Records of one source list their keys in the same order, so the key
// that followed a key last time nearly always follows it again, and
// comparing the input with that guess is cheaper than scanning the key
// and looking it up. Guesses only save work: a key is taken as guessed
// only when the input holds exactly its bytes.
type keyTable struct {
	// hash is an open-addressing hash table of key ids, 0 when free. It
	// stays at most a quarter full, so a key not in it nearly always
	// meets a free entry at once.
	hash [1 << keyBits]uint8
	// quoted and c hold the key of each id as it appears in the input
	// ("key") and the context it belongs to.
	quoted [256]string
	c      [256]ctx
	// words and masks hold each quoted key of at most guessBytes bytes
	// as little-endian words (zero-padded) and the masks that keep just
	// its bytes, so that guessed can compare without a call.
	words [256][3]uint64
	masks [256][3]uint64
	n     int // ids in use, with 0 and unknownKey
	// next holds, per context and key id, the id of the key that
	// followed last time (0: no guess).
	next [nCtx][256]uint8
}

func newKeyTable() *keyTable {
	t := &keyTable{n: int(unknownKey) + 1}
	for i, d := range keyDefs {
		t.add(uint8(i+1), d.c, d.key)
	}
	return t
}

func (t *keyTable) add(id uint8, c ctx, key string) {
	q := `"` + key + `"`
	t.quoted[id] = q
	t.c[id] = c
	if len(q) <= guessBytes {
		for k := range len(q) {
			t.words[id][k/8] |= uint64(q[k]) << (8 * (k % 8))
			t.masks[id][k/8] |= 0xFF << (8 * (k % 8))
		}
	}
	h := keyHash(c, []byte(key))
	for t.hash[h] != 0 {
		h = (h + 1) & (len(t.hash) - 1)
	}
	t.hash[h] = id
}

// guessBytes is the longest quoted key guessed compares word-wise.
const guessBytes = 24

// guessed reports whether in[i:] starts with the quoted key id.
func (t *keyTable) guessed(in []byte, i int, id uint8) bool {
	q := t.quoted[id]
	if len(q) > guessBytes || len(in)-i < guessBytes {
		return hasAt(in, i, q)
	}
	b := in[i : i+guessBytes]
	w, m := &t.words[id], &t.masks[id]
	return binary.LittleEndian.Uint64(b)&m[0] == w[0] &&
		binary.LittleEndian.Uint64(b[8:])&m[1] == w[1] &&
		binary.LittleEndian.Uint64(b[16:])&m[2] == w[2]
}

// lookup returns the id of a key in an object of kind c (unescaped; raw
// tells whether it appeared so in the input), numbering a new other key
// when there is room; else unknownKey.
func (t *keyTable) lookup(c ctx, key []byte, raw bool) uint8 {
	h := keyHash(c, key)
	for ; t.hash[h] != 0; h = (h + 1) & (len(t.hash) - 1) {
		if id := t.hash[h]; t.c[id] == c {
			if q := t.quoted[id]; len(q) == len(key)+2 && q[1:len(q)-1] == string(key) {
				return id
			}
		}
	}
	if !raw || len(key) > maxKeyLen || t.n == len(t.quoted) {
		return unknownKey
	}
	id := uint8(t.n)
	t.n++
	t.add(id, c, string(key))
	return id
}

// keyHash hashes a key of the object kind c from its length and its last
// (up to) eight bytes, which tell the known keys apart well.
func keyHash(c ctx, key []byte) int {
	n := len(key)
	var w uint64
	if n >= 8 {
		w = binary.LittleEndian.Uint64(key[n-8:])
	} else {
		for _, b := range key {
			w = w<<8 | uint64(b)
		}
	}
	w ^= uint64(n)<<56 ^ uint64(c)<<48
	return int((w * 0x9E3779B97F4A7C15) >> (64 - keyBits))
}

// keySlot returns the slot a key's value is captured in and the context
// of the value: -1 means "not captured"; an unknown top-level key is
// sExtra.
func keySlot(c ctx, id uint8) (int, ctx) {
	if id >= unknownKey {
		if c == cTop {
			return sExtra, cNone
		}
		return -1, cNone
	}
	d := &keyDefs[id-1]
	return d.slot, d.child
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

// parser holds the state of one parse. Its scanning methods take the
// index of the value to parse and return the index just past it, or -1
// when the parse stopped (st then says why); keeping the index in a
// local variable rather than in the struct lets it live in a register.
type parser struct {
	in      []byte
	i       int // after a successful parse: just past the value
	shift   int // whitespace bytes dropped so far
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

	keys    *keyTable // kept across records and decoders
	lastUI  lastUI    // see userIdentity
	uiCount int       // userIdentity objects in the record

	recordGaps bool // skipWS notes gaps in lastUI, relative to in[gapBase]
	gapBase    int
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
	p.uiCount = 0
}

// parseRecord parses one record (normally an object) at the start of in.
// On stOK, p.i is just past it and k is its type.
func (p *parser) parseRecord(in []byte, allowRecords bool) (st status, k kind) {
	p.reset(in)
	p.allowRecords = allowRecords
	if len(in) == 0 {
		return stShort, kNone
	}
	var i int
	if in[0] == '{' {
		i, k = p.object(0, cTop), kObject
	} else {
		i, k, _ = p.value(0, cNone)
	}
	if i < 0 {
		return p.st, kNone
	}
	p.i = i
	return stOK, k
}

// parseValue validates any one JSON value at the start of in.
func (p *parser) parseValue(in []byte) status {
	p.reset(in)
	if len(in) == 0 {
		return stShort
	}
	i, _, _ := p.value(0, cNone)
	if i < 0 {
		return p.st
	}
	p.i = i
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

// short stops the parse for want of input.
func (p *parser) short() int {
	p.st = stShort
	return -1
}

// syntax stops the parse with a syntax error at in[at].
func (p *parser) syntax(at int, format string, args ...any) int {
	p.st = stSyntax
	p.errPos = at
	p.errMsg = fmt.Sprintf(format, args...)
	return -1
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

// ws skips whitespace at in[i] and returns the index of the next byte.
// It is small enough to be inlined: compact input never calls skipWS.
func (p *parser) ws(i int) int {
	if i < len(p.in) && p.in[i] > ' ' {
		return i
	}
	return p.skipWS(i)
}

// skipWS skips whitespace at in[i], dropping it from the compacted
// record. It is kept out of line so that ws stays cheap to inline.
//
//go:noinline
func (p *parser) skipWS(i int) int {
	in := p.in
	j := i
	for j+8 <= len(in) {
		if m := notSpaceBytes(binary.LittleEndian.Uint64(in[j:])); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			goto done
		}
		j += 8
	}
	for j < len(in) && isSpace(in[j]) {
		j++
	}
done:
	if j != i {
		p.drop(i, j)
	}
	return j
}

// drop removes in[a:b], whitespace, from the compacted record.
func (p *parser) drop(a, b int) {
	p.out = append(p.out, p.in[p.flushed:a]...)
	p.flushed = b
	p.shift += b - a
	if p.recordGaps {
		p.lastUI.gaps = append(p.lastUI.gaps, [2]int{a - p.gapBase, b - p.gapBase})
	}
}

// value parses the value at in[i] (i < len(in)) in context c and returns
// the index past it, its kind and whether it is a string with escapes.
func (p *parser) value(i int, c ctx) (int, kind, bool) {
	in := p.in
	switch in[i] {
	case '"':
		j, esc := p.str(i)
		return j, kString, esc
	case '{':
		return p.object(i, c), kObject, false
	case '[':
		return p.array(i, c), kArray, false
	case 't':
		return p.lit(i, "true"), kTrue, false
	case 'f':
		return p.lit(i, "false"), kFalse, false
	case 'n':
		return p.lit(i, "null"), kNull, false
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return p.number(i), kNumber, false
	}
	return p.syntax(i, "invalid character %s looking for beginning of value", quoteChar(in[i])), kNone, false
}

// capture parses the value at in[i] and, when slot >= 0, records where
// it lies in the compacted record.
func (p *parser) capture(i int, c ctx, slot int) int {
	start := i - p.shift
	j, k, esc := p.value(i, c)
	if j >= 0 && slot >= 0 {
		p.f[slot] = span{s: start, e: j - p.shift, k: k, esc: esc}
	}
	return j
}

func (p *parser) lit(i int, word string) int {
	in := p.in
	for j := 1; j < len(word); j++ {
		if i+j >= len(in) {
			return p.short()
		}
		if in[i+j] != word[j] {
			return p.syntax(i+j, "invalid character %s in literal %s (expecting %s)", quoteChar(in[i+j]), word, quoteChar(word[j]))
		}
	}
	return i + len(word)
}

func (p *parser) number(i int) int {
	in := p.in
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
	return i
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
// non-ASCII; 0 when there is none. A borrow can set bits above the first
// such byte, never below it.
func specialBytes(x uint64) uint64 {
	return (((x ^ ('"' * lo8)) - lo8) | ((x ^ ('\\' * lo8)) - lo8) | (x - 0x20*lo8) | x) & hi8
}

// notSpaceBytes returns a mask with the high bit set in each byte of x
// that is not JSON whitespace; 0 when all eight are.
func notSpaceBytes(x uint64) uint64 {
	return nonZeroBytes(x^(' '*lo8)) & nonZeroBytes(x^('\n'*lo8)) &
		nonZeroBytes(x^('\r'*lo8)) & nonZeroBytes(x^('\t'*lo8))
}

// nonZeroBytes returns a mask with the high bit set in exactly the bytes
// of x that are not zero.
func nonZeroBytes(x uint64) uint64 {
	const lo7 = 0x7F7F7F7F7F7F7F7F
	return ((x&lo7 + lo7) | x) & hi8
}

// str scans the string at in[i] == '"' and returns the index past it and
// whether it holds escapes.
func (p *parser) str(i int) (int, bool) {
	if j, ok := plainStr(p.in, i); ok {
		return j, false
	}
	return p.strRest(i + 1)
}

// plainStr handles the common case of str: a string at in[i] == '"' of
// plain ASCII, not near the end of the input. It returns the index past
// the string and true, or false when str has to look closer. Being a
// leaf function, it is cheap to call.
func plainStr(in []byte, i int) (int, bool) {
	for i++; i+8 <= len(in); i += 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(in[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			return i + 1, in[i] == '"'
		}
	}
	return 0, false
}

// strRest scans the rest of a string from in[i], which follows only
// plain bytes.
func (p *parser) strRest(i int) (int, bool) {
	in := p.in
	esc := false
	for {
		// Skip plain bytes eight at a time, then one by one near the end
		// of the input; i then indexes a special byte.
		for i+8 <= len(in) {
			if m := specialBytes(binary.LittleEndian.Uint64(in[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < len(in) && strPlain[in[i]] {
			i++
		}
		if i >= len(in) {
			return p.short(), esc
		}
	special:
		c := in[i]
		switch {
		case c == '"':
			return i + 1, esc
		case c == '\\':
			esc = true
			if i+1 >= len(in) {
				return p.short(), esc
			}
			switch in[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(in) {
						return p.short(), esc
					}
					if hexVal[in[j]] < 0 {
						return p.syntax(j, "invalid character %s in \\u hexadecimal character escape", quoteChar(in[j])), esc
					}
				}
				i += 6
			default:
				return p.syntax(i+1, "invalid character %s in string escape code", quoteChar(in[i+1])), esc
			}
		case c < 0x20:
			return p.syntax(i, "invalid character %s in string literal", quoteChar(c)), esc
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				if !utf8.FullRune(in[i:]) {
					return p.short(), esc
				}
				p.utf8At = i
				return p.syntax(i, "invalid UTF-8"), esc
			}
			i += size
		}
	}
}

// object parses the object at in[i] == '{' whose keys belong to context
// c.
func (p *parser) object(i int, c ctx) int {
	p.depth++
	if p.depth > maxDepth {
		return p.syntax(i, "exceeded max depth")
	}
	in := p.in
	i = p.ws(i + 1)
	if i >= len(in) {
		return p.short()
	}
	if in[i] == '}' {
		p.depth--
		return i + 1
	}
	if c == cNone {
		return p.members(i)
	}
	return p.knownMembers(i, c)
}

// members parses the key:value pairs of an object of no interest, from
// the first key at in[i] to past the closing brace.
func (p *parser) members(i int) int {
	in := p.in
	for {
		if in[i] != '"' {
			return p.syntax(i, "invalid character %s looking for beginning of object key string", quoteChar(in[i]))
		}
		if i, _ = p.str(i); i < 0 {
			return -1
		}
		if i+1 < len(in) && in[i] == ':' && in[i+1] > ' ' {
			i++
		} else if i+2 < len(in) && in[i] == ':' && in[i+1] == ' ' && in[i+2] > ' ' {
			p.drop(i+1, i+2) // pretty-printed: one space after the colon
			i += 2
		} else if i = p.colon(i); i < 0 {
			return -1
		}
		if in[i] == '"' {
			i, _ = p.str(i)
		} else {
			i, _, _ = p.value(i, cNone)
		}
		if i < 0 {
			return -1
		}
		i = p.ws(i)
		if i >= len(in) {
			return p.short()
		}
		switch in[i] {
		case ',':
			i = p.ws(i + 1)
			if i >= len(in) {
				return p.short()
			}
		case '}':
			p.depth--
			return i + 1
		default:
			return p.syntax(i, "invalid character %s after object key:value pair", quoteChar(in[i]))
		}
	}
}

// hasAt reports whether in[i:] starts with s.
func hasAt(in []byte, i int, s string) bool {
	return len(in)-i >= len(s) && string(in[i:i+len(s)]) == s
}

// colon parses the ':' after an object key ending at in[i] and returns
// the index of the value. Callers handle the compact case, a ':' right
// before the value, themselves.
func (p *parser) colon(i int) int {
	in := p.in
	i = p.ws(i)
	if i >= len(in) {
		return p.short()
	}
	if in[i] != ':' {
		return p.syntax(i, "invalid character %s after object key", quoteChar(in[i]))
	}
	i = p.ws(i + 1)
	if i >= len(in) {
		return p.short()
	}
	return i
}

// knownMembers is members for an object of a known context c: it
// captures the values of the keys lookup knows. A key is first compared
// with the guess of p.keys; only when that fails is it scanned and
// looked up.
func (p *parser) knownMembers(i int, c ctx) int {
	in := p.in
	t := p.keys
	if t == nil {
		t = newKeyTable()
		p.keys = t
	}
	prev := uint8(0)
	for {
		if in[i] != '"' {
			return p.syntax(i, "invalid character %s looking for beginning of object key string", quoteChar(in[i]))
		}
		ks := i
		id := t.next[c][prev]
		if id != 0 && t.guessed(in, i, id) {
			i += len(t.quoted[id])
		} else {
			var kesc bool
			if i, kesc = p.str(i); i < 0 {
				return -1
			}
			key := in[ks+1 : i-1]
			if kesc {
				key = unescape(key)
			}
			if id = t.lookup(c, key, !kesc); id != unknownKey {
				t.next[c][prev] = id
			}
		}
		prev = id
		kspan := span{s: ks - p.shift, e: i - p.shift, k: kString}
		if i+1 < len(in) && in[i] == ':' && in[i+1] > ' ' {
			i++
		} else if i+2 < len(in) && in[i] == ':' && in[i+1] == ' ' && in[i+2] > ' ' {
			p.drop(i+1, i+2) // pretty-printed: one space after the colon
			i += 2
		} else if i = p.colon(i); i < 0 {
			return -1
		}
		slot, child := keySlot(c, id)
		if slot < -1 {
			switch slot {
			case sRecords:
				if p.allowRecords && p.depth == 1 && in[i] == '[' {
					p.st = stRecords
					p.errPos = i
					return -1
				}
			case sDigest:
				p.digest = true
			}
			vs := i - p.shift
			if i, _, _ = p.value(i, cNone); i < 0 {
				return -1
			}
			p.extras = append(p.extras, extra{k: kspan, v: span{s: vs, e: i - p.shift}})
		} else if slot == fUserIdentity && in[i] == '{' {
			start := i - p.shift
			if i = p.userIdentity(i); i < 0 {
				return -1
			}
			p.f[slot] = span{s: start, e: i - p.shift, k: kObject}
		} else {
			// Inline value(), as most values are strings.
			start := i - p.shift
			var k kind
			var esc bool
			if in[i] == '"' {
				k = kString
				if j, ok := plainStr(in, i); ok {
					i = j
				} else {
					i, esc = p.strRest(i + 1)
				}
			} else {
				i, k, esc = p.value(i, child)
			}
			if i < 0 {
				return -1
			}
			if slot >= 0 {
				p.f[slot] = span{s: start, e: i - p.shift, k: k, esc: esc}
			}
			if slot == fTimestamp {
				p.extras = append(p.extras, extra{k: kspan, v: p.f[fTimestamp]})
			}
		}
		i = p.ws(i)
		if i >= len(in) {
			return p.short()
		}
		switch in[i] {
		case ',':
			i = p.ws(i + 1)
			if i >= len(in) {
				return p.short()
			}
		case '}':
			p.depth--
			return i + 1
		default:
			return p.syntax(i, "invalid character %s after object key:value pair", quoteChar(in[i]))
		}
	}
}

// uiCapture is a value captured inside a userIdentity object, with its
// span relative to the object.
type uiCapture struct {
	slot int
	sp   span
}

// lastUI remembers the last userIdentity object parsed and what its parse
// did.
type lastUI struct {
	raw  []byte      // the object as it was in the input
	caps []uiCapture // values captured, spans relative to the compacted object
	gaps [][2]int    // whitespace dropped, relative to raw
}

// maxUIBytes bounds the userIdentity object lastUI keeps.
const maxUIBytes = 4 << 10

// userIdentity parses the userIdentity object at in[i] == '{'. Events
// come in runs from one principal, whose userIdentity objects are the
// same bytes; for such an object it replays what the last parse did
// (capture values, drop whitespace) instead of parsing it again. The
// bytes being those of an object that parsed, the parse would do the
// same at the same offsets.
func (p *parser) userIdentity(i int) int {
	p.uiCount++
	in := p.in
	u := &p.lastUI
	if len(u.raw) > 0 && len(in)-i >= len(u.raw) && string(in[i:i+len(u.raw)]) == string(u.raw) {
		start := i - p.shift
		for _, g := range u.gaps {
			p.drop(i+g[0], i+g[1])
		}
		for _, c := range u.caps {
			p.f[c.slot] = span{s: start + c.sp.s, e: start + c.sp.e, k: c.sp.k, esc: c.sp.esc}
		}
		return i + len(u.raw)
	}
	u.raw, u.caps, u.gaps = u.raw[:0], u.caps[:0], u.gaps[:0]
	start := i - p.shift
	p.recordGaps, p.gapBase = true, i
	j := p.object(i, cUI)
	p.recordGaps = false
	if j < 0 || j-i > maxUIBytes {
		u.gaps = u.gaps[:0]
		return j
	}
	// The captured values are those with spans inside the object (a slot
	// may also hold a value of an earlier userIdentity key).
	u.raw = append(u.raw, in[i:j]...)
	end := j - p.shift
	for slot := fUIType; slot <= fOBOStoreARN; slot++ {
		if sp := p.f[slot]; sp.k != kNone && sp.s >= start && sp.e <= end {
			sp.s -= start
			sp.e -= start
			u.caps = append(u.caps, uiCapture{slot, sp})
		}
	}
	return j
}

// array parses the array at in[i] == '[' in context c.
func (p *parser) array(i int, c ctx) int {
	p.depth++
	if p.depth > maxDepth {
		return p.syntax(i, "exceeded max depth")
	}
	in := p.in
	i = p.ws(i + 1)
	if i >= len(in) {
		return p.short()
	}
	if in[i] == ']' {
		p.depth--
		return i + 1
	}
	for {
		if c == cResArr {
			p.f[fResType] = span{}
			p.f[fResARN] = span{}
			if i = p.capture(i, cRes, -1); i < 0 {
				return -1
			}
			p.res = append(p.res, [2]span{p.f[fResType], p.f[fResARN]})
		} else if i = p.capture(i, cNone, -1); i < 0 {
			return -1
		}
		i = p.ws(i)
		if i >= len(in) {
			return p.short()
		}
		switch in[i] {
		case ',':
			i = p.ws(i + 1)
			if i >= len(in) {
				return p.short()
			}
		case ']':
			p.depth--
			return i + 1
		default:
			return p.syntax(i, "invalid character %s after array element", quoteChar(in[i]))
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
