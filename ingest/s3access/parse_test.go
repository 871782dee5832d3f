package s3access

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

const (
	owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	// base is a 24-field line; tests append or replace fields.
	base = owner + ` amzn-s3-demo-bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 arn:aws:iam::123456789012:user/alice 3E57427F3EXAMPLE REST.GET.OBJECT photos/cat.jpg "GET /photos/cat.jpg HTTP/1.1" 200 - 1024 2048 7 5 "-" "aws-cli/2.0" - hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com TLSv1.2`
)

// classic18 is the oldest layout: no host id and later fields.
var classic18 = strings.TrimSuffix(base, ` hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com TLSv1.2`)

func TestDecodeLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[string]any // columns to check
	}{
		{"24 fields", base, map[string]any{
			"event_time": "2019-02-06T00:00:38Z", "bucket": "amzn-s3-demo-bucket", "key": "photos/cat.jpg",
			"http_status": int32(200), "error_code": nil, "bytes_sent": int64(1024), "object_size": int64(2048),
			"total_time_ms": int64(7), "turnaround_time_ms": int64(5), "referer": nil, "user_agent": "aws-cli/2.0",
			"version_id": nil, "host_id": "hostid=", "tls_version": "TLSv1.2", "access_point_arn": nil,
			"acl_required": nil, "source_region": nil, "extra_fields": nil, "http_method": "GET",
			"requester_arn": "arn:aws:iam::123456789012:user/alice", "requester_account": "123456789012",
			"_part_region": "eu-west-1",
		}},
		{"classic 18 fields", classic18, map[string]any{
			"version_id": nil, "host_id": nil, "signature_version": nil, "host_header": nil, "_part_region": "",
			"user_agent": "aws-cli/2.0",
		}},
		{"26 fields", base + " arn:aws:s3:eu-west-1:123456789012:accesspoint/ap1 Yes", map[string]any{
			"access_point_arn": "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap1", "acl_required": "Yes", "extra_fields": nil,
		}},
		{"27 fields with source region", classic18 + " - - - - - - - - eu-central-1", map[string]any{
			"source_region": "eu-central-1", "_part_region": "eu-central-1", "host_header": nil,
		}},
		{"future field after source_region", base + ` - - us-east-1 future "two words"`, map[string]any{
			"source_region": "us-east-1", "extra_fields": `["future","two words"]`, "_part_region": "eu-west-1",
		}},
		{"hostile unknown fields are valid JSON", base + " - - - \"a \\\"q\\\" \\\\ \x01\x1b\x7f\" </script> ü", map[string]any{
			"extra_fields": `["a \"q\" \\ \u0001\u001b\u007f","\u003c/script\u003e","ü"]`,
		}},
		{"trailing and repeated spaces", strings.ReplaceAll(base, " 200 ", "   200  ") + "   ", map[string]any{
			"http_status": int32(200), "tls_version": "TLSv1.2", "extra_fields": nil,
		}},
		{"CRLF line ending", base + "\r", map[string]any{"tls_version": "TLSv1.2"}},
		{"escaped quotes in user agent", strings.Replace(base, `"aws-cli/2.0"`, `"Mozilla \"quoted\" (a, b) \\ end\\"`, 1), map[string]any{
			"user_agent": `Mozilla "quoted" (a, b) \ end\`, "version_id": nil, "host_id": "hostid=",
		}},
		{"unescaped quote inside a quoted field", strings.Replace(base, `"aws-cli/2.0"`, `"say "hi"there"`, 1), map[string]any{
			"user_agent": `say "hi"there`, "host_id": "hostid=",
		}},
		{"quoted requester with spaces", strings.Replace(base, "arn:aws:iam::123456789012:user/alice", `"Some Requester \"x\""`, 1), map[string]any{
			"requester": `Some Requester "x"`, "requester_arn": nil, "requester_anonymous": false, "request_id": "3E57427F3EXAMPLE",
		}},
		{"quoted dash is null", strings.Replace(base, `"aws-cli/2.0"`, `"-"`, 1), map[string]any{"user_agent": nil}},
		{"hostile values are data", strings.NewReplacer(
			"photos/cat.jpg ", "x%27%3B%20DROP%20TABLE%20s3_access%3B-- ",
			`"aws-cli/2.0"`, "\"\x1b[31mred\x07 '; DROP TABLE x;-- =cmd|' /C calc'!A0 <script>\"",
		).Replace(base), map[string]any{
			"key":        "x'; DROP TABLE s3_access;--",
			"user_agent": "\x1b[31mred\x07 '; DROP TABLE x;-- =cmd|' /C calc'!A0 <script>",
		}},
		{"key with %2B and invalid escape", strings.Replace(base, "photos/cat.jpg ", "a%2Bb+c%ZZ ", 1), map[string]any{
			"key": "a%2Bb+c%ZZ", "raw_key": "a%2Bb+c%ZZ", // invalid escape: kept as logged
		}},
		{"key with %2B", strings.Replace(base, "photos/cat.jpg ", "a%2Bb+c%2F ", 1), map[string]any{
			"key": "a+b c/", "raw_key": "a%2Bb+c%2F",
		}},
		{"key decoding to invalid utf-8 kept raw", strings.Replace(base, "photos/cat.jpg ", "bad%FF ", 1), map[string]any{
			"key": "bad%FF",
		}},
		{"negative offset crosses midnight", strings.Replace(base, "[06/Feb/2019:00:00:38 +0000]", "[28/Feb/2020:22:30:00 -0330]", 1), map[string]any{
			"event_time": "2020-02-29T02:00:00Z", "_partition_date": "2020-02-29",
		}},
		{"presigned SigV4 URL", strings.Replace(base, `"GET /photos/cat.jpg HTTP/1.1"`, `"GET /photos/cat.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20190206&X-Amz-Signature=abc HTTP/1.1"`, 1), map[string]any{
			"query_auth": true, "http_method": "GET",
		}},
		{"presigned SigV2 URL", strings.Replace(base, `"GET /photos/cat.jpg HTTP/1.1"`, `"GET /photos/cat.jpg?AWSAccessKeyId=AKIAEXAMPLE&Expires=1&Signature=abc%3D HTTP/1.1"`, 1), map[string]any{
			"query_auth": true,
		}},
		{"signature in the path is not query auth", strings.Replace(base, `"GET /photos/cat.jpg HTTP/1.1"`, `"GET /X-Amz-Signature=1?versioning HTTP/1.1"`, 1), map[string]any{
			"query_auth": false,
		}},
		{"anonymous requester", strings.Replace(base, "arn:aws:iam::123456789012:user/alice", "-", 1), map[string]any{
			"requester": nil, "requester_anonymous": true, "requester_arn": nil,
		}},
		{"canonical id requester", strings.Replace(base, "arn:aws:iam::123456789012:user/alice", owner, 1), map[string]any{
			"requester_canonical_id": owner, "requester_anonymous": false,
		}},
		{"service requester", strings.Replace(base, "arn:aws:iam::123456789012:user/alice", "svc:logging.s3.amazonaws.com", 1), map[string]any{
			"requester_service": "logging.s3.amazonaws.com", "requester": "svc:logging.s3.amazonaws.com",
		}},
		{"assumed role requester", strings.Replace(base, "arn:aws:iam::123456789012:user/alice", "arn:aws:sts::210987654321:assumed-role/Admin/bob", 1), map[string]any{
			"requester_account": "210987654321",
		}},
		{"lifecycle transition", owner + ` b [01/Jan/2024:00:00:00 +0000] - AmazonS3 ABC S3.TRANSITION_INT.OBJECT k "-" - - - 100 - - "-" "-" - - - - - - - - -`, map[string]any{
			"operation": "S3.TRANSITION_INT.OBJECT", "requester_service": "AmazonS3", "remote_ip": nil, "http_status": nil,
		}},
		{"status dash", strings.Replace(base, " 200 - ", " - - ", 1), map[string]any{"http_status": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := decodeAll(t, ingest.ObjectInfo{URI: "mem"}, []byte(tt.line+"\n"), MaxLine)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rows) != 1 || len(res.bad) != 0 {
				t.Fatalf("rows %d bad %+v, want one row", len(res.rows), res.bad)
			}
			r := &res.rows[0]
			for col, want := range tt.want {
				if got := column(r, col); got != want {
					t.Errorf("%s = %#v, want %#v", col, got, want)
				}
			}
			line := strings.TrimSuffix(tt.line, "\r")
			if r.Hash != ingest.HashBytes([]byte(line)) {
				t.Error("hash is not the hash of the line without its line ending")
			}
		})
	}
}

func TestDecodeBadLines(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		reason string // the exact quarantine reason
	}{
		{"too few fields", owner + " bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - REQ REST.GET.OBJECT key", "too few fields: got 8, want at least 18"},
		{"garbage", "hello world", "too few fields: got 2, want at least 18"},
		{"json", `{"Records":[]}`, "too few fields: got 1, want at least 18"},
		{"bad month", strings.Replace(base, "Feb", "Fbr", 1), `event_time: unparseable time "06/Fbr/2019:00:00:38 +0000"`},
		{"bad day", strings.Replace(base, "06/Feb", "30/Feb", 1), `event_time: unparseable time "30/Feb/2019:00:00:38 +0000"`},
		{"time not bracketed", strings.Replace(base, "[06/Feb/2019:00:00:38 +0000]", "2019-02-06T00:00:38Z", 1), `event_time: unparseable time "2019-02-06T00:00:38Z"`},
		{"unterminated bracket", strings.Replace(base, "+0000]", "+0000", 1), "event_time: unterminated [ bracket"},
		{"unterminated quote", strings.Replace(base, `"aws-cli/2.0"`, `"aws-cli/2.0`, 1), "user_agent: unterminated quoted string"},
		{"unterminated escaped quote", strings.Replace(base, `"aws-cli/2.0" - hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com TLSv1.2`, `"aws-cli/2.0\"`, 1), "user_agent: unterminated quoted string"},
		{"non-numeric status", strings.Replace(base, " 200 ", " OK ", 1), `http_status: not a number "OK"`},
		{"negative bytes", strings.Replace(base, " 1024 ", " -5 ", 1), `bytes_sent: not a number "-5"`},
		{"huge object size", strings.Replace(base, " 2048 ", " 99999999999999999999 ", 1), `object_size: not a number "99999999999999999999"`},
		{"status overflow", strings.Replace(base, " 200 ", " 99999999999 ", 1), `http_status: not a number "99999999999"`},
		{"control chars in reason are escaped", strings.Replace(base, " 7 ", " \x1b[2J ", 1), `total_time_ms: not a number "\x1b[2J"`},
		{"invalid utf-8", strings.Replace(base, "aws-cli", "aws\xff\xfecli", 1), "invalid utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := "\n" + base + "\n" + tt.line + "\n" + base + "\n"
			res, err := decodeAll(t, ingest.ObjectInfo{URI: "mem"}, []byte(input), MaxLine)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rows) != 2 || len(res.bad) != 1 {
				t.Fatalf("rows %d bad %d, want 2 rows and 1 bad (bad %+v)", len(res.rows), len(res.bad), res.bad)
			}
			b := res.bad[0]
			if b.Reason != tt.reason {
				t.Errorf("reason %q, want %q", b.Reason, tt.reason)
			}
			if b.Line != 3 || b.Offset != int64(len(base)+2) {
				t.Errorf("line %d offset %d, want line 3 offset %d", b.Line, b.Offset, len(base)+2)
			}
			if want := ingest.Snip([]byte(tt.line)); string(b.Snippet) != string(want) {
				t.Errorf("snippet %q, want %q", b.Snippet, want)
			}
			if res.rows[1].SourceLine != 4 || res.rows[1].SourceOffset != int64(len(base)+len(tt.line)+3) {
				t.Errorf("row after the bad line at line %d offset %d", res.rows[1].SourceLine, res.rows[1].SourceOffset)
			}
		})
	}
}

// TestLongLines checks the line length cap: an over-long line is
// quarantined with a snippet of its start and the next line still decodes,
// whether the line fits the read buffer or spans many buffer fills.
func TestLongLines(t *testing.T) {
	for _, maxLine := range []int{len(base) + 10, MaxLine} {
		// a line that fits the read buffer, and one that spans many fills
		for _, fill := range []int{maxLine, 3 * maxLine} {
			long := strings.Replace(base, `"aws-cli/2.0"`, `"`+strings.Repeat("A", fill)+`"`, 1)
			input := base + "\n" + long + "\n" + base + "\r\n" + long // last line without newline
			res, err := decodeAll(t, ingest.ObjectInfo{URI: "mem"}, []byte(input), maxLine)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.rows) != 2 || len(res.bad) != 2 {
				t.Fatalf("maxLine %d fill %d: rows %d bad %d, want 2 and 2", maxLine, fill, len(res.rows), len(res.bad))
			}
			for i, b := range res.bad {
				if b.Reason != fmt.Sprintf("line longer than %d bytes", maxLine) || string(b.Snippet) != long[:ingest.MaxSnippet] {
					t.Errorf("maxLine %d fill %d bad %d: %q snippet %q", maxLine, fill, i, b.Reason, b.Snippet[:min(40, len(b.Snippet))])
				}
			}
			if res.bad[0].Line != 2 || res.bad[1].Line != 4 || res.rows[1].SourceLine != 3 {
				t.Errorf("maxLine %d fill %d: lines %d %d %d", maxLine, fill, res.bad[0].Line, res.bad[1].Line, res.rows[1].SourceLine)
			}
			if got, want := res.bad[1].Offset, int64(2*len(base)+len(long)+4); got != want {
				t.Errorf("maxLine %d fill %d: offset %d, want %d", maxLine, fill, got, want)
			}
		}
	}
	// A line of exactly maxLine bytes is not too long.
	res, err := decodeAll(t, ingest.ObjectInfo{URI: "mem"}, []byte(base+"\r\n"), len(base))
	if err != nil || len(res.rows) != 1 {
		t.Fatalf("line at the cap: %v %+v", err, res.bad)
	}
}

func TestBlankLinesAndPartition(t *testing.T) {
	input := "\n  \n" + base + "\n\t\r\n" + base
	obj := ingest.ObjectInfo{URI: "mem", Account: "111122223333", Region: "us-east-1"}
	res, err := decodeAll(t, obj, []byte(input), MaxLine)
	if err != nil || len(res.rows) != 2 || len(res.bad) != 0 {
		t.Fatalf("err %v rows %d bad %d", err, len(res.rows), len(res.bad))
	}
	for _, r := range res.rows {
		// the object's region wins over the host header's eu-west-1
		if p := r.LakePartition(); p != (ingest.Partition{Account: "111122223333", Region: "us-east-1", Date: "2019-02-06"}) {
			t.Errorf("partition %+v", p)
		}
		if r.SourceURI != "mem" {
			t.Errorf("source_uri %q", r.SourceURI)
		}
	}
	if res.rows[0].SourceLine != 3 || res.rows[0].SourceOffset != 4 || res.rows[1].SourceLine != 5 {
		t.Errorf("positions %d/%d %d", res.rows[0].SourceLine, res.rows[0].SourceOffset, res.rows[1].SourceLine)
	}
	// partition from a partitioned-prefix key when the pipeline gave none
	obj = ingest.ObjectInfo{URI: "mem", Key: "logs/111122223333/ap-south-1/bkt/2024/01/02/2024-01-02-00-00-00-ABCDEF"}
	res, _ = decodeAll(t, obj, []byte(base), MaxLine)
	if p := res.rows[0].LakePartition(); p.Account != "111122223333" || p.Region != "ap-south-1" {
		t.Errorf("partition from key layout %+v", p)
	}
}
