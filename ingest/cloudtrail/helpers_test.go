package cloudtrail

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/leakscope/leakscope/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusDir is the shared sample corpus (X/shared/corpus beside X/main).
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail")

func needCorpus(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		tb.Skipf("corpus not found at %s: %v", corpusDir, err)
	}
	return corpusDir
}

// readSample returns a corpus file's decompressed bytes.
func readSample(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if filepath.Ext(path) == ".gz" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

type result struct {
	rows  []Row
	bad   []ingest.BadRecord
	calls int // sink.Rows calls
	err   error
}

func (r *result) records() int { return len(r.rows) + len(r.bad) }

func decodeWith(ctx context.Context, obj ingest.ObjectInfo, rd io.Reader) *result {
	res := &result{}
	sink := ingest.Sink[Row]{
		Rows: func(rows []Row) error {
			res.calls++
			res.rows = append(res.rows, rows...)
			return nil
		},
		Bad: func(b ingest.BadRecord) error {
			res.bad = append(res.bad, b)
			return nil
		},
	}
	res.err = Decode(ctx, obj, rd, sink)
	return res
}

func decodeBytes(b []byte) *result {
	return decodeWith(context.Background(), ingest.ObjectInfo{URI: "file:///test.json", Key: "test.json"}, bytes.NewReader(b))
}

// oneByteReader returns one byte per Read, to exercise every refill path.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
