package s3access

import (
	"fmt"
	"math/bits"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leakscope/leakscope/ingest"
)

// Field positions of an access log line. A bracketed time and a quoted
// string each count as one field.
const (
	fOwner = iota
	fBucket
	fTime
	fRemoteIP
	fRequester
	fRequestID
	fOperation
	fKey
	fRequestURI
	fStatus
	fErrorCode
	fBytesSent
	fObjectSize
	fTotalTime
	fTurnaround
	fReferer
	fUserAgent
	fVersionID // 18th field: end of the classic layout
	fHostID
	fSigV
	fCipher
	fAuthType
	fHost
	fTLS // 24th field
	fAccessPoint
	fACL
	fSourceRegion
	nKnown // fields with a column; later ones go to extra_fields
)

// minFields is the length of the classic (oldest) layout; shorter lines
// are quarantined.
const minFields = fVersionID + 1

// fieldNames are the column names used in quarantine reasons.
var fieldNames = [nKnown]string{
	"bucket_owner", "bucket", "event_time", "remote_ip", "requester",
	"request_id", "operation", "key", "request_uri", "http_status",
	"error_code", "bytes_sent", "object_size", "total_time_ms",
	"turnaround_time_ms", "referer", "user_agent", "version_id", "host_id",
	"signature_version", "cipher_suite", "auth_type", "host_header",
	"tls_version", "access_point_arn", "acl_required", "source_region",
}

func fieldName(i int) string {
	if i < nKnown {
		return fieldNames[i]
	}
	return "field " + strconv.Itoa(i+1)
}

// parser holds the per-object scratch space of the line decoder so that
// decoding a line allocates nothing beyond the line's string and the
// rare values that must be rewritten (unescaped quotes, URL-decoded keys,
// extra_fields JSON).
type parser struct {
	line  string   // the current line
	toks  []span   // its tokens, quotes and brackets removed
	unesc []string // unescaped quoted tokens of the line (see span)
	stray string   // token removed by the version_id/host_id repair
	// hostRegion's results: the lines of an object carry few distinct
	// Host headers, mostly the same one as the line before.
	lastHost, lastHostRegion string
	hostCache                map[string]string
	// The last time parsed, and its value at second 0: lines of a log
	// mostly share the minute.
	lastTime   string
	lastMinute int64
}

// parseTime is parseTime(s), short-cut when s differs from the last time
// parsed in its seconds only.
func (p *parser) parseTime(s string) (int64, bool) {
	const secs = len("06/Feb/2019:00:00:") // seconds at s[secs:secs+2]
	if len(s) == len(p.lastTime) && len(s) > secs+2 && s[:secs] == p.lastTime[:secs] && s[secs+2:] == p.lastTime[secs+2:] {
		// Same format, date, hour, minute and offset: the value is
		// linear in the seconds, which parseTime takes up to 60.
		if ss, ok := digits2(s[secs : secs+2]); ok && ss <= 60 {
			return p.lastMinute + int64(ss)*1_000_000, true
		}
	}
	us, ok := parseTime(s)
	if ok {
		ss, _ := digits2(s[secs : secs+2])
		p.lastTime, p.lastMinute = s, us-int64(ss)*1_000_000
	}
	return us, ok
}

// maxHostCache bounds parser.hostCache; it is emptied when full.
const maxHostCache = 64

// hostRegion is hostRegion(host), cached.
func (p *parser) hostRegion(host string) string {
	if host == p.lastHost {
		return p.lastHostRegion
	}
	region, ok := p.hostCache[host]
	if !ok {
		if p.hostCache == nil || len(p.hostCache) >= maxHostCache {
			p.hostCache = make(map[string]string)
		}
		// A copy, so that the map holds no line of the object.
		host = strings.Clone(host)
		region = hostRegion(host)
		p.hostCache[host] = region
	}
	p.lastHost, p.lastHostRegion = host, region
	return region
}

// span is one token of the current line: line[s:e], or when e < 0 the
// unescaped quoted string unesc[s]. Tokens are kept as offsets rather than
// strings so that tokenizing writes no pointers (no GC write barriers).
type span struct{ s, e int }

// tok returns token i of the current line.
func (p *parser) tok(i int) string {
	t := p.toks[i]
	if t.e < 0 {
		return p.unesc[t.s]
	}
	return p.line[t.s:t.e]
}

// tokenize splits s into fields. Fields are separated by one or more
// spaces. The third field may be a bracketed time; any field may be a
// double-quoted string in which \" and \\ are escapes and a quote closes
// the field only when followed by a space or the end of the line. It
// returns a quarantine reason, or "" when the line tokenized.
func (p *parser) tokenize(s string) string {
	p.line = s
	if len(p.unesc) > 0 {
		clear(p.unesc) // let the last line's strings go
		p.unesc = p.unesc[:0]
	}
	// toks is kept in a local so that appending does not go through p;
	// p.toks is set on every return.
	toks := p.toks[:0]
	i, n := 0, len(s)
	for {
		for i < n && s[i] == ' ' {
			i++
		}
		if i >= n {
			p.toks = toks
			return ""
		}
		idx := len(toks)
		switch c := s[i]; {
		case c == '[' && idx == fTime:
			j := strings.IndexByte(s[i+1:], ']')
			if j < 0 {
				p.toks = toks
				return "event_time: unterminated [ bracket"
			}
			toks = append(toks, span{i + 1, i + 1 + j})
			i += j + 2
			if i < n && s[i] != ' ' {
				p.toks = toks
				return "event_time: no space after ] bracket"
			}
		case c == '"':
			start := i + 1
			j := start
			escaped := false
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					p.toks = toks
					return fieldName(idx) + ": unterminated quoted string"
				}
				j += k
				// Count the backslashes before the quote: an odd
				// number escapes it.
				b := j
				for b > start && s[b-1] == '\\' {
					b--
				}
				if b < j {
					escaped = true
				}
				if (j-b)%2 == 0 && (j+1 == n || s[j+1] == ' ') {
					break
				}
				j++
			}
			if escaped {
				p.unesc = append(p.unesc, unescape(s[start:j]))
				toks = append(toks, span{len(p.unesc) - 1, -1})
			} else {
				toks = append(toks, span{start, j})
			}
			i = j + 1
		default:
			j := indexSpace(s, i+1)
			toks = append(toks, span{i, j})
			i = j
		}
	}
}

// indexSpace returns the index of the first space in s at or after i, or
// len(s) when there is none. Bare fields are short, so it looks at eight
// bytes at a time inline rather than calling strings.IndexByte, whose
// call and setup cost more than the scan of a short field.
func indexSpace(s string, i int) int {
	const ones, spaces, highs = 0x0101010101010101, 0x2020202020202020, 0x8080808080808080
	for i+8 <= len(s) {
		// The lowest byte flagged by the has-zero-byte trick is always
		// a real space (false positives only follow a real one).
		w := load64(s, i) ^ spaces
		if m := (w - ones) &^ w & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(s) && s[i] != ' ' {
		i++
	}
	return i
}

// load64 returns the eight bytes of s at i as a little-endian number; the
// compiler makes it one load.
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// unescape resolves \" and \\ inside a quoted field; other backslashes
// are kept as logged.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i+1 == len(s) {
			b.WriteString(s)
			return b.String()
		}
		// Keep the backslash unless it escapes a quote or a backslash,
		// and in any case the byte after it, which is not looked at
		// again.
		if c := s[i+1]; c == '"' || c == '\\' {
			b.WriteString(s[:i])
		} else {
			b.WriteString(s[:i+1])
		}
		b.WriteByte(s[i+1])
		s = s[i+2:]
	}
}

// repair fixes a line that carries one stray token between version_id and
// host_id (ncbi corpus line 9: an IAM unique id "AIDA…" there). It only
// acts when the signature_version column holds no signature version but
// the next column does; the stray token is kept in extra_fields.
func (p *parser) repair() {
	p.stray = ""
	t := p.toks
	if len(t) <= fSigV+1 {
		return
	}
	if sig := p.tok(fSigV); sig == "-" || isSigV(sig) || !isSigV(p.tok(fSigV+1)) {
		return
	}
	p.stray = p.tok(fHostID)
	p.toks = append(t[:fHostID], t[fHostID+1:]...)
}

func isSigV(s string) bool {
	return len(s) >= 5 && len(s) <= 8 && strings.HasPrefix(s, "SigV")
}

// null maps the "-" placeholder (bare or quoted) to the empty string,
// which the Parquet writer stores as NULL.
func null(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// number parses a non-negative decimal field. null is true for "-".
func number(s string) (v int64, isNull, ok bool) {
	if s == "-" {
		return 0, true, true
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false, false
		}
		v = v*10 + int64(c)
	}
	return v, false, true
}

// quoteValue renders a hostile log value for a quarantine reason: bounded
// and with control characters escaped.
func quoteValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// nums is the backing store for a row's nullable numbers, so that a batch
// of rows costs one allocation for all of them.
type nums struct {
	status                            int32
	sent, size, totalTime, turnaround int64
}

// decodeLine fills r from the line s. It returns a quarantine reason, or ""
// when the line became a row. r's provenance and partition fields are left
// to the caller.
func (p *parser) decodeLine(s string, r *Row, nb *nums) string {
	if reason := p.tokenize(s); reason != "" {
		return reason
	}
	if len(p.toks) < minFields {
		return fmt.Sprintf("too few fields: got %d, want at least %d", len(p.toks), minFields)
	}
	p.repair()
	// The tokens in locals: stores to r would otherwise make every
	// access reload them from p.
	line, toks, unesc := p.line, p.toks, p.unesc
	tok := func(i int) string { // as parser.tok
		if t := toks[i]; t.e >= 0 {
			return line[t.s:t.e]
		}
		return unesc[toks[i].s]
	}
	field := func(i int) string { // token i as a column value, "" when absent or "-"
		if i < len(toks) {
			return null(tok(i))
		}
		return ""
	}

	us, ok := p.parseTime(tok(fTime))
	if !ok {
		return "event_time: unparseable time " + quoteValue(tok(fTime))
	}
	r.EventTime = us

	// Numbers first: a line whose numbers are not numbers is misaligned
	// and quarantined before any string work is spent on it.
	for _, f := range [...]int{fStatus, fBytesSent, fObjectSize, fTotalTime, fTurnaround} {
		v, isNull, ok := number(tok(f))
		if !ok || (f == fStatus && v > 1<<31-1) {
			return fieldName(f) + ": not a number " + quoteValue(tok(f))
		}
		if isNull {
			continue
		}
		switch f {
		case fStatus:
			nb.status = int32(v)
			r.HTTPStatus = &nb.status
		case fBytesSent:
			nb.sent = v
			r.BytesSent = &nb.sent
		case fObjectSize:
			nb.size = v
			r.ObjectSize = &nb.size
		case fTotalTime:
			nb.totalTime = v
			r.TotalTimeMS = &nb.totalTime
		case fTurnaround:
			nb.turnaround = v
			r.TurnaroundTimeMS = &nb.turnaround
		}
	}

	r.BucketOwner = null(tok(fOwner))
	r.Bucket = null(tok(fBucket))
	r.RemoteIP = null(tok(fRemoteIP))
	r.Requester = null(tok(fRequester))
	r.RequestID = null(tok(fRequestID))
	r.Operation = null(tok(fOperation))
	r.RawKey = null(tok(fKey))
	r.Key = decodeKey(r.RawKey)
	r.RequestURI = null(tok(fRequestURI))
	r.ErrorCode = null(tok(fErrorCode))
	r.Referer = null(tok(fReferer))
	r.UserAgent = null(tok(fUserAgent))
	r.VersionID = null(tok(fVersionID))
	r.HostID = field(fHostID)
	r.SignatureVersion = field(fSigV)
	r.CipherSuite = field(fCipher)
	r.AuthType = field(fAuthType)
	r.HostHeader = field(fHost)
	r.TLSVersion = field(fTLS)
	r.AccessPointARN = field(fAccessPoint)
	r.ACLRequired = field(fACL)
	r.SourceRegion = field(fSourceRegion)
	if p.stray != "" || len(p.toks) > nKnown {
		r.ExtraFields = p.extraJSON()
	}

	splitRequester(r)
	r.HTTPMethod, r.QueryAuth = splitRequestURI(r.RequestURI)
	return ""
}

// extraJSON renders the tokens without a column as a JSON array of
// strings, in line order.
func (p *parser) extraJSON() string {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	if p.stray != "" {
		b = appendJSONString(b, p.stray)
	}
	if len(p.toks) > nKnown {
		for i := nKnown; i < len(p.toks); i++ {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p.tok(i))
		}
	}
	b = append(b, ']')
	return string(b)
}

// appendJSONString appends s (valid UTF-8) as a JSON string, escaping
// quotes, backslashes and control characters, and <, > and & as
// encoding/json does, so the text is inert if pasted into HTML.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeKey URL-decodes a logged key ("+" is a space, %XX a byte). A key
// that does not decode to valid UTF-8 is kept as logged.
func decodeKey(raw string) string {
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return raw
	}
	k, err := url.QueryUnescape(raw)
	if err != nil || !utf8.ValidString(k) {
		return raw
	}
	return k
}

// splitRequester fills the derived requester columns.
func splitRequester(r *Row) {
	v := r.Requester
	switch {
	case v == "":
		r.RequesterAnonymous = true
	case strings.HasPrefix(v, "arn:"):
		r.RequesterARN = v
		r.RequesterAccount = arnAccount(v)
	case strings.HasPrefix(v, "svc:"):
		r.RequesterService = v[len("svc:"):]
	case v == "AmazonS3":
		// Lifecycle actions (S3.EXPIRE.OBJECT, S3.TRANSITION_*).
		r.RequesterService = v
	case len(v) == 64 && isHex(v):
		r.RequesterCanonicalID = v
	}
}

// arnAccount returns the account field of arn:partition:service:region:account:resource
// when it is all digits.
func arnAccount(arn string) string {
	// One pass over the short prefix: find the fourth and fifth colons.
	colons, start := 0, 0
	for i := 0; i < len(arn); i++ {
		if arn[i] != ':' {
			continue
		}
		colons++
		if colons == 4 {
			start = i + 1
		} else if colons == 5 {
			if i == start || !isDigits(arn[start:i]) {
				return ""
			}
			return arn[start:i]
		}
	}
	return ""
}

// splitRequestURI returns the HTTP method of a logged request line
// ("GET /key?query HTTP/1.1") and whether its query string carries
// query-string authentication (a presigned URL).
func splitRequestURI(u string) (method string, queryAuth bool) {
	sp := strings.IndexByte(u, ' ')
	if sp <= 0 {
		return "", false
	}
	if m := u[:sp]; len(m) <= 16 && isUpper(m) {
		method = m
	}
	target := u[sp+1:]
	if e := strings.IndexByte(target, ' '); e >= 0 {
		target = target[:e]
	}
	q := strings.IndexByte(target, '?')
	if q < 0 {
		return method, false
	}
	query := target[q+1:]
	for query != "" {
		param := query
		if a := strings.IndexByte(query, '&'); a >= 0 {
			param, query = query[:a], query[a+1:]
		} else {
			query = ""
		}
		// Skip EqualFold for lengths that cannot match. The one letter
		// of these names with a multi-byte fold is s (ſ, two bytes),
		// so a match is 9, 10, 15 or 16 bytes long.
		if len(param) < len("Signature") {
			continue
		}
		if eq := strings.IndexByte(param, '='); eq >= 0 {
			param = param[:eq]
		}
		n := len(param)
		if (n == 15 || n == 16) && strings.EqualFold(param, "X-Amz-Signature") ||
			(n == 9 || n == 10) && strings.EqualFold(param, "Signature") {
			return method, true
		}
	}
	return method, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(s) > 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return len(s) > 0
}

// parseTime parses "06/Feb/2019:00:00:38 +0000" into Unix microseconds
// (UTC), applying the logged offset.
func parseTime(s string) (int64, bool) {
	if len(s) != len("06/Feb/2019:00:00:38 +0000") ||
		s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' {
		return 0, false
	}
	day, ok1 := digits2(s[0:2])
	month := monthIndex(s[3:6])
	year, ok2 := digits4(s[7:11])
	hh, ok3 := digits2(s[12:14])
	mm, ok4 := digits2(s[15:17])
	ss, ok5 := digits2(s[18:20])
	oh, ok6 := digits2(s[22:24])
	om, ok7 := digits2(s[24:26])
	sign := s[21]
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 || month == 0 || (sign != '+' && sign != '-') {
		return 0, false
	}
	if year < 1 || day < 1 || day > ingest.DaysIn(year, month) || hh > 23 || mm > 59 || ss > 60 || oh > 23 || om > 59 {
		return 0, false
	}
	off := int64(oh*3600 + om*60)
	if sign == '-' {
		off = -off
	}
	sec := ingest.DaysFromCivil(year, month, day)*86400 + int64(hh*3600+mm*60+ss) - off
	return sec * 1_000_000, true
}

func digits2(s string) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

func digits4(s string) (int, bool) {
	hi, ok1 := digits2(s[0:2])
	lo, ok2 := digits2(s[2:4])
	return hi*100 + lo, ok1 && ok2
}

func monthIndex(m string) int {
	switch m {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}
