package ingest

import (
	"context"
	"io"
	"unsafe"

	"github.com/leakscope/leakscope/ingest/columnar"
)

// Source is a log source the pipeline can ingest: a Spec with its row type
// erased. Build one with NewSource.
type Source interface {
	// Name is the --type value.
	Name() string
	// Table is the lake table the source writes.
	Table() string
	sniff(key string, head []byte) int
	layout(key string) (account, region string, ok bool)
	rawParquet(key string) bool
	newWriter(w *writerEnv) tableWriter
	writeEmpty(w io.Writer) error
	decode(ctx context.Context, obj ObjectInfo, r io.Reader, rows func(any, int) error, bad func(BadRecord) error) error
}

// rowPtr constrains P to be a pointer to R implementing Row.
type rowPtr[R any] interface {
	*R
	Row
}

type source[R any, P rowPtr[R]] struct{ spec Spec[R] }

// NewSource erases the row type of spec so the pipeline can hold every
// source in one slice.
func NewSource[R any, P rowPtr[R]](spec Spec[R]) Source {
	return &source[R, P]{spec: spec}
}

func (s *source[R, P]) Name() string  { return s.spec.Name }
func (s *source[R, P]) Table() string { return s.spec.Table }

func (s *source[R, P]) sniff(key string, head []byte) int {
	if s.spec.Sniff == nil {
		return 0
	}
	return s.spec.Sniff(key, head)
}

func (s *source[R, P]) layout(key string) (string, string, bool) {
	if s.spec.Layout == nil {
		return "", "", false
	}
	return s.spec.Layout(key)
}

func (s *source[R, P]) rawParquet(key string) bool {
	return s.spec.RawParquet != nil && s.spec.RawParquet(key)
}

func (s *source[R, P]) decode(ctx context.Context, obj ObjectInfo, r io.Reader, rows func(any, int) error, bad func(BadRecord) error) error {
	return s.spec.Decode(ctx, obj, r, Sink[R]{
		Rows: func(rs []R) error {
			for i := range rs {
				P(&rs[i]).SetSourceURI(obj.URI)
			}
			return rows(rs, len(rs))
		},
		Bad: bad,
	})
}

// MemSizer is implemented by rows that can estimate their memory use; the
// writer uses it to bound what it buffers.
type MemSizer interface{ MemSize() int }

func rowMemSize[R any, P rowPtr[R]](r *R) int {
	if m, ok := any(P(r)).(MemSizer); ok {
		return m.MemSize()
	}
	return int(unsafe.Sizeof(*r)) + 256
}

// WriteEmpty writes a Parquet file with the source's schema and no rows,
// so that engines can expose an empty table before anything is ingested.
func WriteEmpty(s Source, w io.Writer) error { return s.writeEmpty(w) }

func (s *source[R, P]) writeEmpty(w io.Writer) error {
	pw, err := columnar.NewWriter[R](columnar.Options{})
	if err != nil {
		return err
	}
	_, err = pw.Write(w, nil, nil)
	return err
}
