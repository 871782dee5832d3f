package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// benchEvents returns every corpus event as compact JSON.
func benchEvents(b *testing.B) [][]byte {
	var out [][]byte
	for _, path := range samples(b) {
		data := readSample(b, path)
		res := decodeBytes(data)
		for _, r := range res.rows {
			// Re-derive the compact record: decode again from its offset.
			var v json.RawMessage
			dec := json.NewDecoder(bytes.NewReader(data[r.SourceOffset:]))
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
			var c bytes.Buffer
			json.Compact(&c, v)
			out = append(out, c.Bytes())
		}
	}
	if len(out) == 0 {
		b.Skip("no events")
	}
	return out
}

func BenchmarkDecode(b *testing.B) {
	needCorpus(b)
	events := benchEvents(b)
	const size = 32 << 20
	build := func(open, sep, close string, pretty bool) []byte {
		var buf bytes.Buffer
		buf.WriteString(open)
		for i := 0; buf.Len() < size; i++ {
			if i > 0 {
				buf.WriteString(sep)
			}
			e := events[i%len(events)]
			if pretty {
				json.Indent(&buf, e, "    ", "  ")
			} else {
				buf.Write(e)
			}
		}
		buf.WriteString(close)
		return buf.Bytes()
	}
	datasets := []struct {
		name string
		data []byte
	}{
		{"records-compact", build(`{"Records":[`, ",", "]}", false)},
		{"records-pretty", build("{\n  \"Records\": [\n    ", ",\n    ", "\n  ]\n}\n", true)},
		{"jsonl", build("", "\n", "\n", false)},
	}
	if dir := os.Getenv("LEAKSCOPE_BENCH_FILE"); dir != "" {
		data, err := os.ReadFile(filepath.Clean(dir))
		if err == nil {
			datasets = append(datasets, struct {
				name string
				data []byte
			}{"file", data})
		}
	}
	for _, ds := range datasets {
		b.Run(ds.name, func(b *testing.B) {
			var rows, bad int
			sink := ingest.Sink[Row]{
				Rows: func(r []Row) error { rows += len(r); return nil },
				Bad:  func(ingest.BadRecord) error { bad++; return nil },
			}
			b.SetBytes(int64(len(ds.data)))
			b.ReportAllocs()
			for b.Loop() {
				rows, bad = 0, 0
				if err := Decode(b.Context(), objInfo(), bytes.NewReader(ds.data), sink); err != nil {
					b.Fatal(err)
				}
			}
			if rows == 0 || bad > rows/50+20 {
				b.Fatalf("rows %d bad %d", rows, bad)
			}
			b.ReportMetric(float64(rows), "rows/op")
		})
	}
}
