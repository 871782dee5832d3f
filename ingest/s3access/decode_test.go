package s3access

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// TestBatches decodes more lines than one batch holds: every row arrives
// once, in order, in batches no larger than batchSize.
func TestBatches(t *testing.T) {
	const n = 5000
	input := strings.Repeat(base+"\n", n)
	var rows, batches int
	var last int64 = -1
	sink := ingest.Sink[Row]{
		Rows: func(rs []Row) error {
			if len(rs) == 0 || len(rs) > batchSize {
				t.Errorf("batch of %d rows", len(rs))
			}
			for i := range rs {
				if rs[i].SourceOffset <= last || *rs[i].HTTPStatus != 200 || *rs[i].BytesSent != 1024 {
					t.Fatalf("row %d: offset %d after %d", rows+i, rs[i].SourceOffset, last)
				}
				last = rs[i].SourceOffset
			}
			rows += len(rs)
			batches++
			return nil
		},
		Bad: func(b ingest.BadRecord) error { t.Errorf("bad %+v", b); return nil },
	}
	if err := Decode(t.Context(), ingest.ObjectInfo{URI: "mem"}, strings.NewReader(input), sink); err != nil {
		t.Fatal(err)
	}
	if rows != n || batches < n/batchSize {
		t.Errorf("%d rows in %d batches", rows, batches)
	}
}

// TestNumbersAreNotShared checks that rows of one batch do not share the
// backing store of their nullable numbers.
func TestNumbersAreNotShared(t *testing.T) {
	input := base + "\n" + strings.Replace(base, " 1024 2048 7 5 ", " 1 2 3 4 ", 1) + "\n"
	res, err := decodeAll(t, ingest.ObjectInfo{}, []byte(input), MaxLine)
	if err != nil || len(res.rows) != 2 {
		t.Fatal(err, res.bad)
	}
	a, b := res.rows[0], res.rows[1]
	if *a.BytesSent != 1024 || *b.BytesSent != 1 || *a.TurnaroundTimeMS != 5 || *b.TurnaroundTimeMS != 4 || a.HTTPStatus == b.HTTPStatus {
		t.Errorf("numbers %d %d %d %d", *a.BytesSent, *b.BytesSent, *a.TurnaroundTimeMS, *b.TurnaroundTimeMS)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	input := strings.Repeat(base+"\n", 3000)
	err := Decode(ctx, ingest.ObjectInfo{}, strings.NewReader(input), discardSink())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestReadError: rows decoded before a read error are delivered, the
// partial line is not, and the error is a ParseError naming the object.
func TestReadError(t *testing.T) {
	boom := errors.New("connection reset")
	input := base + "\n" + base + "\n" + base[:50]
	var rows int
	sink := ingest.Sink[Row]{
		Rows: func(rs []Row) error { rows += len(rs); return nil },
		Bad:  func(ingest.BadRecord) error { t.Error("unexpected bad record"); return nil },
	}
	err := Decode(t.Context(), ingest.ObjectInfo{URI: "s3://b/k"}, &failingReader{strings.NewReader(input), boom}, sink)
	var pe *ingest.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, boom) || pe.Object != "s3://b/k" || pe.Line != 3 {
		t.Fatalf("err %#v", err)
	}
	if rows != 2 {
		t.Errorf("%d rows before the error, want 2", rows)
	}
}

// TestSinkErrors: errors of the sink (output I/O) stop the decoder and are
// returned as they are.
func TestSinkErrors(t *testing.T) {
	full := errors.New("disk full")
	sink := ingest.Sink[Row]{
		Rows: func([]Row) error { return full },
		Bad:  func(ingest.BadRecord) error { return full },
	}
	for _, input := range []string{base, "bad line", strings.Repeat(base+"\n", 100)} {
		if err := Decode(t.Context(), ingest.ObjectInfo{}, bytes.NewReader([]byte(input)), sink); !errors.Is(err, full) {
			t.Errorf("%.20q: err %v, want %v", input, err, full)
		}
	}
}
