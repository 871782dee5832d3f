package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// cli runs the real command with buffers.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func corpusDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared corpus not beside the checkout")
	}
	return dir
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run go test -update and review the diff):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}

// TestCorpusIngestAccounting ingests every corpus file and pins, per
// object, records read, rows written, quarantined and duplicates.
func TestCorpusIngestAccounting(t *testing.T) {
	corpus := corpusDir(t)
	lake := t.TempDir()
	stats := filepath.Join(t.TempDir(), "stats.json")
	_, stderr, code := cli(t, "ingest", "--lake", lake, "--quiet", "--stats", stats, corpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := ingest.LoadManifest(lake)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(corpus)
	var b strings.Builder
	for _, e := range m.Entries() {
		if e.RecordsRead != e.RowsWritten+e.Quarantined+e.Duplicates {
			t.Errorf("%s: accounting broken: %+v", e.URI, e)
		}
		rel, _ := filepath.Rel(abs, e.URI)
		if e.Table == "" {
			continue // unrecognised files (licences, rules, indexes)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\tread=%d written=%d quarantined=%d duplicates=%d\n", rel, e.Table, e.Status, e.RecordsRead, e.RowsWritten, e.Quarantined, e.Duplicates)
	}
	golden(t, "corpus_accounting.golden", []byte(b.String()))

	var st ingest.Stats
	data, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	var tables []string
	for name, c := range st.Tables {
		tables = append(tables, name)
		if c.RecordsRead != c.RowsWritten+c.Quarantined+c.Duplicates {
			t.Errorf("table %s: accounting broken: %+v", name, c)
		}
	}
	sort.Strings(tables)
	if strings.Join(tables, ",") != "cloudtrail,s3_access,vpc_flow" {
		t.Errorf("tables in --stats = %v", tables)
	}
	// SPEC §3: the fields --stats must carry, in total and per table.
	var raw struct {
		Total  map[string]any            `json:"-"`
		Tables map[string]map[string]any `json:"tables"`
	}
	if err := json.Unmarshal(data, &raw.Total); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"objects", "objects_skipped", "records_read", "rows_written", "quarantined", "duplicates", "bytes_read", "seconds"} {
		if _, ok := raw.Total[k]; !ok {
			t.Errorf("--stats lacks %s", k)
		}
		for name, tab := range raw.Tables {
			if _, ok := tab[k]; !ok {
				t.Errorf("--stats table %s lacks %s", name, k)
			}
		}
	}
	if s, _ := raw.Tables["cloudtrail"]["seconds"].(float64); s <= 0 {
		t.Errorf("cloudtrail seconds = %v", raw.Tables["cloudtrail"]["seconds"])
	}
	// Every malformed CloudTrail sample is quarantined with a reason.
	out, stderr, code := cli(t, "query", "--lake", lake, "--format", "jsonl",
		"SELECT object, count(*) AS n, min(reason) AS reason FROM quarantine WHERE object LIKE '%/malformed/%' GROUP BY object ORDER BY object")
	if code != 0 {
		t.Fatalf("query exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "\n"); n != 8 {
		t.Errorf("malformed files quarantined = %d, want 8:\n%s", n, out)
	}
}

func TestIngestQueryRoundTrip(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	rec := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE0001"},"eventTime":"2026-11-14T02:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","userAgent":"=HYPERLINK(\"http://x\")\u001b]0;pwned\u0007","requestParameters":{"bucketName":"b","key":"k"},"additionalEventData":{"bytesTransferredOut":42},"requestID":"R1","eventID":"E1","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}`
	if err := os.WriteFile(filepath.Join(src, "events.jsonl"), []byte(rec+"\n"+rec+"\n{broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := cli(t, "ingest", "--lake", lake, src)
	if code != 0 || !strings.Contains(stderr, "3 read = 1 written + 1 quarantined + 1 duplicates") {
		t.Fatalf("ingest exit %d:\n%s", code, stderr)
	}
	_, stderr, code = cli(t, "ingest", "--lake", lake, "--strict", src)
	if code != 0 || !strings.Contains(stderr, "1 unchanged") {
		t.Fatalf("re-ingest exit %d:\n%s", code, stderr)
	}
	_, stderr, code = cli(t, "ingest", "--lake", lake, "--strict", "--force", src)
	if code != 1 || !strings.Contains(stderr, "quarantined") {
		t.Fatalf("--strict exit %d:\n%s", code, stderr)
	}

	out, _, code := cli(t, "query", "--lake", lake, "--format", "csv", "SELECT actor_arn, bytes_out, user_agent FROM cloudtrail")
	if code != 0 {
		t.Fatalf("query exit %d", code)
	}
	if !strings.Contains(out, "arn:aws:iam::111122223333:user/alice,42,") || !strings.Contains(out, `'=HYPERLINK`) {
		t.Errorf("csv = %q", out)
	}
	out, _, _ = cli(t, "query", "--lake", lake, "--format", "table", "SELECT user_agent FROM cloudtrail")
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `\x1b]0;pwned\x07`) {
		t.Errorf("terminal escape not neutralised: %q", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"query", "--lake", lake, "DELETE FROM cloudtrail"}, 2, "read-only"},
		{[]string{"query", "--lake", lake, "SELECT 1; DROP VIEW cloudtrail"}, 2, "read-only"},
		{[]string{"query", "--lake", lake, "ATTACH '/tmp/x.db'"}, 2, "read-only"},
		{[]string{"query", "--lake", lake, "SELECT * FROM read_text('/etc/passwd')"}, 1, "file system operations are disabled"},
		{[]string{"query", "--lake", filepath.Join(lake, "nope"), "SELECT 1"}, 1, "not found"},
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"ingest", "--lake", lake}, 2, "no SOURCE"},
		{[]string{"ingest", "--type", "syslog", src}, 2, "must be one of"},
		{[]string{}, 2, "no command"},
	} {
		_, stderr, code := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

func TestFixturesIngestFindsThePlantedLeak(t *testing.T) {
	dir := t.TempDir()
	logs, lake := filepath.Join(dir, "logs"), filepath.Join(dir, "lake")
	if _, stderr, code := cli(t, "fixtures", logs); code != 0 {
		t.Fatalf("fixtures: %s", stderr)
	}
	if _, stderr, code := cli(t, "ingest", "--quiet", "--lake", lake, logs); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	var truth struct {
		Expected struct {
			AccessKeys []string `json:"access_keys"`
			Objects    []struct {
				URI      string   `json:"uri"`
				Evidence []string `json:"evidence"`
			} `json:"objects"`
		} `json:"expected"`
		Duplicates int64 `json:"duplicates"`
	}
	b, err := os.ReadFile(filepath.Join(logs, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	var ctObjects int
	for _, o := range truth.Expected.Objects {
		for _, e := range o.Evidence {
			if e == "cloudtrail" {
				ctObjects++
			}
		}
	}
	out, stderr, code := cli(t, "query", "--lake", lake, "--format", "csv",
		"SELECT count(DISTINCT 's3://' || bucket || '/' || object_key) FROM cloudtrail WHERE event_name = 'GetObject' AND source_ip = '203.0.113.66'")
	if code != 0 {
		t.Fatal(stderr)
	}
	if got := strings.TrimSpace(strings.Split(out, "\n")[1]); got != fmt.Sprint(ctObjects) {
		t.Errorf("attacker GetObject objects in cloudtrail = %s, truth says %d", got, ctObjects)
	}
	out, _, _ = cli(t, "query", "--lake", lake, "--format", "csv", "SELECT sum(duplicates) FROM manifest")
	if got := strings.TrimSpace(strings.Split(out, "\n")[1]); got != fmt.Sprint(truth.Duplicates) {
		t.Errorf("duplicates dropped = %s, truth says %d re-delivered records", got, truth.Duplicates)
	}
}
