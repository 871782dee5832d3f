package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/leakscope/leakscope/ingest"
)

func objInfo() ingest.ObjectInfo {
	return ingest.ObjectInfo{URI: "file:///test.json", Key: "test.json"}
}

func isNotEvents(err error) bool { return errors.Is(err, ingest.ErrNotEvents) }

// ev returns a compact event with the given id and name.
func ev(id, name string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"},"eventTime":"2024-05-06T07:08:09Z","eventSource":"s3.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","eventID":%q,"recipientAccountId":"111122223333"}`, name, id)
}

func names(rows []Row) string {
	var s []string
	for _, r := range rows {
		s = append(s, r.EventName)
	}
	return strings.Join(s, ",")
}

func reasons(bad []ingest.BadRecord) string {
	var s []string
	for _, b := range bad {
		s = append(s, b.Reason)
	}
	return strings.Join(s, " | ")
}

func TestContainers(t *testing.T) {
	a, b, c := ev("1", "A"), ev("2", "B"), ev("3", "C")
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(a), "", "    "); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, in string
		rows     string
		bad      int
	}{
		{"records compact", `{"Records":[` + a + `,` + b + `]}`, "A,B", 0},
		{"records pretty", "{\n  \"Records\": [\n" + pretty.String() + ",\n" + b + "\n  ]\n}\n", "A,B", 0},
		{"records after other keys", `{"x":{"y":[1,2]},"Records":[` + a + `],"z":"w"}`, "A", 0},
		{"records empty", `{"Records":[]}`, "", 0},
		{"two records files concatenated", `{"Records":[` + a + `]}` + "\n" + `{"Records":[` + b + `]}`, "A,B", 0},
		{"bare array", "[\n" + a + ",\n" + b + "\n]", "A,B", 0},
		{"empty array", "[]", "", 0},
		{"json lines", a + "\n" + b + "\n" + c + "\n", "A,B,C", 0},
		{"json lines crlf, blank lines, no final newline", a + "\r\n\r\n   \n" + b + "\r\n" + c, "A,B,C", 0},
		{"single object", a, "A", 0},
		{"single pretty object", pretty.String() + "\n", "A", 0},
		{"concatenated pretty objects", pretty.String() + pretty.String() + "\n" + pretty.String(), "A,A,A", 0},
		{"byte order mark", "\xEF\xBB\xBF" + a, "A", 0},
		{"empty", "", "", 0},
		{"whitespace only", " \n\t\n", "", 0},
		{"array with non-object element", `[` + a + `,"x",` + b + `]`, "A,B", 1},
		{"array with bad element resyncs", "[\n" + a + ",\n" + `{"eventName":"bad" "x":1}` + ",\n" + b + "\n]", "A,B", 1},
		{"records missing comma quarantines the rest", `{"Records":[` + a + b + c + `]}`, "A", 1},
		{"records trailing comma", `{"Records":[` + a + `,]}`, "A", 1},
		{"garbage after object", a + "\n" + `xyz`, "A", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, slow := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tc.in)
				if slow {
					r = &oneByteReader{b: []byte(tc.in)}
				}
				res := decodeWith(t.Context(), objInfo(), r)
				if res.err != nil {
					t.Fatalf("slow=%v: Decode: %v", slow, res.err)
				}
				if got := names(res.rows); got != tc.rows || len(res.bad) != tc.bad {
					t.Fatalf("slow=%v: rows %q bad %d (%s); want rows %q bad %d", slow, got, len(res.bad), reasons(res.bad), tc.rows, tc.bad)
				}
			}
		})
	}
}

func TestDigestByKeyAndContent(t *testing.T) {
	res := decodeWith(t.Context(), ingest.ObjectInfo{Key: "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz"}, strings.NewReader(ev("1", "A")))
	if !isNotEvents(res.err) || res.records() != 0 {
		t.Fatalf("by key: err %v, records %d", res.err, res.records())
	}
	res = decodeBytes([]byte(`{"awsAccountId":"1","digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"2015-08-17T15:01:31Z","logFiles":[]}`))
	if !isNotEvents(res.err) || res.records() != 0 {
		t.Fatalf("by content: err %v, records %d", res.err, res.records())
	}
}

func TestHash(t *testing.T) {
	a := ev("1", "A")
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(a), "  ", "\t"); err != nil {
		t.Fatal(err)
	}
	p := decodeBytes(pretty.Bytes())
	c := decodeBytes([]byte(a))
	if len(p.rows) != 1 || len(c.rows) != 1 {
		t.Fatalf("rows %d/%d", len(p.rows), len(c.rows))
	}
	if p.rows[0].Hash != c.rows[0].Hash {
		t.Error("pretty and compact deliveries of one record hash differently")
	}
	if p.rows[0].UserIdentity != c.rows[0].UserIdentity || c.rows[0].UserIdentity != `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}` {
		t.Errorf("user_identity not compacted identically: %q vs %q", p.rows[0].UserIdentity, c.rows[0].UserIdentity)
	}
	if want := ingest.HashBytes([]byte(a)); c.rows[0].Hash != want {
		t.Error("hash is not HashBytes of the compact record")
	}
	other := decodeBytes([]byte(ev("1", "B")))
	if other.rows[0].Hash == c.rows[0].Hash {
		t.Error("records sharing an eventID but differing in content hash the same")
	}
	// Whitespace inside strings is content.
	sp := decodeBytes([]byte(ev("1", "A ")))
	if sp.rows[0].Hash == c.rows[0].Hash {
		t.Error("whitespace inside a string was dropped")
	}
}

func TestFields(t *testing.T) {
	in := `{"@version":"1","eventVersion":1.08,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/\u00e9t\u00e9"},` +
		`"@timestamp":"2020-09-14T00:44:23.123456789Z","eventSource":"s3.amazonaws.com","eventName":"Get\"Object","awsRegion":"us-east-1",` +
		`"readOnly":"true","managementEvent":false,"recipientAccountId":123456789012,"sourceIPAddress":"AWS Internal",` +
		`"requestParameters":{ "a" : [ 1 , 2 ] },"responseElements":null,"p_any":{"x":null},"tlsDetails":{"tlsVersion":"TLSv1.3"},"sharedEventID":"s-1","vpcEndpointId":"vpce-1","apiVersion":"2006-03-01"}`
	res := decodeBytes([]byte(in))
	if len(res.rows) != 1 {
		t.Fatalf("bad: %s", reasons(res.bad))
	}
	r := res.rows[0]
	checks := []struct{ name, got, want string }{
		{"event_time", time.UnixMicro(r.EventTime).UTC().Format(time.RFC3339Nano), "2020-09-14T00:44:23.123456Z"},
		{"event_version", r.EventVersion, "1.08"},
		{"event_name", r.EventName, `Get"Object`},
		{"principal_arn", r.PrincipalARN, "arn:aws:iam::1:user/été"},
		{"recipient_account_id", r.RecipientAccountID, "123456789012"},
		{"source_ip", r.SourceIP, "AWS Internal"},
		{"request_parameters", r.RequestParameters, `{"a":[1,2]}`},
		{"response_elements", r.ResponseElements, ""},
		{"tls_details", r.TLSDetails, `{"tlsVersion":"TLSv1.3"}`},
		{"shared_event_id", r.SharedEventID, "s-1"},
		{"vpc_endpoint_id", r.VPCEndpointID, "vpce-1"},
		{"extra_fields", r.ExtraFields, `{"@version":"1","@timestamp":"2020-09-14T00:44:23.123456789Z","p_any":{"x":null},"apiVersion":"2006-03-01"}`},
		{"read_only", fmt.Sprint(*r.ReadOnly), "true"},
		{"management_event", fmt.Sprint(*r.ManagementEvent), "false"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.BytesIn != nil || r.SessionCreated != nil || r.MFAAuthenticated != nil {
		t.Error("absent values are not NULL")
	}
}

func TestQuarantineReasons(t *testing.T) {
	base := `"eventTime":"2024-05-06T07:08:09Z","eventName":"X"`
	cases := []struct{ name, in, reason string }{
		{"event time not a string", `{"eventTime":1714979289,"eventName":"X"}`, "eventTime is a number, want a string"},
		{"no event time", `{"eventName":"X"}`, "no eventTime"},
		{"bad event time", `{"eventTime":"yesterday"}`, `eventTime "yesterday" is not an RFC 3339 time`},
		{"user identity a string", `{` + base + `,"userIdentity":"root"}`, "userIdentity is a string, want an object"},
		{"request parameters an array", `{` + base + `,"requestParameters":[1]}`, "requestParameters is an array, want an object"},
		{"event name an object", `{` + base + `,"eventName":{}}`, "eventName is an object, want a string"},
		{"read only odd string", `{` + base + `,"readOnly":"maybe"}`, `readOnly is "maybe", want a boolean`},
		{"resources an object", `{` + base + `,"resources":{}}`, "resources is an object, want an array"},
		{"after object key", "{\n  \"eventTime\" x\n}", "invalid character 'x' after object key at line 2 column 15"},
		{"bad escape", `{"eventName":"a\.b"}`, `invalid character '.' in string escape code at line 1 column 17`},
		{"raw newline in string", "{\"eventName\":\"a\nb\"}", `invalid character '\n' in string literal at line 1 column 16`},
		{"bad number", `{"n":01}`, "invalid character '1' after object key:value pair at line 1 column 7"},
		{"bad literal", `{"n":tru}`, "invalid character '}' in literal true (expecting 'e') at line 1 column 9"},
		{"invalid utf8", "{\"eventName\":\"a\xffb\"}", "invalid UTF-8 at byte 15"},
		{"overlong utf8", "{\"eventName\":\"\xc0\xaf\"}", "invalid UTF-8 at byte 14"},
		{"truncated", `{"eventName":"abc`, "unexpected end of input: record cut off at line 1 column 18"},
		{"not an object", `"just a string"`, "invalid character '\"' looking for beginning of value at line 1 column 1"},
		{"depth", strings.Repeat("[", 2000), "exceeded max depth at line 1 column 1002 (rest of object skipped)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeBytes([]byte(tc.in))
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.rows) != 0 || len(res.bad) != 1 {
				t.Fatalf("rows %d bad %d (%s)", len(res.rows), len(res.bad), reasons(res.bad))
			}
			if got := res.bad[0].Reason; got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
			if !bytes.HasPrefix([]byte(tc.in), res.bad[0].Snippet[:min(len(res.bad[0].Snippet), 10)]) {
				t.Errorf("snippet %q", res.bad[0].Snippet)
			}
		})
	}
}

func TestJSONLinesBadLineInMiddle(t *testing.T) {
	in := ev("1", "A") + "\n" + ev("2", "B") + "\n" + `{"eventName":"broken",` + "\n" + "\xff\xfe\n" + ev("3", "C") + "\n" + `{"eventName":"x"} trailing` + "\n" + ev("4", "D") + "\n"
	res := decodeBytes([]byte(in))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := names(res.rows); got != "A,B,C,D" {
		t.Fatalf("rows %q", got)
	}
	if len(res.bad) != 3 {
		t.Fatalf("bad %d: %s", len(res.bad), reasons(res.bad))
	}
	wantLines := []int64{3, 4, 6}
	for i, b := range res.bad {
		if b.Line != wantLines[i] {
			t.Errorf("bad %d at line %d, want %d (%s)", i, b.Line, wantLines[i], b.Reason)
		}
		if !bytes.HasPrefix([]byte(in)[b.Offset:], b.Snippet) {
			t.Errorf("bad %d: snippet does not match offset", i)
		}
	}
	if !strings.Contains(res.bad[0].Reason, "unexpected end of JSON input at line 3") {
		t.Errorf("reason %q", res.bad[0].Reason)
	}
	// Offsets point at the first byte of each row's record.
	for _, r := range res.rows {
		if !strings.HasPrefix(in[r.SourceOffset:], `{"eventVersion"`) {
			t.Errorf("row %s offset %d", r.EventName, r.SourceOffset)
		}
	}
}

func TestPositions(t *testing.T) {
	in := "{\n \"Records\" : [\n  " + ev("1", "A") + " ,\n\n  " + `{"eventTime":"2024-05-06T07:08:09Z","x":` + "\n\n   @}" + ",\n  " + ev("2", "B") + "]}"
	res := decodeBytes([]byte(in))
	if res.err != nil || len(res.rows) != 2 || len(res.bad) != 1 {
		t.Fatalf("err %v rows %d bad %s", res.err, len(res.rows), reasons(res.bad))
	}
	for _, r := range res.rows {
		if in[r.SourceOffset] != '{' || !strings.HasPrefix(in[r.SourceOffset:], `{"eventVersion"`) {
			t.Errorf("offset %d", r.SourceOffset)
		}
	}
	b := res.bad[0]
	if b.Line != 5 || !strings.HasPrefix(in[b.Offset:], `{"eventTime"`) {
		t.Errorf("bad at line %d offset %d", b.Line, b.Offset)
	}
	if b.Reason != "invalid character '@' looking for beginning of value at line 7 column 4" {
		t.Errorf("reason %q", b.Reason)
	}
}

func TestRecordOverCap(t *testing.T) {
	big := `{"eventTime":"2024-05-06T07:08:09Z","eventName":"Big","requestParameters":{"blob":"` + strings.Repeat("x", MaxRecordBytes) + `","nested":[{"a":"]}"}]}}`
	cases := map[string]string{
		"records":    `{"Records":[` + ev("1", "A") + `,` + big + `,` + ev("2", "B") + `]}`,
		"json lines": ev("1", "A") + "\n" + big + "\n" + ev("2", "B") + "\n",
		"concat":     "{\n" + ev("1", "A")[1:] + "\n" + big + ev("2", "B"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			res := decodeBytes([]byte(in))
			if res.err != nil {
				t.Fatal(res.err)
			}
			if names(res.rows) != "A,B" || len(res.bad) != 1 || res.bad[0].Reason != "record exceeds 8 MiB cap" {
				t.Fatalf("rows %q bad %s", names(res.rows), reasons(res.bad))
			}
			if !strings.HasPrefix(in[res.bad[0].Offset:], `{"eventTime"`) || len(res.bad[0].Snippet) != ingest.MaxSnippet {
				t.Errorf("bad offset %d snippet %d bytes", res.bad[0].Offset, len(res.bad[0].Snippet))
			}
		})
	}
	// A record just under the cap still decodes.
	fit := `{"eventTime":"2024-05-06T07:08:09Z","eventName":"Fit","x":"` + strings.Repeat("y", MaxRecordBytes-100) + `"}`
	res := decodeBytes([]byte(`[` + fit + `]`))
	if len(res.rows) != 1 || len(res.bad) != 0 {
		t.Fatalf("record under the cap: rows %d bad %s", len(res.rows), reasons(res.bad))
	}
}

// errReader returns data, then err.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestTruncatedGzip(t *testing.T) {
	var recs []string
	for i := range 50 {
		recs = append(recs, ev(fmt.Sprint(i), "E"+fmt.Sprint(i)))
	}
	plain := "{\"Records\":[\n" + strings.Join(recs, ",\n") + "\n]}\n"
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(plain))
	zw.Close()
	cut := zb.Bytes()[:zb.Len()*2/3]
	zr, err := gzip.NewReader(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	res := decodeWith(t.Context(), objInfo(), zr)
	if res.err != nil {
		t.Fatalf("Decode: %v", res.err)
	}
	if len(res.rows) == 0 || len(res.rows) >= 50 || len(res.bad) != 1 {
		t.Fatalf("rows %d bad %s", len(res.rows), reasons(res.bad))
	}
	if !strings.Contains(res.bad[0].Reason, "truncated input (unexpected EOF)") {
		t.Errorf("reason %q", res.bad[0].Reason)
	}
	// The same cut in plain text (no gzip) is reported as an unexpected end.
	res = decodeBytes([]byte(plain[:len(plain)/2]))
	if res.err != nil || len(res.bad) != 1 || !strings.Contains(res.bad[0].Reason, "unexpected end of input") {
		t.Fatalf("err %v bad %s", res.err, reasons(res.bad))
	}
}

func TestReadErrorIsReturned(t *testing.T) {
	boom := errors.New("connection reset")
	res := decodeWith(t.Context(), objInfo(), &errReader{r: strings.NewReader(ev("1", "A") + "\n" + ev("2", "B")), err: boom})
	if !errors.Is(res.err, boom) {
		t.Fatalf("err %v, want %v wrapped", res.err, boom)
	}
}

// cancelReader cancels its context after handing out limit bytes.
type cancelReader struct {
	r      io.Reader
	n      int
	limit  int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		c.cancel()
	}
	n, err := c.r.Read(p[:min(len(p), 4096)])
	c.n += n
	return n, err
}

func TestCancellation(t *testing.T) {
	var sb strings.Builder
	for i := range 5000 {
		sb.WriteString(ev(fmt.Sprint(i), "E"))
		sb.WriteByte('\n')
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res := decodeWith(ctx, objInfo(), &cancelReader{r: strings.NewReader(sb.String()), limit: 100_000, cancel: cancel})
	if !errors.Is(res.err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", res.err)
	}
	if res.records() >= 5000 {
		t.Fatalf("decoded everything (%d) despite cancellation", res.records())
	}
}

func TestBatches(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"Records":[`)
	n := 3*batchSize + 7
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(ev(fmt.Sprint(i), "E"))
	}
	sb.WriteString(`]}`)
	var sizes []int
	var all []Row
	sink := ingest.Sink[Row]{
		Rows: func(rows []Row) error {
			sizes = append(sizes, len(rows))
			all = append(all, rows...)
			return nil
		},
		Bad: func(ingest.BadRecord) error { return nil },
	}
	if err := Decode(t.Context(), objInfo(), strings.NewReader(sb.String()), sink); err != nil {
		t.Fatal(err)
	}
	if len(all) != n || len(sizes) != 4 || sizes[0] != batchSize {
		t.Fatalf("%d rows in batches %v", len(all), sizes)
	}
	for i := 1; i < len(all); i++ {
		if all[i].SourceOffset <= all[i-1].SourceOffset {
			t.Fatal("offsets not increasing")
		}
	}
	// A sink error stops decoding and is returned.
	boom := errors.New("disk full")
	sink.Rows = func([]Row) error { return boom }
	if err := Decode(t.Context(), objInfo(), strings.NewReader(sb.String()), sink); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestSniff(t *testing.T) {
	cases := []struct {
		key, head string
		min, max  int
	}{
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/111122223333_CloudTrail_us-east-1_20240101T0000Z_abc.json.gz", "", 100, 100},
		{"AWSLogs/o-1/111122223333/CloudTrail-Insight/us-east-1/x.json.gz", "", 100, 100},
		{"AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz", "", 100, 100},
		{"export/111122223333_CloudTrail_us-east-1_x.json.gz", "", 100, 100},
		{"x.json", `{"Records":[{"eventVersion":"1.08"`, 90, 99},
		{"x.json", "{\n  \"Records\" : [", 90, 99},
		{"x.jsonl", `{"eventSource":"s3.amazonaws.com","eventTime":"2024"}`, 80, 99},
		{"x.json", "[\n {\n  \"userIdentity\": {", 80, 99},
		{"x.log", `2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 1234 6 10 840 1 2 ACCEPT OK`, 0, 0},
		{"x.log", `79a5 bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /b?versioning HTTP/1.1" 200`, 0, 0},
		{"x.json", `{"foo":1}`, 0, 0},
	}
	for _, tc := range cases {
		if got := Sniff(tc.key, []byte(tc.head)); got < tc.min || got > tc.max {
			t.Errorf("Sniff(%q, %.30q) = %d, want %d..%d", tc.key, tc.head, got, tc.min, tc.max)
		}
	}
	s := Spec()
	if s.Name != "cloudtrail" || s.Table != "cloudtrail" || s.Decode == nil || s.Sniff == nil || len(s.Bloom) == 0 {
		t.Fatalf("Spec = %+v", s)
	}
}

func TestParseTime(t *testing.T) {
	cases := []string{
		"2024-05-06T07:08:09Z", "2024-02-29T23:59:59.999999Z", "1999-12-31T23:59:59.5+01:00",
		"2019-06-18T22:28:31-07:30", "2020-09-14T00:44:23.000Z", "1970-01-01T00:00:00Z", "2100-03-01T00:00:00.123456789Z",
	}
	for _, s := range cases {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTime([]byte(s))
		if !ok || got != want.UnixMicro() {
			t.Errorf("parseTime(%q) = %d %v, want %d", s, got, ok, want.UnixMicro())
		}
	}
	if got, ok := parseTime([]byte("20131102T010628Z")); !ok || got != time.Date(2013, 11, 2, 1, 6, 28, 0, time.UTC).UnixMicro() {
		t.Errorf("basic format: %d %v", got, ok)
	}
	for _, s := range []string{"", "2024-02-30T00:00:00Z", "2024-05-06T24:00:00Z", "2024-05-06T07:08:09.Z", "2024-05-06T07:08:09Zjunk", "Oct 8, 2024, 4:15:32 PM", "2023-02-29T00:00:00Z"} {
		if _, ok := parseTime([]byte(s)); ok {
			t.Errorf("parseTime(%q) accepted", s)
		}
	}
}
