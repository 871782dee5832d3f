package query

import (
	"testing"
)

func scanAll(t *testing.T, e *Engine, q string, args ...any) *Result {
	t.Helper()
	rows, err := e.Query(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	res, err := Scan(rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

func TestS3ReadsMergesSources(t *testing.T) {
	e := openIncident(t)
	res := scanAll(t, e, `SELECT request_id, count(*), any_value(array_to_string(evidence, '+')), sum(bytes)
		FROM s3_reads GROUP BY request_id ORDER BY request_id`)
	want := [][]any{
		{"REQ0001AAAA", int64(1), "cloudtrail+s3_access", 1234567.0},
		{"REQ0002BBBB", int64(1), "cloudtrail+s3_access", 2345678.0},
		{"REQ0003CCCC", int64(1), "s3_access", 3456789.0},
		{"REQ0004DDDD", int64(1), "cloudtrail", 512.0},
		{"REQ0009ZZZZ", int64(1), "cloudtrail+s3_access", 1234567.0},
		{"REQ0010YYYY", int64(1), "s3_access", nil},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("s3_reads has %d requests, want %d: %v", len(res.Rows), len(want), res.Rows)
	}
	for i, w := range want {
		got := res.Rows[i]
		for j := range w {
			g := got[j]
			if f, ok := g.(float64); ok {
				g = f
			} else if n, ok := g.(int64); ok && j == 3 {
				g = float64(n)
			}
			if Text(g) != Text(w[j]) {
				t.Errorf("s3_reads %s column %d = %v, want %v", w[0], j, got[j], w[j])
			}
		}
	}
}

func TestEventsView(t *testing.T) {
	e := openIncident(t)
	res := scanAll(t, e, "SELECT source, count(*), count(time), count(evidence_uri), count(account), count(actor) FROM events GROUP BY source ORDER BY source")
	want := "cloudtrail 11 11 11 11 11|s3_access 5 5 5 5 5|vpc_flow 3 3 3 3 3|"
	got := ""
	for _, r := range res.Rows {
		for i, v := range r {
			if i > 0 {
				got += " "
			}
			got += Text(v)
		}
		got += "|"
	}
	if got != want {
		t.Errorf("events per source:\n got %s\nwant %s", got, want)
	}
	res = scanAll(t, e, "SELECT * FROM events LIMIT 0")
	for i, c := range EventColumns {
		if i >= len(res.Columns) || res.Columns[i] != c {
			t.Fatalf("events columns %v, want %v", res.Columns, EventColumns)
		}
	}
}

func TestViewsOnEmptyLake(t *testing.T) {
	e, err := Open(t.Context(), t.TempDir(), LakeTables())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, v := range []string{"events", "s3_reads"} {
		res := scanAll(t, e, "SELECT count(*) FROM "+v)
		if Text(res.Rows[0][0]) != "0" {
			t.Errorf("%s on an empty lake has %v rows", v, res.Rows[0][0])
		}
	}
	tl, err := e.Timeline(t.Context(), TimelineOptions{Seeds: Seeds{AccessKeys: []string{"AKIAEXAMPLE"}, IPs: []string{"192.0.2.1"}, Buckets: []string{"b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Rows) != 0 {
		t.Errorf("timeline on an empty lake has %d rows", len(tl.Rows))
	}
}
