package ingest

import (
	"context"
	"io"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/zeebo/xxh3"

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
	uriHash := xxh3.HashString(obj.URI)
	return s.spec.Decode(ctx, obj, r, Sink[R]{
		Rows: func(rs []R) error {
			if len(rs) == 0 {
				return nil
			}
			return rows(newBatch[R, P](rs, obj.URI, uriHash), len(rs))
		},
		Bad: bad,
	})
}

// batch is a decoder's slice of rows with what the lake writer needs of
// each, read here while the rows are still in the decoding core's cache:
// the writer's single goroutine then walks these compact arrays instead
// of the rows (a flow-log row is about a kilobyte).
type batch[R any] struct {
	rows  []R
	meta  []rowMeta
	parts []partRun
	bytes int64 // estimated memory of the rows
}

// rowMeta is one row's fingerprint, origin hash and sort key.
type rowMeta struct {
	h      Hash
	origin uint64 // originOf(URI hash, offset)
	t      int64  // SortTime
	off    int64  // source offset
}

// partRun is a run of rows of one partition starting at row start.
type partRun struct {
	start int
	part  Partition
}

func newBatch[R any, P rowPtr[R]](rs []R, uri string, uriHash uint64) *batch[R] {
	b := &batch[R]{rows: rs, meta: make([]rowMeta, len(rs))}
	shareRepeats(rs, dictStrings[R]())
	for i := range rs {
		r := P(&rs[i])
		r.SetSourceURI(uri)
		_, off := r.Origin()
		b.meta[i] = rowMeta{h: r.Fingerprint(), origin: originOf(uriHash, off), t: r.SortTime(), off: off}
		if part := r.LakePartition(); len(b.parts) == 0 || b.parts[len(b.parts)-1].part != part {
			b.parts = append(b.parts, partRun{start: i, part: part})
		}
		b.bytes += int64(rowMemSize[R, P](&rs[i])) + rowOverhead
	}
	return b
}

// rowOverhead is the writer's own memory per buffered row: its pointer,
// sort key and object index.
const rowOverhead = 8 + 24

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

// dictStringCache holds dictStrings per row type.
var dictStringCache sync.Map // reflect.Type -> []uintptr

// dictStrings returns the offsets of R's string columns, which the lake
// writer dictionary-encodes (those without the dict option on trial).
func dictStrings[R any]() []uintptr {
	t := reflect.TypeFor[R]()
	if v, ok := dictStringCache.Load(t); ok {
		return v.([]uintptr)
	}
	var offs []uintptr
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("parquet"), ","); f.Type.Kind() == reflect.String && name != "" && name != "-" {
			offs = append(offs, f.Offset)
		}
	}
	dictStringCache.Store(t, offs)
	return offs
}

// shareRepeats makes a string column's value that repeats the row
// before's the very same string as that row's. The writer compares each
// value with the one before it to skip a dictionary lookup; with shared
// strings that comparison ends at the pointers, where it would otherwise
// read both values again from memory long out of cache. Here, in the
// decoding goroutine, the rows are still in cache.
func shareRepeats[R any](rs []R, offs []uintptr) {
	for i := 1; i < len(rs); i++ {
		prev, cur := unsafe.Pointer(&rs[i-1]), unsafe.Pointer(&rs[i])
		for _, off := range offs {
			a, b := (*string)(unsafe.Add(prev, off)), (*string)(unsafe.Add(cur, off))
			if len(*a) == len(*b) && len(*b) > 0 && unsafe.StringData(*a) != unsafe.StringData(*b) && *a == *b {
				*b = *a
			}
		}
	}
}
