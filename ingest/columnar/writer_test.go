package columnar

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/bloom"
)

// testRow has a column of every supported kind.
type testRow struct {
	Time     int64  `parquet:"event_time,timestamp(microsecond:local)"`
	ID       string `parquet:"id,optional"`
	Name     string `parquet:"name,optional,dict"`
	Wide     string `parquet:"wide,optional,dict"` // too many values: falls back to PLAIN
	Text     string `parquet:"text,optional"`
	Flag     *bool  `parquet:"flag"`
	Done     bool   `parquet:"done"`
	Small    *int32 `parquet:"small"`
	Big      *int64 `parquet:"big"`
	When     *int64 `parquet:"when,timestamp(microsecond:local)"`
	Never    string `parquet:"never,optional,dict"` // always NULL
	URI      string `parquet:"uri,dict"`
	Offset   int64  `parquet:"offset"`
	Internal int    `parquet:"-"`
}

func ptr[T any](v T) *T { return &v }

// testRows makes n rows with NULLs in patterns, runs, repeated and unique
// values, long and non-ASCII text, negative numbers.
func testRows(n int) []*testRow {
	rows := make([]*testRow, n)
	for i := range rows {
		r := &testRow{
			Time:   1_763_000_000_000_000 + int64(i)*1000,
			Offset: int64(i) * 517,
			URI:    fmt.Sprintf("s3://bucket/obj-%d.json.gz", i/1000),
			Done:   i%3 == 0,
		}
		if i%7 != 0 {
			r.ID = fmt.Sprintf("id-%08d", i)
		}
		if i%11 != 3 {
			r.Name = []string{"alpha", "beta", "gamma", "δέλτα", "epsilon"}[(i/13)%5]
		}
		r.Wide = fmt.Sprintf("wide-%d-%s", i, strings.Repeat("x", i%40))
		if (i/100)%2 == 0 {
			r.Text = fmt.Sprintf(`{"k":%d,"pad":"%s","q":"a\"b"}`, i, strings.Repeat("é", i%300))
		}
		if i%5 != 0 {
			r.Flag = ptr(i%2 == 0)
		}
		if i%4 != 1 {
			r.Small = ptr(int32(i%70000 - 35000))
		}
		if i > n/2 {
			r.Big = ptr(int64(i) * -123_456_789)
		}
		if i%9 == 0 {
			r.When = ptr(int64(i) * 1_000_000)
		}
		rows[i] = r
	}
	return rows
}

func writeFile(t testing.TB, rows []*testRow, o Options) string {
	t.Helper()
	w, err := NewWriter[testRow](o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := w.Write(&buf, rows, []KeyValue{{"leakscope.run", "r1"}, {"k2", "v2"}})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Write reported %d bytes, wrote %d", n, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var testOptions = Options{
	RowGroupRows: 25_000,
	Bloom:        []string{"id", "name", "wide"},
	Unindexed:    []string{"text"},
	SortedBy:     "event_time",
	CreatedBy:    "leakscope test",
}

// TestRoundTripParquetGo reads the file back with an independent reader
// (parquet-go) and compares every value of every row.
func TestRoundTripParquetGo(t *testing.T) {
	rows := testRows(90_000)
	path := writeFile(t, rows, testOptions)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	got, err := parquet.Read[testRow](f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], *rows[i]) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], *rows[i])
		}
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pf.RowGroups()); n != 4 {
		t.Errorf("%d row groups, want 4 of at most 25000 rows", n)
	}
	if v, _ := pf.Lookup("leakscope.run"); v != "r1" {
		t.Errorf("key/value metadata leakscope.run = %q", v)
	}
}

// TestDuckDB reads the file with DuckDB: column types, every value, the
// statistics it prunes row groups with, and the bloom filters.
func TestDuckDB(t *testing.T) {
	rows := testRows(60_000)
	path := writeFile(t, rows, testOptions)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	types := map[string]string{}
	q, err := db.Query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))`, path)
	if err != nil {
		t.Fatal(err)
	}
	for q.Next() {
		var n, ty string
		q.Scan(&n, &ty)
		types[n] = ty
	}
	q.Close()
	want := map[string]string{
		"event_time": "TIMESTAMP", "id": "VARCHAR", "name": "VARCHAR", "wide": "VARCHAR", "text": "VARCHAR",
		"flag": "BOOLEAN", "done": "BOOLEAN", "small": "INTEGER", "big": "BIGINT", "when": "TIMESTAMP",
		"never": "VARCHAR", "uri": "VARCHAR", "offset": "BIGINT",
	}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("DuckDB types\n got %v\nwant %v", types, want)
	}

	q, err = db.Query(`SELECT epoch_us(event_time), id, name, wide, text, flag, done, small, big, epoch_us("when"), never, uri, "offset"
		FROM read_parquet(?) ORDER BY file_row_number`, path)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for q.Next() {
		var (
			tm, off                     int64
			id, name, wide, text, never sql.NullString
			flag                        sql.NullBool
			done                        bool
			small                       sql.NullInt32
			big, when                   sql.NullInt64
			uri                         string
		)
		if err := q.Scan(&tm, &id, &name, &wide, &text, &flag, &done, &small, &big, &when, &never, &uri, &off); err != nil {
			t.Fatal(err)
		}
		r := rows[i]
		ns := func(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
		got := fmt.Sprint(tm, id, name, wide, text, flag, done, small, big, when, never, uri, off)
		exp := fmt.Sprint(r.Time, ns(r.ID), ns(r.Name), ns(r.Wide), ns(r.Text),
			sql.NullBool{Bool: r.Flag != nil && *r.Flag, Valid: r.Flag != nil}, r.Done,
			sql.NullInt32{Int32: deref(r.Small), Valid: r.Small != nil},
			sql.NullInt64{Int64: deref(r.Big), Valid: r.Big != nil},
			sql.NullInt64{Int64: deref(r.When), Valid: r.When != nil}, ns(""), r.URI, r.Offset)
		if got != exp {
			t.Fatalf("row %d:\n got %s\nwant %s", i, got, exp)
		}
		i++
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if i != len(rows) {
		t.Fatalf("DuckDB read %d rows, wrote %d", i, len(rows))
	}

	// Row-group statistics: event_time bounds per group, null counts,
	// none for the unindexed column.
	var boundsOK bool
	var nulls int64
	var textStats sql.NullString
	err = db.QueryRow(`SELECT
		(SELECT stats_min_value::TIMESTAMP = make_timestamp(?) AND stats_max_value::TIMESTAMP = make_timestamp(?)
			FROM parquet_metadata(?) WHERE path_in_schema = 'event_time' AND row_group_id = 1),
		(SELECT sum(stats_null_count) FROM parquet_metadata(?) WHERE path_in_schema = 'id'),
		(SELECT any_value(stats_min_value) FROM parquet_metadata(?) WHERE path_in_schema = 'text')`,
		rows[25_000].Time, rows[49_999].Time, path, path, path).Scan(&boundsOK, &nulls, &textStats)
	if err != nil {
		t.Fatal(err)
	}
	if !boundsOK {
		t.Error("event_time min/max of row group 1 are not its first and last times")
	}
	wantNulls := int64(0)
	for _, r := range rows {
		if r.ID == "" {
			wantNulls++
		}
	}
	if nulls != wantNulls {
		t.Errorf("null count of id %d, want %d", nulls, wantNulls)
	}
	if textStats.Valid {
		t.Errorf("unindexed column has min/max %q", textStats.String)
	}
	var sortCols int
	if err := db.QueryRow(`SELECT count(*) FROM parquet_metadata(?) WHERE path_in_schema = 'event_time'`, path).Scan(&sortCols); err != nil || sortCols != 3 {
		t.Errorf("event_time chunks %d (%v), want 3 row groups", sortCols, err)
	}

	// Bloom filters: a present value is never excluded; absent values
	// nearly always are.
	probe := func(col, val string) (excludedGroups int) {
		t.Helper()
		err := db.QueryRow(`SELECT count(*) FILTER (bloom_filter_excludes) FROM parquet_bloom_probe(?, ?, ?)`, path, col, val).Scan(&excludedGroups)
		if err != nil {
			t.Fatal(err)
		}
		return excludedGroups
	}
	if n := probe("id", "id-00000001"); n != 2 {
		t.Errorf("bloom: id-00000001 (in group 0 only) excluded from %d groups, want 2", n)
	}
	if n := probe("name", "δέλτα"); n != 0 {
		t.Errorf("bloom: a name in every group excluded from %d groups", n)
	}
	if n := probe("wide", "wide-59999-"+strings.Repeat("x", 59999%40)); n != 2 {
		t.Errorf("bloom: last wide value excluded from %d groups, want 2", n)
	}
	missed := 0
	for k := range 200 {
		if probe("id", fmt.Sprintf("absent-%d", k)) != 3 {
			missed++
		}
	}
	if missed > 10 {
		t.Errorf("bloom: %d of 200 absent values not excluded everywhere", missed)
	}
	// Row-group pruning by time works on the statistics.
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM read_parquet(?) WHERE event_time >= make_timestamp(?)`, path, rows[50_000].Time).Scan(&n); err != nil || n != 10_000 {
		t.Errorf("time filter: %d rows (%v), want 10000", n, err)
	}
}

func deref[T any](p *T) T {
	if p == nil {
		var z T
		return z
	}
	return *p
}

func TestEmptyFile(t *testing.T) {
	path := writeFile(t, nil, testOptions)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, cols int
	if err := db.QueryRow(`SELECT count(*) FROM read_parquet(?)`, path).Scan(&n); err != nil || n != 0 {
		t.Fatalf("count %d, %v", n, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet(?))`, path).Scan(&cols); err != nil || cols != 13 {
		t.Fatalf("%d columns, %v", cols, err)
	}
}

// TestDeterministic: the same rows give the same bytes.
func TestDeterministic(t *testing.T) {
	rows := testRows(30_000)
	a, _ := os.ReadFile(writeFile(t, rows, testOptions))
	b, _ := os.ReadFile(writeFile(t, rows, testOptions))
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same rows differ")
	}
	par := testOptions
	par.Parallel = 3
	if c, _ := os.ReadFile(writeFile(t, rows, par)); !bytes.Equal(a, c) {
		t.Fatal("encoding columns in parallel changes the file")
	}
}

func TestXXH64(t *testing.T) {
	var b []byte
	for n := range 200 {
		if got, want := xxh64(b), (bloom.XXH64{}).Sum64(b); got != want {
			t.Fatalf("xxh64 of %d bytes = %x, want %x", n, got, want)
		}
		b = append(b, byte(n*31+7))
	}
}

func TestSchemaErrors(t *testing.T) {
	type bad1 struct {
		X float64 `parquet:"x"`
	}
	type bad2 struct {
		X int64 `parquet:"x,optional"`
	}
	type bad3 struct {
		X *int64 `parquet:"x,dict"`
	}
	type bad4 struct {
		A string `parquet:"a"`
		B string `parquet:"a"`
	}
	for _, err := range []error{errOf[bad1](), errOf[bad2](), errOf[bad3](), errOf[bad4]()} {
		if err == nil {
			t.Error("unsupported schema accepted")
		}
	}
	if _, err := NewWriter[testRow](Options{Bloom: []string{"nope"}}); err == nil {
		t.Error("bloom filter on an unknown column accepted")
	}
}

func errOf[R any]() error { _, err := SchemaOf[R](); return err }

// sparseRow fills only the columns of its shape.
type sparseRow struct {
	A     string `parquet:"a,optional,dict"`
	B     *int64 `parquet:"b"`
	C     string `parquet:"c,optional"`
	URI   string `parquet:"uri,dict"`
	shape *ColumnSet
}

func (r *sparseRow) Columns() *ColumnSet { return r.shape }

// TestSparse: blocks whose rows leave columns out by shape read back the
// same as with every column written, across shapes that change mid-block.
func TestSparse(t *testing.T) {
	s, err := SchemaOf[sparseRow]()
	if err != nil {
		t.Fatal(err)
	}
	onlyA, _ := s.Set("a")
	bc, _ := s.Set("b", "c")
	if _, err := s.Set("nope"); err == nil {
		t.Error("Set accepted an unknown column")
	}
	var rows []*sparseRow
	for i := range 5000 {
		r := &sparseRow{URI: fmt.Sprint("u", i%3)}
		switch {
		case i%1000 < 600:
			r.shape, r.A = onlyA, fmt.Sprint("a", i%7)
		case i%1000 < 900:
			r.shape, r.B = bc, ptr(int64(i))
			if i%2 == 0 {
				r.C = fmt.Sprint("c", i)
			}
		default: // shape unknown: every column read
			r.A, r.C = "x", "y"
		}
		rows = append(rows, r)
	}
	w, err := NewWriter[sparseRow](Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.Write(&buf, rows, nil); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[sparseRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		want := *rows[i]
		want.shape = nil
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], want)
		}
	}
}

// TestDictionaryTrial: a string column without the dict option keeps a
// dictionary when its values repeat and drops it, after the trial, when
// they do not.
func TestDictionaryTrial(t *testing.T) {
	type trialRow struct {
		Few  string `parquet:"few,optional"`
		Many string `parquet:"many,optional"`
	}
	const n = 20_000
	rows := make([]*trialRow, n)
	for i := range rows {
		// Unique, random-looking values: 20 bytes, 400 KB in all, under
		// the dictionary's size limits, so only the trial drops it.
		rows[i] = &trialRow{Few: []string{"GetObject", "PutObject", "ListBucket"}[i%3], Many: fmt.Sprintf("req-%016x", uint64(i)*0x9E3779B97F4A7C15)}
	}
	path := filepath.Join(t.TempDir(), "trial.parquet")
	if err := os.WriteFile(path, writeRowsTo(t, rows, Options{RowGroupRows: n}), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The dictionary page comes first in a chunk: its stored size is
	// where the data pages start.
	dictPage := func(col string) (dictBytes, uncompressed int64) {
		t.Helper()
		if err := db.QueryRow(`SELECT coalesce(data_page_offset - dictionary_page_offset, 0), total_uncompressed_size FROM parquet_metadata(?) WHERE path_in_schema = ?`, path, col).Scan(&dictBytes, &uncompressed); err != nil {
			t.Fatal(err)
		}
		return dictBytes, uncompressed
	}
	if d, u := dictPage("few"); d == 0 || u > n/2 {
		t.Errorf("few: dictionary page %d bytes, %d bytes uncompressed; want a dictionary and about 2 bits a value", d, u)
	}
	// Kept, the dictionary would hold all 20,000 values (480 KB before
	// compression, 140 KB after); dropped after the trial, about 1024.
	if d, _ := dictPage("many"); d == 0 || d > 80_000 {
		t.Errorf("many: dictionary page %d bytes; want the trial's values only", d)
	}
	var got int
	if err := db.QueryRow(`SELECT count(DISTINCT many) + count(DISTINCT few) FROM read_parquet(?)`, path).Scan(&got); err != nil || got != n+3 {
		t.Fatalf("read back %d distinct values (%v), want %d", got, err, n+3)
	}
}
