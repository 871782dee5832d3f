package s3access

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// MemSize is what the lake writer bounds its buffer by: summed over the
// rows of the corpus, it must be close to the heap the rows really hold
// (their batches, line copies and numbers), or the writer holds twice
// the memory it is told to.
func TestMemSizeMatchesTheHeap(t *testing.T) {
	var input []byte
	for _, f := range corpusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		input = append(input, b...)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			input = append(input, '\n')
		}
	}
	for len(input) < 8<<20 {
		input = append(input, input...)
	}
	var kept [][]Row
	estimate := 0
	sink := ingest.Sink[Row]{
		Rows: func(rs []Row) error {
			kept = append(kept, rs)
			for i := range rs {
				estimate += rs[i].MemSize()
			}
			return nil
		},
		Bad: func(ingest.BadRecord) error { return nil },
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := Decode(t.Context(), ingest.ObjectInfo{URI: "mem"}, bytes.NewReader(input), sink); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	if r := float64(estimate) / held; r < 0.8 || r > 1.3 {
		t.Errorf("rows estimated at %d bytes hold %.0f (ratio %.2f)", estimate, held, r)
	}
	runtime.KeepAlive(kept)
	runtime.KeepAlive(input)
}
