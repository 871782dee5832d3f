package vpcflow

import (
	"bytes"
	"encoding/json"
	"strings"
)

// KeyLayout extracts the account and region from the key of an object
// that VPC Flow Logs delivered to S3:
//
//	.../AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/...
//	.../AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/...
//
// or, failing those, from an AWS flow-log file name
// (<account>_vpcflowlogs_<region>_fl-..._<time>_<hash>.log.gz).
func KeyLayout(key string) (account, region string, ok bool) {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		switch {
		case s == "vpcflowlogs" && i >= 1 && i+4 < len(segs):
			acc, reg := segs[i-1], segs[i+1]
			if isAccount(acc) && isRegion(reg) &&
				isDigits(segs[i+2], 4) && isDigits(segs[i+3], 2) && isDigits(segs[i+4], 2) {
				return acc, reg, true
			}
		case strings.HasPrefix(s, "aws-account-id=") && i+3 < len(segs):
			acc := strings.TrimPrefix(s, "aws-account-id=")
			reg, okr := strings.CutPrefix(segs[i+2], "aws-region=")
			if segs[i+1] == "aws-service=vpcflowlogs" && okr && isAccount(acc) && isRegion(reg) &&
				strings.HasPrefix(segs[i+3], "year=") {
				return acc, reg, true
			}
		}
	}
	parts := strings.SplitN(segs[len(segs)-1], "_", 4)
	if len(parts) == 4 && parts[1] == "vpcflowlogs" && isAccount(parts[0]) && isRegion(parts[2]) {
		return parts[0], parts[2], true
	}
	return "", "", false
}

func isAccount(s string) bool { return isDigits(s, 12) }

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRegion accepts region-shaped names (us-east-1, eu-central-2,
// us-gov-west-1): lower-case letters, digits and '-'.
func isRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 || !strings.Contains(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Sniff reports how sure it is that an object is a VPC flow log: 100 for
// the flow-log key layouts, 95 when the first line is a flow-log header
// or a record in AWS's default format, 0 for anything else (CloudTrail
// JSON included).
func Sniff(key string, head []byte) int {
	if _, _, ok := KeyLayout(key); ok {
		return 100
	}
	if bytes.HasPrefix(head, parquetMagic) {
		if RawParquet(key) && strings.Contains(strings.ToLower(key), "flow") {
			return 60
		}
		return 0
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	for len(head) > 0 {
		line := head
		i := bytes.IndexByte(head, '\n')
		if i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > 0 && line[0] == '{' {
			if i < 0 {
				return 0 // cut off: cannot tell
			}
			var w struct {
				Message *string `json:"message"`
			}
			if json.Unmarshal(line, &w) != nil || w.Message == nil {
				return 0
			}
			return min(sniffLine([]byte(*w.Message)), 90)
		}
		return sniffLine(line)
	}
	return 0
}

// sniffLine scores the first non-blank line.
func sniffLine(line []byte) int {
	d := &decoder{batchCap: 1}
	n := d.tokenize(line)
	if n <= 0 {
		return 0
	}
	if names := headerNames(line, d.toks[:n]); names != nil {
		if len(names) >= 3 {
			return 95
		}
		return 50
	}
	toks := d.toks[:n]
	s := unsafeString(line)
	if n > 1 && isISOTime(s[toks[0].s:toks[0].e]) {
		toks = toks[1:]
	}
	lay := defaults[len(toks)]
	if lay == nil {
		return 0
	}
	var r Row
	if d.fill(&r, lay, s, toks) != "" || r.StartTime == nil && r.EndTime == nil {
		return 0
	}
	score := 60
	if r.Version != nil && *r.Version >= 2 && *r.Version <= 9 {
		score += 10
	}
	if isAccount(r.AccountID) {
		score += 15
	}
	if strings.HasPrefix(r.InterfaceID, "eni-") || r.Ext != nil && strings.HasPrefix(r.Ext.TGWID, "tgw-") {
		score += 10
	}
	return score
}
