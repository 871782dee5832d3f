package s3access

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/leakscope/leakscope/ingest"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// TestParquetRoundTrip writes the decoded corpus to a real Parquet file
// and reads it back: the struct tags form a valid schema with every SPEC
// column, NULLs survive and values are unchanged.
func TestParquetRoundTrip(t *testing.T) {
	var rows []Row
	for _, path := range corpusFiles(t) {
		res, err := decodeAll(t, ingest.ObjectInfo{URI: path}, mustRead(t, path), MaxLine)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, res.rows...)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[Row](&buf, parquet.Compression(&zstd.Codec{}))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[Row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	for i := range rows {
		want := rows[i]
		want.Hash, want.PartAcc, want.PartReg = ingest.Hash{}, "", "" // not stored
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("row %d differs after the round trip:\n got %+v\nwant %+v", i, got[i], want)
		}
	}

	schema := parquet.SchemaOf(Row{})
	have := map[string]bool{}
	for _, f := range schema.Fields() {
		have[f.Name()] = true
	}
	spec := []string{"event_time", "bucket_owner", "bucket", "remote_ip", "requester",
		"request_id", "operation", "key", "request_uri", "http_status", "error_code", "bytes_sent",
		"object_size", "total_time_ms", "turnaround_time_ms", "referer", "user_agent",
		"version_id", "host_id", "signature_version", "cipher_suite", "auth_type", "host_header",
		"tls_version", "access_point_arn", "acl_required", "source_region", "source_uri",
		"source_offset", "extra_fields", "requester_arn", "requester_account",
		"requester_canonical_id", "requester_anonymous", "requester_service", "raw_key",
		"http_method", "query_auth", "source_line"}
	for _, c := range spec {
		if !have[c] {
			t.Errorf("schema lacks column %q", c)
		}
	}
	if len(have) != len(spec) {
		t.Errorf("schema has %d columns, want %d: %v", len(have), len(spec), schema)
	}
}
