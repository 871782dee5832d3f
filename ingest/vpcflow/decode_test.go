package vpcflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"

	"github.com/leakscope/leakscope/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const corpusDir = "../../../shared/corpus/vpcflow"

// result is what a Decode call produced.
type result struct {
	rows []Row
	bad  []ingest.BadRecord
	err  error
	d    *decoder
	// timeless holds the records quarantined for having no start or end
	// time, as decoded: the goldens show them so their fields can be
	// reviewed.
	timeless []Row
}

// run decodes r with the internal decoder so the accounting is visible.
func run(t testing.TB, obj ingest.ObjectInfo, r io.Reader) result {
	t.Helper()
	var res result
	sink := ingest.Sink[Row]{
		Rows: func(rows []Row) error { res.rows = append(res.rows, rows...); return nil },
		Bad:  func(b ingest.BadRecord) error { res.bad = append(res.bad, b); return nil },
	}
	d, err := newDecoder(context.Background(), obj, sink)
	if err != nil {
		res.err = err
		return res
	}
	d.timeless = func(r *Row) {
		c := *r
		if r.Ext != nil { // reused once the row is dropped
			x := *r.Ext
			c.Ext = &x
		}
		res.timeless = append(res.timeless, c)
	}
	res.d = d
	res.err = d.decode(r)
	return res
}

func runString(t testing.TB, s string, opts map[string]string) result {
	t.Helper()
	return run(t, ingest.ObjectInfo{URI: "file:///t.log", Key: "t.log", Options: opts}, strings.NewReader(s))
}

func corpusFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

const tgwFormat = "${version} ${interface-id} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${action} ${log-status}"

// TestCorpus decodes every corpus file and compares all non-null columns of
// every row, and every quarantined record, with a golden file.
func TestCorpus(t *testing.T) {
	cases := []struct {
		file      string
		opts      map[string]string
		golden    string // default: file name
		rows, bad int
	}{
		{file: "awsdocs_vpc-userguide_nat-gateway_custom_with-header.log", rows: 0, bad: 6},
		{file: "awsdocs_vpc-userguide_transit-gateway-path_custom_with-header.log", bad: 5}, // format has no start/end,
		{file: "awsdocs_vpc-userguide_v2_default-format_examples_no-header.log", rows: 7},
		{file: "awsdocs_vpc-userguide_v3_tcp-flags_custom_with-header.log", rows: 8},
		{file: "awsdocs_vpc-userguide_v5_traffic-path_custom_with-header.log", rows: 2},
		{file: "elastic_beats_vpcflow_bad-unsupported-format.log", bad: 1},
		{file: "elastic_beats_vpcflow_custom-nat-gateway_with-header.log", bad: 2},
		{file: "elastic_beats_vpcflow_custom-transit-gateway_no-header.log", bad: 1},
		{file: "elastic_beats_vpcflow_custom-transit-gateway_no-header.log", bad: 1, // fits, but has no start/end
			opts: map[string]string{OptionFormat: tgwFormat}, golden: "elastic_beats_vpcflow_custom-transit-gateway_no-header.with-flow-format"},
		{file: "elastic_beats_vpcflow_v2_default_with-header.log", rows: 4},
		{file: "elastic_beats_vpcflow_v3_skip-nodata_blank-line.log", rows: 2},
		{file: "elastic_integrations_vpcflow_tgw-samples.log", rows: 10},
		{file: "elastic_integrations_vpcflow_v2_cloudwatch-json-message-wrapper.jsonl", rows: 1},
		{file: "elastic_integrations_vpcflow_v2_extra-samples.log", rows: 7},
		{file: "elastic_integrations_vpcflow_v3_tcp-flag-sequence_repeated-header.log", rows: 3},
		{file: "elastic_integrations_vpcflow_v5_all-fields.log", rows: 1},
		{file: "elastic_integrations_vpcflow_v7_ecs-fields.log", rows: 10},
		{file: "elastic_integrations_vpcflow_v8_ecs-fields_single.log", rows: 1},
		{file: "grafana-loki_lambda-promtail_vpcflowlog_v2_with-header.log.gz", rows: 3},
		{file: "obsrvbl-oss-flowlogs-reader_v2_default_no-header.log", rows: 5},
		{file: "obsrvbl-oss-flowlogs-reader_v2_pandas-written-not-AWS-schema.parquet", rows: 3},
		{file: "obsrvbl-oss-flowlogs-reader_v3_custom-alphabetical-order_with-header.log", rows: 2},
		{file: "obsrvbl-oss-flowlogs-reader_v4_custom-alphabetical-order_wavelength-outpost_with-header.log", rows: 2},
		{file: "obsrvbl-oss-flowlogs-reader_v5_custom-alphabetical-order_with-header_bogus-trailing-line.log", rows: 2, bad: 1},
		{file: "obsrvbl-oss-flowlogs-reader_v6-tgw-fields-only_no-version-column_with-header.log", bad: 1},
		{file: "panther-analysis_test-scenario_compromised-root-creds_v2_no-header.log", rows: 6},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.file] = true
		golden := c.golden
		if golden == "" {
			golden = c.file
		}
		t.Run(golden, func(t *testing.T) {
			obj := ingest.ObjectInfo{URI: "file:///corpus/" + c.file, Key: c.file, Options: c.opts,
				Account: "111122223333", Region: "xx-test-1"}
			var res result
			if RawParquet(c.file) {
				f, err := os.Open(filepath.Join(corpusDir, c.file))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				st, _ := f.Stat()
				obj.Size = st.Size()
				res = run(t, obj, f)
			} else {
				res = run(t, obj, bytes.NewReader(corpusFile(t, c.file)))
			}
			if res.err != nil {
				t.Fatalf("Decode: %v", res.err)
			}
			if len(res.rows) != c.rows || len(res.bad) != c.bad {
				t.Errorf("got %d rows, %d bad; want %d rows, %d bad", len(res.rows), len(res.bad), c.rows, c.bad)
			}
			checkAccounting(t, corpusFile(t, c.file), res)
			compareGolden(t, filepath.Join("testdata", "golden", golden+".json"), render(res))
		})
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("corpus file %s has no test case", e.Name())
		}
	}
}

// checkAccounting asserts that every line is a blank, a header, a row or
// a quarantined record, and that offsets and lines increase.
func checkAccounting(t testing.TB, data []byte, res result) {
	t.Helper()
	if res.d == nil {
		return
	}
	d := res.d
	if int64(len(res.rows)) != d.rows || int64(len(res.bad)) != d.bad {
		t.Fatalf("sink got %d rows, %d bad; decoder counted %d, %d", len(res.rows), len(res.bad), d.rows, d.bad)
	}
	if !bytes.HasPrefix(data, parquetMagic) {
		var lines, blanks, headers int64
		for rest := data; len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			lines++
			switch l := bytes.TrimSuffix(line, []byte("\r")); {
			case len(bytes.Trim(l, " ")) == 0:
				blanks++
			case len(line) <= maxLine && isHeader(line):
				headers++
			}
		}
		if d.blanks != blanks || d.headers != headers {
			t.Errorf("decoder counted %d blank, %d header lines; want %d, %d", d.blanks, d.headers, blanks, headers)
		}
		if got := d.blanks + d.headers + d.rows + d.bad; got != lines {
			t.Errorf("%d lines, but %d blank + %d header + %d rows + %d bad = %d",
				lines, d.blanks, d.headers, d.rows, d.bad, got)
		}
	}
	var last int64 = -1
	for _, r := range res.rows {
		if r.SourceOffset <= last {
			t.Errorf("row offsets not increasing: %d after %d", r.SourceOffset, last)
		}
		last = r.SourceOffset
	}
	last = -1
	for _, b := range res.bad {
		if b.Offset <= last {
			t.Errorf("bad offsets not increasing: %d after %d", b.Offset, last)
		}
		last = b.Offset
		if b.Line < 1 || b.Reason == "" || len(b.Snippet) > ingest.MaxSnippet {
			t.Errorf("bad record %+v", b)
		}
	}
}

// render writes one JSON object per row (non-null columns in column order,
// then the fields the lake writer uses) and per quarantined record.
func render(res result) []byte {
	var b bytes.Buffer
	b.WriteString("{\"rows\": [\n")
	for i, r := range res.rows {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(renderRow(&r))
	}
	b.WriteString("\n],\n\"bad\": [\n")
	for i, bad := range res.bad {
		if i > 0 {
			b.WriteString(",\n")
		}
		j, _ := json.Marshal(struct {
			Line    int64  `json:"line"`
			Offset  int64  `json:"offset"`
			Reason  string `json:"reason"`
			Snippet string `json:"snippet"`
		}{bad.Line, bad.Offset, bad.Reason, string(bad.Snippet)})
		b.Write(j)
	}
	b.WriteString("\n]")
	if len(res.timeless) > 0 {
		b.WriteString(",\n\"bad_timeless_decoded\": [\n")
		for i, r := range res.timeless {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.Write(renderRow(&r))
		}
		b.WriteString("\n]")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func renderRow(r *Row) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	add := func(k string, v any) {
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(v)
		b.Write(kj)
		b.WriteString(": ")
		b.Write(vj)
	}
	var walk func(rv reflect.Value)
	walk = func(rv reflect.Value) {
		rt := rv.Type()
		for i := range rt.NumField() {
			if rt.Field(i).Tag.Get("columnar") == "inline" {
				if f := rv.Field(i); !f.IsNil() {
					walk(f.Elem()) // its columns are in place
				}
				continue
			}
			tag, ok := rt.Field(i).Tag.Lookup("parquet")
			name, opts, _ := strings.Cut(tag, ",")
			if !ok || name == "-" || name == "source_uri" {
				continue
			}
			renderField(add, name, opts, rv.Field(i))
		}
	}
	walk(reflect.ValueOf(r).Elem())
	if r.StartTime != nil || r.EndTime != nil {
		p := r.LakePartition()
		add("_partition", p.Account+"/"+p.Region+"/"+p.Date)
	}
	add("_hash", fmt.Sprintf("%016x%016x", r.Hash.Hi, r.Hash.Lo))
	b.WriteByte('}')
	return b.Bytes()
}

// renderField adds column name (with tag options opts) unless it is NULL.
func renderField(add func(string, any), name, opts string, f reflect.Value) {
	switch f.Kind() {
	case reflect.Pointer:
		if f.IsNil() {
			return
		}
		if strings.Contains(opts, "timestamp") {
			add(name, time.UnixMicro(f.Elem().Int()).UTC().Format(time.RFC3339Nano))
		} else {
			add(name, f.Elem().Interface())
		}
	case reflect.String:
		if f.String() != "" {
			add(name, f.String())
		}
	default:
		add(name, f.Interface())
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to rewrite):\ngot:\n%s", path, got)
	}
}

// TestHash checks that a text row's fingerprint is that of its line
// without the line ending, whatever the line ending.
func TestHash(t *testing.T) {
	line := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	want := ingest.HashBytes([]byte(line))
	for _, in := range []string{line, line + "\n", line + "\r\n", "\n" + line + "\r\n\n"} {
		res := runString(t, in, nil)
		if len(res.rows) != 1 || res.rows[0].Hash != want {
			t.Errorf("%q: rows %d, hash %v, want %v", in, len(res.rows), res.rows, want)
		}
	}
	// the same record wrapped by CloudWatch, or prefixed with an export
	// time, is the same record
	for _, in := range []string{
		`{"message":"` + line + `"}`,
		"2014-12-14T04:07:50.123Z " + line,
	} {
		res := runString(t, in, nil)
		if len(res.rows) != 1 || res.rows[0].Hash != want {
			t.Errorf("%q: rows %d bad %v, want the text line's hash", in, len(res.rows), res.bad)
		}
	}
}

func TestParseFormat(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "${version} ${account-id} ${interface-id}", want: []string{"version", "account-id", "interface-id"}},
		{in: "  ${srcaddr}   ${dstaddr}\t${start} ", want: []string{"srcaddr", "dstaddr", "start"}},
		{in: "version srcaddr end", want: []string{"version", "srcaddr", "end"}},
		{in: tgwFormat, want: strings.Fields(strings.NewReplacer("${", "", "}", "").Replace(tgwFormat))},
		{in: "${version} ${encryption-status}", want: []string{"version", "encryption-status"}},
		{in: "", wantErr: "empty flow-log format"},
		{in: "   ", wantErr: "empty flow-log format"},
		{in: "${version} ${version}", wantErr: `field "version" named twice`},
		{in: "$version", wantErr: `"$version" is not a ${field-name}`},
		{in: "${}", wantErr: `"${}" is not a ${field-name}`},
		{in: "${Version}", wantErr: `"${Version}" is not a ${field-name}`},
		{in: "${version", wantErr: `"${version" is not a ${field-name}`},
		{in: "${srcaddr},${dstaddr}", wantErr: "is not a ${field-name}"},
	}
	for _, c := range cases {
		got, err := ParseFormat(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseFormat(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestFormatOption checks that an invalid option fails the object and a
// valid one sets the layout until a header line replaces it.
func TestFormatOption(t *testing.T) {
	res := runString(t, "x\n", map[string]string{OptionFormat: "${version} ${version}"})
	var pe *ingest.ParseError
	if !errors.As(res.err, &pe) || !strings.Contains(pe.Error(), "flow-format option") {
		t.Fatalf("err = %v, want a ParseError naming the option", res.err)
	}
	in := "eni-1 10.0.0.1 100 160\n" +
		"interface-id start end\n" +
		"eni-2 200 260\n"
	res = runString(t, in, map[string]string{OptionFormat: "${interface-id} ${srcaddr} ${start} ${end}"})
	if res.err != nil || len(res.rows) != 2 || len(res.bad) != 0 {
		t.Fatalf("rows %d bad %v err %v", len(res.rows), res.bad, res.err)
	}
	if r := res.rows[0]; r.SrcAddr != "10.0.0.1" || *r.StartTime != 100e6 || r.InterfaceID != "eni-1" {
		t.Errorf("row 0 = %s", renderRow(&r))
	}
	if r := res.rows[1]; r.SrcAddr != "" || *r.EndTime != 260e6 || r.InterfaceID != "eni-2" {
		t.Errorf("row 1 = %s", renderRow(&r))
	}
}

// TestBadLines checks quarantine reasons, positions and snippets.
func TestBadLines(t *testing.T) {
	const v2 = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	const hdr = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	type bad struct {
		line, offset int64
		reason       string
	}
	cases := []struct {
		name string
		in   string
		rows int
		bad  []bad
	}{
		{"garbage", "Phony unsupported log format.\n" + v2 + "\n", 1,
			[]bad{{1, 0, "record has 4 fields: no header line or flow-format option, and no default format has 4 fields"}}},
		{"bogus after header", hdr + "\n" + v2 + "\nbogus line\n", 1,
			[]bad{{3, int64(len(hdr) + len(v2) + 2), "record has 2 fields, header at line 1 names 14"}}},
		{"ellipsis", v2 + "\n...\n" + v2 + "\n", 2,
			[]bad{{2, int64(len(v2) + 1), "record has 1 fields"}}},
		{"annotation", "srcaddr dstaddr start\n10.0.0.1 10.0.0.2 5 #Traffic from here\n", 0,
			[]bad{{2, 22, "record has 6 fields, header at line 1 names 3"}}},
		{"bad port", strings.Replace(v2, " 20641 ", " 2064x ", 1) + "\n", 0,
			[]bad{{1, 0, `field srcport: "2064x" is not a number`}}},
		{"port overflow", strings.Replace(v2, " 20641 ", " 99999999999 ", 1) + "\n", 0,
			[]bad{{1, 0, `field srcport: "99999999999" is not a number`}}},
		{"negative bytes", strings.Replace(v2, " 4249 ", " -4249 ", 1) + "\n", 0,
			[]bad{{1, 0, `field bytes: "-4249" is not a number`}}},
		{"bad time", strings.Replace(v2, " 1418530010 ", " 2014-12-14 ", 1) + "\n", 0,
			[]bad{{1, 0, `field start: "2014-12-14" is not a Unix time in seconds`}}},
		{"time out of range", strings.Replace(v2, " 1418530010 ", " 99999999999999 ", 1) + "\n", 0,
			[]bad{{1, 0, `field start: "99999999999999" is not a Unix time in seconds`}}},
		{"no time", "instance-id interface-id srcaddr\n- eni-1 10.0.0.1\n", 0,
			[]bad{{2, 33, "record has no start or end time"}}},
		{"NODATA without times", "2 123456789010 eni-1 - - - - - - - - - - NODATA\n", 0,
			[]bad{{1, 0, "record has no start or end time"}}},
		{"end only", "2 123456789010 eni-1 - - - - - - - - 1431280934 - NODATA\n", 1, nil},
		{"duplicate header", "version version start\n1 2 3\n", 0,
			[]bad{{1, 0, `header line: field "version" named twice`}, {2, 22, "record has 3 fields"}}},
		{"json without message", `{"eventVersion":"1.08"}` + "\n", 0,
			[]bad{{1, 0, `json line has no "message" field`}}},
		{"broken json", `{"message":"2 1` + "\n", 0,
			[]bad{{1, 0, "json line: unexpected end of JSON input"}}},
		{"json empty message", `{"message":"  "}`, 0,
			[]bad{{1, 0, "json line has an empty message"}}},
		{"too many fields", strings.Repeat("x ", 200) + "\n" + v2, 1,
			[]bad{{1, 0, "line has more than 128 fields"}}},
		{"blank and spaces", "\n   \n\r\n" + v2 + "  \r\n", 1, nil},
		{"crlf header", strings.ReplaceAll(hdr+"\n"+v2+"\n", "\n", "\r\n"), 1, nil},
		{"unknown header fields", "version srcaddr start encryption-status\n2 10.0.0.1 5 1\n", 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runString(t, c.in, nil)
			if res.err != nil {
				t.Fatal(res.err)
			}
			checkAccounting(t, []byte(c.in), res)
			if len(res.rows) != c.rows || len(res.bad) != len(c.bad) {
				t.Fatalf("got %d rows, bad %+v; want %d rows, %d bad", len(res.rows), res.bad, c.rows, len(c.bad))
			}
			for i, b := range c.bad {
				g := res.bad[i]
				if g.Line != b.line || g.Offset != b.offset || !strings.HasPrefix(g.Reason, b.reason) {
					t.Errorf("bad[%d] = line %d offset %d %q; want line %d offset %d %q",
						i, g.Line, g.Offset, g.Reason, b.line, b.offset, b.reason)
				}
				line := strings.Split(c.in, "\n")[b.line-1]
				if want := ingest.Snip([]byte(line)); !bytes.Equal(g.Snippet, want) {
					t.Errorf("bad[%d] snippet = %q, want %q", i, g.Snippet, want)
				}
			}
		})
	}
}

func TestExtraFields(t *testing.T) {
	res := runString(t, "version srcaddr start encryption-status x-y\n2 10.0.0.1 5 1 \"q\"\n", nil)
	if len(res.rows) != 1 {
		t.Fatalf("rows %d bad %v", len(res.rows), res.bad)
	}
	if res.rows[0].Ext == nil {
		t.Fatal("a record with unknown fields has no Ext")
	}
	if got, want := res.rows[0].Ext.ExtraFields, `{"encryption-status":"1","x-y":"\"q\""}`; got != want {
		t.Errorf("extra_fields = %s, want %s", got, want)
	}
}

// TestExt: a record gets a RowExt exactly when its layout carries one of
// its fields (or unknown ones); the RowExt of a quarantined record is
// reused zeroed, so nothing of it leaks into the next row.
func TestExt(t *testing.T) {
	const v2 = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n"
	res := runString(t, v2+v2, nil)
	if len(res.rows) != 2 || res.rows[0].Ext != nil || res.rows[1].Ext != nil {
		t.Fatalf("v2 rows %d, want 2 without Ext: %+v", len(res.rows), res.rows)
	}
	in := "version tgw-id reject-reason packets-lost-no-route start\n" +
		"2 tgw-a x 3 5\n" +
		"2 tgw-b y 12x 6\n" + // bad number in a RowExt column
		"2 - - - 7\n" +
		"2 tgw-c - - bad\n" + // bad number in a Row column
		"2 - z - 8\n"
	res = runString(t, in, nil)
	if len(res.rows) != 3 || len(res.bad) != 2 {
		t.Fatalf("rows %d bad %v", len(res.rows), res.bad)
	}
	if r := res.bad[0].Reason; r != `field packets-lost-no-route: "12x" is not a number` {
		t.Errorf("reason %q", r)
	}
	want := []RowExt{
		{TGWID: "tgw-a", RejectReason: "x", PacketsLostNoRoute: ptr(int64(3))},
		{},
		{RejectReason: "z"},
	}
	for i, r := range res.rows {
		if r.Ext == nil || !reflect.DeepEqual(*r.Ext, want[i]) {
			t.Errorf("row %d: %s, want Ext %+v", i, renderRow(&r), want[i])
		}
	}
}

// TestLongLine checks that an over-long line is quarantined with a
// bounded snippet, the right position, and that decoding goes on.
func TestLongLine(t *testing.T) {
	const v2 = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n"
	for _, long := range []int{maxLine + 1, 3*maxChunk + 17} {
		in := v2 + strings.Repeat("y", long) + "\n" + v2 + strings.Repeat("z", long)
		for name, r := range map[string]io.Reader{
			"bulk":    strings.NewReader(in),
			"onebyte": iotest.OneByteReader(strings.NewReader(in)),
		} {
			if name == "onebyte" && long > maxLine+1 {
				continue
			}
			res := run(t, ingest.ObjectInfo{URI: "t"}, r)
			if res.err != nil {
				t.Fatal(res.err)
			}
			checkAccounting(t, []byte(in), res)
			if len(res.rows) != 2 || len(res.bad) != 2 {
				t.Fatalf("%s %d: rows %d bad %d", name, long, len(res.rows), len(res.bad))
			}
			wantOff := []int64{int64(len(v2)), int64(2*len(v2) + long + 1)}
			for i, b := range res.bad {
				if b.Offset != wantOff[i] || b.Line != int64(2*i+2) || len(b.Snippet) != ingest.MaxSnippet ||
					!strings.Contains(b.Reason, "longer than") {
					t.Errorf("%s %d: bad[%d] = line %d offset %d %q len %d", name, long, i, b.Line, b.Offset, b.Reason, len(b.Snippet))
				}
			}
			if res.rows[1].SourceOffset != int64(len(v2)+long+1) || res.rows[1].SourceLine != 3 {
				t.Errorf("%s %d: row 2 at line %d offset %d", name, long, res.rows[1].SourceLine, res.rows[1].SourceOffset)
			}
		}
	}
}

// TestChunking decodes a multi-chunk input in one read, byte by byte and
// in odd-sized reads, and expects the same rows.
func TestChunking(t *testing.T) {
	in := genInput(5, 3<<20)
	want := runString(t, string(in), nil)
	if want.err != nil || len(want.bad) != 0 {
		t.Fatalf("err %v bad %d", want.err, len(want.bad))
	}
	checkAccounting(t, in, want)
	for name, r := range map[string]io.Reader{
		"half":    iotest.HalfReader(bytes.NewReader(in)),
		"onebyte": iotest.OneByteReader(bytes.NewReader(in[:200_000])),
	} {
		got := run(t, ingest.ObjectInfo{}, r)
		if got.err != nil {
			t.Fatal(got.err)
		}
		n := len(got.rows)
		if n == 0 || n > len(want.rows) {
			t.Fatalf("%s: %d rows", name, n)
		}
		for i := range got.rows {
			if !reflect.DeepEqual(got.rows[i], want.rows[i]) {
				t.Fatalf("%s: row %d differs:\n%s\n%s", name, i, renderRow(&got.rows[i]), renderRow(&want.rows[i]))
			}
		}
	}
}

func TestPartition(t *testing.T) {
	obj := ingest.ObjectInfo{Account: "999999999999", Region: "eu-west-1"}
	in := "2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n" +
		"2 - eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n" +
		"version account-id region start\n5 123456789010 us-east-2 1431280876\n"
	res := run(t, obj, strings.NewReader(in))
	want := []ingest.Partition{
		{Account: "123456789010", Region: "eu-west-1", Date: "2015-05-10"},
		{Account: "999999999999", Region: "eu-west-1", Date: "2015-05-10"},
		{Account: "123456789010", Region: "us-east-2", Date: "2015-05-10"},
	}
	if len(res.rows) != len(want) {
		t.Fatalf("rows %d bad %v", len(res.rows), res.bad)
	}
	for i, w := range want {
		if got := res.rows[i].LakePartition(); got != w {
			t.Errorf("row %d partition %+v, want %+v", i, got, w)
		}
	}
}

func TestErrors(t *testing.T) {
	const v2 = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n"
	// a read error mid-object is a ParseError after the rows before it
	boom := errors.New("boom")
	res := run(t, ingest.ObjectInfo{URI: "s3://b/k"}, io.MultiReader(strings.NewReader(v2+v2), iotest.ErrReader(boom)))
	var pe *ingest.ParseError
	if !errors.As(res.err, &pe) || !errors.Is(res.err, boom) || pe.Object != "s3://b/k" || pe.Line != 3 {
		t.Errorf("err = %v, want ParseError at line 3 wrapping boom", res.err)
	}
	// cancellation
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sink := ingest.Sink[Row]{Rows: func([]Row) error { return nil }, Bad: func(ingest.BadRecord) error { return nil }}
	if err := Decode(ctx, ingest.ObjectInfo{}, strings.NewReader(v2), sink); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	// sink errors come back as they are
	sinkErr := errors.New("disk full")
	sink.Rows = func([]Row) error { return sinkErr }
	if err := Decode(context.Background(), ingest.ObjectInfo{}, strings.NewReader(v2), sink); err != sinkErr {
		t.Errorf("rows sink: err = %v", err)
	}
	sink.Bad = func(ingest.BadRecord) error { return sinkErr }
	if err := Decode(context.Background(), ingest.ObjectInfo{}, strings.NewReader("bad\n"+v2), sink); err != sinkErr {
		t.Errorf("bad sink: err = %v", err)
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "vpcflow" || s.Table != "vpc_flow" || s.Sniff == nil || s.Decode == nil || s.RawParquet == nil ||
		s.Layout == nil {
		t.Fatalf("Spec() = %+v", s)
	}
	cols := map[string]bool{}
	for _, name := range rowSchema.Columns() {
		cols[name] = true
	}
	for _, b := range s.Bloom {
		if !cols[b] {
			t.Errorf("bloom column %s is not a Row column", b)
		}
	}
	var r Row
	if _, ok := any(&r).(ingest.Row); !ok {
		t.Error("*Row does not implement ingest.Row")
	}
	if m := r.MemSize(); m < int(unsafe.Sizeof(r)) || m > 1000 {
		t.Errorf("MemSize of an empty row = %d", m)
	}
	r.Ext = &RowExt{TGWID: "tgw-1234", ExtraFields: `{"a":"b"}`}
	if m := r.MemSize(); m < int(unsafe.Sizeof(r)+unsafe.Sizeof(*r.Ext))+8+9 || m > 2000 {
		t.Errorf("MemSize of an empty row with an Ext = %d", m)
	}
	// SPEC §3 required columns
	for _, c := range strings.Fields(`version account_id interface_id src_addr dst_addr src_port dst_port protocol packets bytes
		start_time end_time action log_status vpc_id subnet_id instance_id tcp_flags type pkt_srcaddr pkt_dstaddr region
		az_id sublocation_type sublocation_id pkt_src_aws_service pkt_dst_aws_service flow_direction traffic_path
		ecs_cluster_arn ecs_task_id reject_reason tgw_id packets_lost_ttl_expired source_uri source_offset source_line`) {
		if !cols[c] {
			t.Errorf("missing column %s", c)
		}
	}
	for _, k := range []string{"a/b.parquet", "X.PARQUET"} {
		if !RawParquet(k) {
			t.Errorf("RawParquet(%q) = false", k)
		}
	}
	for _, k := range []string{"a/b.log.gz", "parquet", "b.parquet.gz"} {
		if RawParquet(k) {
			t.Errorf("RawParquet(%q) = true", k)
		}
	}
}

// TestTokenize compares the word-at-a-time splitter with a plain one.
func TestTokenize(t *testing.T) {
	ins := []string{"", " ", "a", " a ", "a  b", "        x", "12345678 12345678  123456789", "\x00\x80\xff \xa0 \x1f!"}
	for i := range 2000 {
		var b []byte
		for j := range i % 97 {
			const alphabet = " ab\xa0\x00 \x7f-"
			b = append(b, alphabet[(i*7+j*13+j*j)%len(alphabet)])
		}
		ins = append(ins, string(b))
	}
	for _, in := range ins {
		var d decoder
		n := d.tokenize([]byte(in))
		want := strings.FieldsFunc(in, func(r rune) bool { return r == ' ' })
		if len(want) > maxFields {
			if n != -1 {
				t.Errorf("%q: n = %d, want -1", in, n)
			}
			continue
		}
		var got []string
		for _, tk := range d.toks[:max(n, 0)] {
			got = append(got, in[tk.s:tk.e])
		}
		if n != len(want) || !reflect.DeepEqual(got, want) && len(want) > 0 {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
