package s3access

import (
	"bytes"
	"strings"
)

// KeyLayout recognises the partitioned-prefix delivery layout of S3
// server access logs,
//
//	<prefix><account>/<region>/<bucket>/YYYY/MM/DD/<file>
//
// and returns the source account, region and bucket it names. The prefix
// may end in "/" or be glued to the 12-digit account id. ok is false for
// every other key, including the date-based layout
// <prefix>YYYY-mm-DD-HH-MM-SS-<unique>, which names neither account nor
// region.
func KeyLayout(key string) (account, region, bucket string, ok bool) {
	// Walk the last seven segments from the end without allocating.
	var seg [7]string
	rest := key
	for i := 6; i >= 0; i-- {
		j := strings.LastIndexByte(rest, '/')
		if i > 0 && j < 0 {
			return "", "", "", false
		}
		seg[i] = rest[j+1:]
		if j >= 0 {
			rest = rest[:j]
		}
	}
	acct, reg, bkt, yyyy, mm, dd, file := seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6]
	if len(acct) < 12 || !isDigits(acct[len(acct)-12:]) {
		return "", "", "", false
	}
	if !isRegion(reg) || !isBucketName(bkt) || file == "" {
		return "", "", "", false
	}
	if len(yyyy) != 4 || !isDigits(yyyy) || !isMonth(mm) || !isDay(dd) {
		return "", "", "", false
	}
	return acct[len(acct)-12:], reg, bkt, true
}

func isMonth(s string) bool {
	v, ok := 0, len(s) == 2 && isDigits(s)
	if ok {
		v, _ = digits2(s)
	}
	return ok && v >= 1 && v <= 12
}

func isDay(s string) bool {
	v, ok := 0, len(s) == 2 && isDigits(s)
	if ok {
		v, _ = digits2(s)
	}
	return ok && v >= 1 && v <= 31
}

// isBucketName accepts S3 bucket names, including legacy us-east-1 names
// with capitals and underscores.
func isBucketName(s string) bool {
	if len(s) < 3 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// isDateLayout reports whether key ends like the date-based delivery
// layout: YYYY-mm-DD-HH-MM-SS-<unique>, optionally with a file extension
// added by whoever copied the logs (".gz").
func isDateLayout(key string) bool {
	name := key[strings.LastIndexByte(key, '/')+1:]
	if dot := strings.IndexByte(name, '.'); dot >= 0 {
		name = name[:dot]
	}
	const stamp = len("2006-01-02-15-04-05-")
	for i := 0; i+stamp < len(name); i++ {
		if isDigit(name[i]) && dateStamp(name[i:i+stamp]) && isAlnum(name[i+stamp:]) {
			return true
		}
	}
	return false
}

// dateStamp matches "2006-01-02-15-04-05-".
func dateStamp(s string) bool {
	for i := 0; i < len(s); i++ {
		switch i {
		case 4, 7, 10, 13, 16, 19:
			if s[i] != '-' {
				return false
			}
		default:
			if !isDigit(s[i]) {
				return false
			}
		}
	}
	return isMonth(s[5:7]) && isDay(s[8:10])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return len(s) > 0
}

// isRegion reports whether s looks like an AWS region name: lower-case
// letter groups and a final number, e.g. us-west-2, us-gov-east-1,
// cn-north-1, eu-isoe-west-1.
func isRegion(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	parts, last := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' {
			continue
		}
		p := s[last:i]
		last = i + 1
		parts++
		if p == "" {
			return false
		}
		if i == len(s) {
			if !isDigits(p) {
				return false
			}
			break
		}
		for j := 0; j < len(p); j++ {
			if p[j] < 'a' || p[j] > 'z' {
				return false
			}
		}
		if parts == 1 && len(p) != 2 {
			return false
		}
	}
	return parts >= 3
}

// hostRegion returns the region named by an S3 regional endpoint in a
// Host header: bucket.s3.us-west-2.amazonaws.com,
// s3.eu-west-1.amazonaws.com, s3-us-west-2.amazonaws.com (legacy dash
// form), s3.dualstack.…, s3-fips.…, s3-accesspoint.…, s3-website-….,
// *.amazonaws.com.cn. The global endpoint (bucket.s3.amazonaws.com) and
// anything else give "": the region is then unknown, not guessed.
func hostRegion(host string) string {
	if c := strings.LastIndexByte(host, ':'); c >= 0 {
		host = host[:c]
	}
	host = strings.TrimSuffix(host, ".")
	var rest string
	switch {
	case hasSuffixFold(host, ".amazonaws.com"):
		rest = host[:len(host)-len(".amazonaws.com")]
	case hasSuffixFold(host, ".amazonaws.com.cn"):
		rest = host[:len(host)-len(".amazonaws.com.cn")]
	default:
		return ""
	}
	label := rest[strings.LastIndexByte(rest, '.')+1:]
	before := ""
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		r2 := rest[:i]
		before = r2[strings.LastIndexByte(r2, '.')+1:]
	}
	label = strings.ToLower(label) // allocates only for odd-cased hosts
	if isRegion(label) {
		b := strings.ToLower(before)
		if strings.HasPrefix(b, "s3") || b == "dualstack" {
			return label
		}
		return ""
	}
	// Legacy dash forms: s3-us-west-2, s3-website-us-east-1, s3-fips-us-gov-west-1.
	for _, p := range [...]string{"s3-website-", "s3-fips-", "s3-"} {
		if strings.HasPrefix(label, p) && isRegion(label[len(p):]) {
			return label[len(p):]
		}
	}
	return ""
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// Sniff reports how sure it is that an object with this key and these
// first (decompressed) bytes is an S3 server access log: 90 when the
// first line tokenizes as an access log line (canonical-id or account-id
// owner, bucket, bracketed time), 100 when the key follows a delivery
// layout too, 50-60 for a delivery-layout key alone, 0 for JSON.
func Sniff(key string, head []byte) int {
	h := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(h) > 0 && (h[0] == '{' || h[0] == '[') {
		return 0
	}
	_, _, _, partitioned := KeyLayout(key)
	keyMatch := partitioned || isDateLayout(key)
	lineMatch := false
	if len(h) > 0 {
		line := h
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		lineMatch = sniffLine(string(line))
	}
	switch {
	case lineMatch && keyMatch:
		return 100
	case lineMatch:
		return 90
	case keyMatch && len(h) == 0:
		return 60
	case keyMatch:
		return 50
	}
	return 0
}

// sniffLine checks the first three fields of a (possibly truncated) line.
func sniffLine(line string) bool {
	var p parser
	// A truncated head may cut a quoted field; only the first three
	// fields matter, so cut the line after the time bracket.
	if i := strings.IndexByte(line, ']'); i >= 0 {
		line = line[:i+1]
	} else {
		return false
	}
	if p.tokenize(line) != "" || len(p.toks) != 3 {
		return false
	}
	owner := p.tok(fOwner)
	ownerOK := (len(owner) >= 32 && isHex(owner)) || (len(owner) >= 6 && len(owner) <= 12 && isDigits(owner))
	_, timeOK := parseTime(p.tok(fTime))
	return ownerOK && isBucketName(p.tok(fBucket)) && timeOK
}
