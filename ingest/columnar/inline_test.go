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

	"github.com/parquet-go/parquet-go"
)

// inlineExt is the out-of-line part of inlineRow: a column of every
// optional kind.
type inlineExt struct {
	Name  string `parquet:"ext_name,optional,dict"`
	Count *int64 `parquet:"ext_count"`
	Flag  *bool  `parquet:"ext_flag"`
	Small *int32 `parquet:"ext_small"`
	When  *int64 `parquet:"ext_when,timestamp(microsecond:local)"`
	Note  string `parquet:"ext_note,optional"`
	Local int    `parquet:"-"`
}

// inlineRow keeps some columns behind an inline pointer, between others.
type inlineRow struct {
	Time   int64      `parquet:"event_time,timestamp(microsecond:local)"`
	ID     string     `parquet:"id,optional"`
	Ext    *inlineExt `columnar:"inline"`
	URI    string     `parquet:"uri,dict"`
	Offset int64      `parquet:"offset"`
}

// flatRow is inlineRow with the fields of inlineExt written out in place.
type flatRow struct {
	Time   int64  `parquet:"event_time,timestamp(microsecond:local)"`
	ID     string `parquet:"id,optional"`
	Name   string `parquet:"ext_name,optional,dict"`
	Count  *int64 `parquet:"ext_count"`
	Flag   *bool  `parquet:"ext_flag"`
	Small  *int32 `parquet:"ext_small"`
	When   *int64 `parquet:"ext_when,timestamp(microsecond:local)"`
	Note   string `parquet:"ext_note,optional"`
	URI    string `parquet:"uri,dict"`
	Offset int64  `parquet:"offset"`
}

func (r *inlineRow) flat() flatRow {
	f := flatRow{Time: r.Time, ID: r.ID, URI: r.URI, Offset: r.Offset}
	if x := r.Ext; x != nil {
		f.Name, f.Count, f.Flag, f.Small, f.When, f.Note = x.Name, x.Count, x.Flag, x.Small, x.When, x.Note
	}
	return f
}

// inlineRows makes n rows whose Ext is nil in runs (whole blocks and
// pages) and scattered, and when present has NULLs of its own.
func inlineRows(n int) []*inlineRow {
	rows := make([]*inlineRow, n)
	for i := range rows {
		r := &inlineRow{Time: 1_763_000_000_000_000 + int64(i)*1000, Offset: int64(i), URI: fmt.Sprint("s3://b/", i/5000)}
		if i%6 != 0 {
			r.ID = fmt.Sprintf("id-%d", i)
		}
		if (i/3000)%3 != 1 && i%7 != 2 {
			x := &inlineExt{Local: i}
			if i%5 != 0 {
				x.Name = []string{"a", "b", "γ"}[i%3]
			}
			if i%4 != 0 {
				x.Count = ptr(int64(i) * -77)
			}
			if i%3 != 0 {
				x.Flag = ptr(i%2 == 0)
			}
			if i%8 != 0 {
				x.Small = ptr(int32(i % 1000))
			}
			if i%9 == 0 {
				x.When = ptr(int64(i) * 1_000_000)
			}
			if i%2 == 0 {
				x.Note = strings.Repeat("n", i%50)
			}
			r.Ext = x
		}
		rows[i] = r
	}
	return rows
}

var inlineOptions = Options{
	RowGroupRows: 20_000,
	Bloom:        []string{"id", "ext_name", "ext_note"},
	Unindexed:    []string{"ext_note"},
	SortedBy:     "event_time",
	CreatedBy:    "leakscope test",
}

func writeRowsTo[R any](t testing.TB, rows []*R, o Options) []byte {
	t.Helper()
	w, err := NewWriter[R](o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.Write(&buf, rows, []KeyValue{{"k", "v"}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFlat writes rows as a struct of the same name as inlineRow (the
// name is the root of the Parquet schema) but flat.
func writeFlat(t testing.TB, rows []*flatRow, o Options) []byte {
	type inlineRow flatRow
	named := make([]*inlineRow, len(rows))
	for i, r := range rows {
		named[i] = (*inlineRow)(r)
	}
	return writeRowsTo(t, named, o)
}

func flatten(rows []*inlineRow) []*flatRow {
	out := make([]*flatRow, len(rows))
	for i, r := range rows {
		f := r.flat()
		out[i] = &f
	}
	return out
}

// TestInline: a row with an inline struct writes the same file, byte for
// byte, as the flat row with its columns in place, whatever the
// parallelism; the values read back (parquet-go, DuckDB) are the row's,
// NULL where the pointer is nil.
func TestInline(t *testing.T) {
	s, err := SchemaOf[inlineRow]()
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := SchemaOf[flatRow]()
	if got, want := s.Columns(), fs.Columns(); !reflect.DeepEqual(got, want) {
		t.Fatalf("columns\n got %v\nwant %v", got, want)
	}
	rows := inlineRows(70_000)
	file := writeRowsTo(t, rows, inlineOptions)
	flat := writeFlat(t, flatten(rows), inlineOptions)
	if !bytes.Equal(file, flat) {
		t.Fatal("inline row and flat row write different files")
	}
	par := inlineOptions
	par.Parallel = 3
	if again := writeRowsTo(t, rows, par); !bytes.Equal(file, again) {
		t.Fatal("encoding an inline row in parallel changes the file")
	}

	got, err := parquet.Read[flatRow](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	nilExt := 0
	for i := range got {
		if rows[i].Ext == nil {
			nilExt++
			if got[i].Count != nil || got[i].Flag != nil || got[i].Small != nil || got[i].When != nil || got[i].Name != "" || got[i].Note != "" {
				t.Fatalf("row %d has no Ext but reads back %+v", i, got[i])
			}
		}
		if want := rows[i].flat(); !reflect.DeepEqual(got[i], want) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	if nilExt < 20_000 || nilExt > 40_000 {
		t.Fatalf("%d rows without Ext: the test data does not mix enough", nilExt)
	}

	dir := t.TempDir()
	inPath, flatPath := filepath.Join(dir, "inline.parquet"), filepath.Join(dir, "flat.parquet")
	// The flat file differs from the inline one only in a field the
	// writer ignores, so DuckDB sees whether the NULLs come from the
	// nil pointers and not from the same bytes twice.
	flatRows := flatten(rows)
	for i, r := range rows {
		if r.Ext == nil {
			flatRows[i].Note = "was nil"
		}
	}
	if err := os.WriteFile(inPath, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(flatPath, writeFlat(t, flatRows, inlineOptions), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	describe := func(path string) string {
		t.Helper()
		q, err := db.Query(`SELECT column_name, column_type, "null" FROM (DESCRIBE SELECT * FROM read_parquet(?))`, path)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var b strings.Builder
		for q.Next() {
			var n, ty, null string
			if err := q.Scan(&n, &ty, &null); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %s; ", n, ty, null)
		}
		return b.String()
	}
	if a, b := describe(inPath), describe(flatPath); a != b || !strings.Contains(a, "ext_when TIMESTAMP") {
		t.Errorf("DESCRIBE\ninline %s\n  flat %s", a, b)
	}
	var allNull, mismatched, wasNil int
	err = db.QueryRow(`SELECT
		count(*) FILTER (i.ext_name IS NULL AND i.ext_count IS NULL AND i.ext_flag IS NULL AND i.ext_small IS NULL
			AND i.ext_when IS NULL AND i.ext_note IS NULL),
		count(*) FILTER (i.id IS DISTINCT FROM f.id OR i.ext_name IS DISTINCT FROM f.ext_name
			OR i.ext_count IS DISTINCT FROM f.ext_count OR i.ext_flag IS DISTINCT FROM f.ext_flag
			OR i.ext_small IS DISTINCT FROM f.ext_small OR i.ext_when IS DISTINCT FROM f.ext_when
			OR i.uri IS DISTINCT FROM f.uri OR i.event_time IS DISTINCT FROM f.event_time
			OR (i.ext_note IS DISTINCT FROM f.ext_note AND f.ext_note IS DISTINCT FROM 'was nil')),
		count(*) FILTER (f.ext_note = 'was nil' AND i.ext_note IS NULL)
		FROM read_parquet(?) i JOIN read_parquet(?) f USING ("offset")`, inPath, flatPath).Scan(&allNull, &mismatched, &wasNil)
	if err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Errorf("DuckDB: %d rows differ between the inline and the flat file", mismatched)
	}
	if wasNil != nilExt || allNull < nilExt {
		t.Errorf("DuckDB: %d rows with a nil Ext read NULL (%d all-NULL), want %d", wasNil, allNull, nilExt)
	}
}

// sparseInlineRow is a Sparse row with an inline struct.
type sparseInlineRow struct {
	A     string     `parquet:"a,optional,dict"`
	X     *sparseExt `columnar:"inline"`
	URI   string     `parquet:"uri,dict"`
	shape *ColumnSet
}

type sparseExt struct {
	B *int64 `parquet:"b"`
	C string `parquet:"c,optional"`
}

func (r *sparseInlineRow) Columns() *ColumnSet { return r.shape }

// sparseFlatRow is sparseInlineRow written out flat, without Sparse.
type sparseFlatRow struct {
	A   string `parquet:"a,optional,dict"`
	B   *int64 `parquet:"b"`
	C   string `parquet:"c,optional"`
	URI string `parquet:"uri,dict"`
}

// TestSparseInline: column sets name the columns of an inline struct like
// any other; blocks mixing shapes, nil and non-nil pointers and rows of
// unknown shape write the same file as the flat rows.
func TestSparseInline(t *testing.T) {
	s, err := SchemaOf[sparseInlineRow]()
	if err != nil {
		t.Fatal(err)
	}
	onlyA, _ := s.Set("a")
	withExt, _ := s.Set("a", "b", "c")
	onlyC, _ := s.Set("c")
	var rows []*sparseInlineRow
	var flat []*sparseFlatRow
	for i := range 6000 {
		r := &sparseInlineRow{URI: fmt.Sprint("u", i%3)}
		switch k := i % 1000; {
		case k < 400:
			r.shape, r.A = onlyA, fmt.Sprint("a", i%7)
		case k < 700:
			r.shape = withExt
			if i%3 != 0 { // else: nil although the shape has its columns
				r.X = &sparseExt{B: ptr(int64(i))}
				if i%2 == 0 {
					r.X.C = fmt.Sprint("c", i)
				}
			}
		case k < 800:
			r.shape, r.X = onlyC, &sparseExt{C: fmt.Sprint("only-c", i)}
		default: // shape unknown: every column read
			r.A = "x"
			if i%2 == 0 {
				r.X = &sparseExt{B: ptr(int64(-i)), C: "y"}
			}
		}
		f := &sparseFlatRow{A: r.A, URI: r.URI}
		if r.X != nil {
			f.B, f.C = r.X.B, r.X.C
		}
		rows, flat = append(rows, r), append(flat, f)
	}
	file := writeRowsTo(t, rows, Options{Parallel: 2})
	type sparseInlineRow sparseFlatRow // the schema's root name
	named := make([]*sparseInlineRow, len(flat))
	for i, f := range flat {
		named[i] = (*sparseInlineRow)(f)
	}
	if want := writeRowsTo(t, named, Options{}); !bytes.Equal(file, want) {
		t.Fatal("sparse rows with an inline struct write a different file than the flat rows")
	}
	got, err := parquet.Read[sparseFlatRow](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], *flat[i]) {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], *flat[i])
		}
	}
}

func TestInlineSchemaErrors(t *testing.T) {
	type reqInt struct {
		N int64 `parquet:"n"`
	}
	type reqBool struct {
		B bool `parquet:"b"`
	}
	type reqString struct {
		S string `parquet:"s"`
	}
	type reqTime struct {
		T int64 `parquet:"t,timestamp(microsecond:local)"`
	}
	type ok struct {
		S string `parquet:"s,optional"`
	}
	type nested struct {
		S string `parquet:"s,optional"`
		X *ok    `columnar:"inline"`
	}
	type empty struct {
		N int `parquet:"-"`
	}
	type dupName struct {
		S string `parquet:"a,optional"`
	}
	type base struct {
		A string `parquet:"a,optional"`
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"required int64", errOf[struct {
			base
			X *reqInt `columnar:"inline"`
		}](), `column "n" of inline`},
		{"required bool", errOf[struct {
			X *reqBool `columnar:"inline"`
		}](), `column "b" of inline`},
		{"required string", errOf[struct {
			X *reqString `columnar:"inline"`
		}](), `column "s" of inline`},
		{"required timestamp", errOf[struct {
			X *reqTime `columnar:"inline"`
		}](), `column "t" of inline`},
		{"not a pointer", errOf[struct {
			X ok `columnar:"inline"`
		}](), "pointer to a struct"},
		{"pointer to a non-struct", errOf[struct {
			X *string `columnar:"inline"`
		}](), "pointer to a struct"},
		{"nested", errOf[struct {
			X *nested `columnar:"inline"`
		}](), "do not nest"},
		{"no columns", errOf[struct {
			A string `parquet:"a,optional"`
			X *empty `columnar:"inline"`
		}](), "no parquet columns"},
		{"duplicate across", errOf[struct {
			A string   `parquet:"a,optional"`
			X *dupName `columnar:"inline"`
		}](), `column "a" twice`},
		{"parquet tag too", errOf[struct {
			X *ok `parquet:"x" columnar:"inline"`
		}](), "no parquet tag"},
		{"unknown columnar tag", errOf[struct {
			X *ok `columnar:"flat"`
		}](), "unsupported columnar tag"},
		{"bad type inside", errOf[struct {
			X *struct {
				F *float64 `parquet:"f"`
			} `columnar:"inline"`
		}](), "unsupported type"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, c.err, c.want)
		}
	}
	if err := errOf[struct {
		X *ok `columnar:"inline"`
	}](); err != nil {
		t.Errorf("a row of one inline struct: %v", err)
	}
}
