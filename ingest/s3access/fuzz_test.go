package s3access

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leakscope/leakscope/ingest"
)

// FuzzDecode checks the record accounting invariant on arbitrary input:
// no panic, every non-blank line is exactly one row or one bad record,
// positions increase and match the input, hashes are the lines' hashes,
// and every string column is valid UTF-8.
func FuzzDecode(f *testing.F) {
	for _, path := range corpusFiles(f) {
		data := mustRead(f, path)
		f.Add(data)
		for line := range bytes.Lines(data) {
			f.Add(line)
		}
	}
	f.Add([]byte(base + "\r\n\n   \n" + classic18 + " a b c d e f g h i j k\n"))
	f.Add([]byte(strings.Replace(base, `"aws-cli/2.0"`, `"a \"b\" \\"`, 1)))
	f.Add([]byte("\xff\xfe\n[\n\"\n" + owner + " b [06/Feb/2019:00:00:38 +0000"))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, maxLine := range []int{MaxLine, 200} {
			res, err := decodeAll(t, ingest.ObjectInfo{URI: "fuzz"}, data, maxLine)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			checkAccounting(t, data, res, maxLine)
		}
	})
}

func checkAccounting(t *testing.T, data []byte, res result, maxLine int) {
	t.Helper()
	// The test's own view of the lines: start offset and content.
	type lineInfo struct {
		off     int64
		content []byte
	}
	var lines []lineInfo
	nonBlank := 0
	var off int64
	for l := range bytes.Lines(data) {
		c := bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r"))
		lines = append(lines, lineInfo{off, c})
		if len(bytes.Trim(c, " \t")) > 0 {
			nonBlank++
		}
		off += int64(len(l))
	}
	if got := len(res.rows) + len(res.bad); got != nonBlank {
		t.Fatalf("maxLine %d: %d rows + %d bad = %d, want %d non-blank lines", maxLine, len(res.rows), len(res.bad), got, nonBlank)
	}
	seen := map[int64]bool{}
	check := func(kind string, line, offset int64) []byte {
		if line < 1 || int(line) > len(lines) {
			t.Fatalf("%s: line %d out of range 1..%d", kind, line, len(lines))
		}
		if seen[line] {
			t.Fatalf("%s: line %d emitted twice", kind, line)
		}
		seen[line] = true
		li := lines[line-1]
		if offset != li.off {
			t.Fatalf("%s: line %d offset %d, want %d", kind, line, offset, li.off)
		}
		return li.content
	}
	var last int64 = -1
	for i := range res.rows {
		r := &res.rows[i]
		content := check("row", r.SourceLine, r.SourceOffset)
		if r.SourceOffset <= last {
			t.Fatalf("row offsets not increasing: %d after %d", r.SourceOffset, last)
		}
		last = r.SourceOffset
		if r.Hash != ingest.HashBytes(content) {
			t.Fatalf("row at line %d: hash is not the line's hash", r.SourceLine)
		}
		if len(content) > maxLine {
			t.Fatalf("row at line %d is longer than %d", r.SourceLine, maxLine)
		}
		if r.ExtraFields != "" {
			var extra []string
			if err := json.Unmarshal([]byte(r.ExtraFields), &extra); err != nil || len(extra) == 0 {
				t.Fatalf("row at line %d: extra_fields %q is not a JSON array of strings: %v", r.SourceLine, r.ExtraFields, err)
			}
		}
		v := reflect.ValueOf(r).Elem()
		for j := range v.NumField() {
			if s, ok := v.Field(j).Interface().(string); ok && !utf8.ValidString(s) {
				t.Fatalf("row at line %d: %s is not valid UTF-8: %q", r.SourceLine, v.Type().Field(j).Name, s)
			}
		}
	}
	last = -1
	for _, b := range res.bad {
		check("bad", b.Line, b.Offset)
		if b.Offset <= last {
			t.Fatalf("bad offsets not increasing: %d after %d", b.Offset, last)
		}
		last = b.Offset
		if b.Reason == "" || len(b.Snippet) > ingest.MaxSnippet {
			t.Fatalf("bad record at line %d: reason %q, snippet of %d bytes", b.Line, b.Reason, len(b.Snippet))
		}
	}
}

// FuzzJSONString checks that extra_fields strings round-trip through
// encoding/json.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `a "q" \ b`, "\x00\x1f\x7f", "</script>&", "ü\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		enc := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil || got != s {
			t.Fatalf("%q encoded as %s decodes to %q (%v)", s, enc, got, err)
		}
		if bytes.ContainsAny(enc, "<>&\x7f") {
			t.Fatalf("%s holds an unescaped HTML or control character", enc)
		}
	})
}
