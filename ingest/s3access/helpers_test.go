package s3access

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusDir is the shared corpus of real access log samples.
const corpusDir = "../../../shared/corpus/s3access"

func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.log"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no corpus files in %s (err %v): the shared corpus must be checked out beside the module", corpusDir, err)
	}
	return files
}

// result is everything a decoder made of one object.
type result struct {
	rows []Row
	bad  []ingest.BadRecord
}

func decodeAll(tb testing.TB, obj ingest.ObjectInfo, data []byte, maxLine int) (result, error) {
	tb.Helper()
	var res result
	sink := ingest.Sink[Row]{
		Rows: func(rs []Row) error { res.rows = append(res.rows, rs...); return nil },
		Bad:  func(b ingest.BadRecord) error { res.bad = append(res.bad, b); return nil },
	}
	err := decode(context.Background(), obj, bytes.NewReader(data), sink, maxLine)
	return res, err
}

// columns renders a row as ordered (column, value) pairs the way the lake
// stores it: NULL for empty optional strings and nil pointers, event_time
// as RFC 3339. The writer-only fields follow with a leading underscore.
func columns(r *Row) [][2]any {
	var out [][2]any
	v := reflect.ValueOf(r).Elem()
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("parquet")
		if tag == "-" || tag == "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := v.Field(i)
		var val any
		switch {
		case name == "event_time":
			val = time.UnixMicro(f.Int()).UTC().Format(time.RFC3339Nano)
		case f.Kind() == reflect.Pointer:
			if !f.IsNil() {
				val = f.Elem().Interface()
			}
		case f.Kind() == reflect.String && strings.Contains(opts, "optional"):
			if f.String() != "" {
				val = f.String()
			}
		default:
			val = f.Interface()
		}
		out = append(out, [2]any{name, val})
	}
	out = append(out,
		[2]any{"_hash", fmt.Sprintf("%016x%016x", r.Hash.Hi, r.Hash.Lo)},
		[2]any{"_part_account", r.PartAcc},
		[2]any{"_part_region", r.PartReg},
		[2]any{"_partition_date", r.LakePartition().Date},
	)
	return out
}

// column returns one column of columns(r).
func column(r *Row, name string) any {
	for _, kv := range columns(r) {
		if kv[0] == name {
			return kv[1]
		}
	}
	panic("no column " + name)
}

// goldenJSON renders a result one column per line, for review by eye.
func goldenJSON(res result) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"rows\": [")
	for i := range res.rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    {")
		for j, kv := range columns(&res.rows[i]) {
			if j > 0 {
				b.WriteString(",")
			}
			k, _ := json.Marshal(kv[0])
			v, _ := json.Marshal(kv[1])
			fmt.Fprintf(&b, "\n      %s: %s", k, v)
		}
		b.WriteString("\n    }")
	}
	b.WriteString("\n  ],\n  \"bad\": [")
	for i, bad := range res.bad {
		if i > 0 {
			b.WriteString(",")
		}
		j, _ := json.Marshal(map[string]any{
			"line": bad.Line, "offset": bad.Offset, "reason": bad.Reason, "snippet": string(bad.Snippet),
		})
		fmt.Fprintf(&b, "\n    %s", j)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
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
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from golden at line %d:\n got: %s\nwant: %s\n(run with -update to accept)", path, i+1, g, w)
			}
		}
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
