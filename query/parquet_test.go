package query

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRenderParquet writes a query result as Parquet and reads it back
// with DuckDB: same rows, same values, NULLs kept, types preserved.
func TestRenderParquet(t *testing.T) {
	e := openIncident(t)
	q := "SELECT time, source, actor, bytes, evidence_offset, outcome = 'error' AS failed, date, user_agent FROM events ORDER BY time, source, evidence_uri, evidence_offset"
	want := scanAll(t, e, q)
	var b bytes.Buffer
	if err := Render(&b, Parquet, want); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.Lake(), "result.parquet")
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, e, "SELECT time, source, actor, bytes, evidence_offset, failed, date, user_agent FROM read_parquet(?)", out)
	if len(got.Rows) != len(want.Rows) || len(want.Rows) == 0 {
		t.Fatalf("read back %d rows, want %d", len(got.Rows), len(want.Rows))
	}
	types := scanAll(t, e, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?)) ORDER BY column_name", out)
	wantTypes := "actor VARCHAR|bytes BIGINT|date TIMESTAMP|evidence_offset BIGINT|failed BOOLEAN|source VARCHAR|time TIMESTAMP|user_agent VARCHAR|"
	gotTypes := ""
	for _, r := range types.Rows {
		gotTypes += Text(r[0]) + " " + Text(r[1]) + "|"
	}
	if gotTypes != wantTypes {
		t.Errorf("parquet types\n got %s\nwant %s", gotTypes, wantTypes)
	}
	for i := range want.Rows {
		for j := range want.Columns {
			if Text(got.Rows[i][j]) != Text(want.Rows[i][j]) {
				t.Errorf("row %d column %s: read back %q, wrote %q", i, want.Columns[j], Text(got.Rows[i][j]), Text(want.Rows[i][j]))
			}
		}
	}
}
