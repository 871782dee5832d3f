package s3access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// TestCorpus decodes every shared corpus file and compares all columns of
// every row with a reviewed golden file.
func TestCorpus(t *testing.T) {
	want := map[string]struct{ rows, bad int }{
		"awsdocs_s3-userguide_LogFormat-example.log":                      {5, 0},
		"elastic_beats_s3access_aws-doc-example_plus-fake-tz-options.log": {6, 0},
		"elastic_integrations_s3access_test-s3-server-access.log":         {10, 0},
		"grafana-loki_lambda-promtail_s3accesslog.log":                    {1, 0},
		"ncbi-logging_aws_testlines_real-sra-buckets.log":                 {9, 0},
		"panther-analysis_test-scenario_compromised-root-creds.log":       {3, 0},
	}
	files := corpusFiles(t)
	if len(files) != len(want) {
		t.Errorf("corpus has %d files, test knows %d: add the new file to this table", len(files), len(want))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			obj := ingest.ObjectInfo{URI: "file:///corpus/" + name, Key: name}
			res, err := decodeAll(t, obj, data, MaxLine)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected counts for %s", name)
			}
			if len(res.rows) != w.rows || len(res.bad) != w.bad {
				t.Errorf("rows %d bad %d, want rows %d bad %d (bad: %+v)", len(res.rows), len(res.bad), w.rows, w.bad, res.bad)
			}
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			for i := range res.rows {
				r := &res.rows[i]
				if got := lines[r.SourceLine-1]; !strings.HasPrefix(string(data[r.SourceOffset:]), got) {
					t.Errorf("row %d: source_offset %d does not start line %d", i, r.SourceOffset, r.SourceLine)
				}
				if r.Hash != ingest.HashBytes([]byte(lines[r.SourceLine-1])) {
					t.Errorf("row %d: hash is not the hash of line %d", i, r.SourceLine)
				}
			}
			checkGolden(t, filepath.Join("testdata", "corpus", strings.TrimSuffix(name, ".log")+".golden.json"), goldenJSON(res))
		})
	}
}

// TestCorpusHighlights pins the corpus lines that exercise the hard cases,
// so that a careless -update cannot bless a regression.
func TestCorpusHighlights(t *testing.T) {
	decodeFile := func(t *testing.T, name string) []Row {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := decodeAll(t, ingest.ObjectInfo{URI: name}, data, MaxLine)
		if err != nil || len(res.bad) != 0 {
			t.Fatalf("err %v bad %+v", err, res.bad)
		}
		return res.rows
	}
	type check struct {
		file string
		line int // 1-based
		col  string
		want any
	}
	const (
		elastic = "elastic_integrations_s3access_test-s3-server-access.log"
		beats   = "elastic_beats_s3access_aws-doc-example_plus-fake-tz-options.log"
		docs    = "awsdocs_s3-userguide_LogFormat-example.log"
		ncbi    = "ncbi-logging_aws_testlines_real-sra-buckets.log"
		loki    = "grafana-loki_lambda-promtail_s3accesslog.log"
	)
	checks := []check{
		// user agent with commas and spaces, assumed-role requester
		{elastic, 1, "user_agent", "AWS-Support-TrustedAdvisor, aws-internal/3 aws-sdk-java/1.11.590 Linux/4.9.137-0.1.ac.218.74.329.metal1.x86_64 OpenJDK_64-Bit_Server_VM/25.212-b03 java/1.8.0_212 vendor/Oracle_Corporation"},
		{elastic, 1, "requester_account", "123456"},
		{elastic, 1, "_part_region", "ap-southeast-1"},
		// BATCH.DELETE.OBJECT with bare "-" request URI, referer and user agent
		{elastic, 5, "operation", "BATCH.DELETE.OBJECT"},
		{elastic, 5, "request_uri", nil},
		{elastic, 5, "http_status", int32(204)},
		{elastic, 5, "object_size", int64(344017)},
		{elastic, 5, "http_method", nil},
		// "+" in keys is a space
		{elastic, 6, "key", "Screen Shot 2019-09-09 at 9.08.44 AM.png"},
		{elastic, 6, "raw_key", "Screen+Shot+2019-09-09+at+9.08.44+AM.png"},
		// service principal with remote IP "-"
		{elastic, 7, "requester_service", "delivery.logs.amazonaws.com"},
		{elastic, 7, "remote_ip", nil},
		{elastic, 7, "_part_region", "us-gov-west-1"},
		// access point ARN and aclRequired
		{elastic, 8, "access_point_arn", "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP"},
		{elastic, 8, "acl_required", "Yes"},
		// HTTP status "-"
		{elastic, 9, "http_status", nil},
		// lifecycle expiration is a row
		{elastic, 10, "operation", "S3.EXPIRE.OBJECT"},
		{elastic, 10, "requester_service", "AmazonS3"},
		{elastic, 10, "version_id", "qsEq9bDa2VyxyZ4cz0c7oBnF67VYTTij"},
		{elastic, 10, "host_id", "DMlPb9al4CvVBck150CgpEIIYgtSI3HC/atetNVYwPtHZffW6jfpg+BrffhbT9/B"},
		{elastic, 10, "request_uri", nil},
		{elastic, 10, "signature_version", nil},
		// +0200 offset converted to UTC
		{beats, 6, "event_time", "2021-02-09T12:48:42Z"},
		{beats, 6, "http_method", "OPTIONS"},
		{beats, 1, "signature_version", "SigV2"},
		{beats, 1, "_part_region", ""}, // global endpoint: region unknown
		// 26 fields, trailing space
		{docs, 1, "acl_required", "Yes"},
		{docs, 3, "acl_required", "Yes"},
		{docs, 3, "error_code", "NoSuchBucketPolicy"},
		{docs, 1, "requester_canonical_id", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
		{docs, 5, "bytes_sent", nil},
		{docs, 5, "object_size", int64(4406583)},
		// 206 ranged GET, large object size, anonymous requester
		{ncbi, 4, "http_status", int32(206)},
		{ncbi, 4, "bytes_sent", int64(8388608)},
		{ncbi, 4, "object_size", int64(10679416372)},
		{ncbi, 8, "requester_anonymous", true},
		{ncbi, 8, "requester", nil},
		{ncbi, 8, "signature_version", nil},
		{ncbi, 2, "key", "SRR9154112/*.fastq*"},
		{ncbi, 3, "operation", "REST.COPY.OBJECT_GET"},
		{ncbi, 3, "http_status", nil},
		// the stray token of line 9 is kept, the columns after it line up
		{ncbi, 9, "extra_fields", `["AIDAISBTTLPGXGH6YFFAY"]`},
		{ncbi, 9, "host_id", "LzYGhqEwXn5Xiuil9tI6JtK2PiIo+SC6Ute3Isq2qEmt/t0Z7qFkyD0mp1ZIc43bm0qSX4tBbbc="},
		{ncbi, 9, "signature_version", "SigV4"},
		{ncbi, 9, "tls_version", "TLSv1.2"},
		{loki, 1, "tls_version", "TLSv1.3"},
		{loki, 1, "_part_region", "us-east-2"},
	}
	cache := map[string][]Row{}
	for _, c := range checks {
		rows, ok := cache[c.file]
		if !ok {
			rows = decodeFile(t, c.file)
			cache[c.file] = rows
		}
		var row *Row
		for i := range rows {
			if rows[i].SourceLine == int64(c.line) {
				row = &rows[i]
			}
		}
		if row == nil {
			t.Errorf("%s line %d: no row", c.file, c.line)
			continue
		}
		if got := column(row, c.col); got != c.want {
			t.Errorf("%s line %d %s = %#v, want %#v", c.file, c.line, c.col, got, c.want)
		}
	}
	// Lines 5 and 6 of the ncbi file are the same record delivered twice:
	// both decode, with equal fingerprints, so the writer keeps one.
	rows := cache[ncbi]
	if rows[4].Hash != rows[5].Hash || rows[4].SourceOffset == rows[5].SourceOffset {
		t.Errorf("ncbi lines 5/6: hashes %v %v offsets %d %d", rows[4].Hash, rows[5].Hash, rows[4].SourceOffset, rows[5].SourceOffset)
	}
	if rows[3].Hash == rows[4].Hash {
		t.Error("different lines share a hash")
	}
}
