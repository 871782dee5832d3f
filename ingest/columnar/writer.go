package columnar

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// Options shape the files a Writer writes.
type Options struct {
	// RowGroupRows caps the rows of a row group (default 128 Ki).
	RowGroupRows int
	// Bloom lists the columns that get split-block bloom filters.
	Bloom []string
	// Unindexed lists columns that get no min/max statistics (long text
	// nobody filters by range).
	Unindexed []string
	// SortedBy names the column the rows are sorted by (ascending); it
	// is recorded in each row group. Empty: not recorded.
	SortedBy string
	// CreatedBy is the file's created_by string.
	CreatedBy string
	// Parallel is how many goroutines encode the columns of a row group
	// (default 1). The output does not depend on it.
	Parallel int
}

// KeyValue is one entry of a file's key/value metadata.
type KeyValue struct{ Key, Value string }

// blockRows is how many rows are appended column by column at a time:
// few enough that their structs stay in cache across all columns.
const blockRows = 256

// Writer writes files of rows of type R. It reuses its buffers from file
// to file; it is not safe for concurrent use.
type Writer[R any] struct {
	schema   *Schema
	cols     []column
	cw       []colWriter
	rowGroup int
	sortIdx  int
	created  string

	out    countingWriter // the file being written
	rows   int64          // rows written to it
	groups []rowGroupMeta
	footer thrift

	// sparse returns the columns a row may fill (nil: all); nil when
	// R does not implement Sparse.
	sparse func(unsafe.Pointer) *ColumnSet
	lanes  []lane  // one per encoding goroutine
	cost   []int64 // each column's work in the last row group (see colWriter.work)
}

// lane is what one encoding goroutine owns: its columns of the row group
// and its scratch state.
type lane struct {
	enc      *zstd.Encoder
	cols     []int    // column indices, ascending
	load     int64    // estimated work of cols
	union    []uint64 // columns filled by some row of the current block
	sub      subBlock // the current block's inline structs
	warmCols []*column
	sink     byte // keeps warm's loads from being optimised away
}

type rowGroupMeta struct {
	rows, offset, compressed, uncompressed int64
	chunks                                 []chunkMeta
	bloomOffsets                           []int64 // -1: none
	bloomLengths                           []int32
}

// NewWriter returns a writer for R with the given options.
func NewWriter[R any](o Options) (*Writer[R], error) {
	s, err := SchemaOf[R]()
	if err != nil {
		return nil, err
	}
	w := &Writer[R]{schema: s, cols: slices.Clone(s.cols), rowGroup: o.RowGroupRows, sortIdx: -1, created: o.CreatedBy}
	if w.rowGroup <= 0 {
		w.rowGroup = 128 << 10
	}
	for _, name := range o.Bloom {
		i := s.index(name)
		if i < 0 {
			return nil, fmt.Errorf("columnar: bloom filter on unknown column %q", name)
		}
		w.cols[i].bloom = true
	}
	for _, name := range o.Unindexed {
		i := s.index(name)
		if i < 0 {
			return nil, fmt.Errorf("columnar: unknown unindexed column %q", name)
		}
		w.cols[i].stats = false
	}
	if o.SortedBy != "" {
		if w.sortIdx = s.index(o.SortedBy); w.sortIdx < 0 {
			return nil, fmt.Errorf("columnar: unknown sort column %q", o.SortedBy)
		}
	}
	if _, ok := any((*R)(nil)).(Sparse); ok {
		w.sparse = func(p unsafe.Pointer) *ColumnSet { return any((*R)(p)).(Sparse).Columns() }
	}
	w.cw = make([]colWriter, len(w.cols))
	for i := range w.cw {
		w.cw[i].c = &w.cols[i]
	}
	for range max(1, o.Parallel) {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
		w.lanes = append(w.lanes, lane{
			enc:   enc,
			union: make([]uint64, (len(w.cols)+63)/64),
			sub:   subBlock{ptrs: make([][]unsafe.Pointer, len(s.inlines)), ok: make([]bool, len(s.inlines))},
		})
	}
	w.cost = make([]int64, len(w.cols))
	for i := range w.cols {
		// Until a row group has measured them: strings cost most.
		w.cost[i] = 8
		if w.cols[i].kind == kString {
			w.cost[i] = 64
		}
	}
	return w, nil
}

// subBlock holds, for the block a goroutine is appending, the pointers to
// each inline struct of its rows: resolved once per block, when the
// first column of that struct is appended, and shared by its columns.
type subBlock struct {
	ptrs [][]unsafe.Pointer // per inline field
	ok   []bool             // ptrs[k] is the current block's
}

// rows returns the block's rows for column c: blk itself, or for a column
// of an inline struct the pointers to that struct.
func (sb *subBlock) rows(s *Schema, c *column, blk []unsafe.Pointer) []unsafe.Pointer {
	if c.via == 0 {
		return blk
	}
	k := c.via - 1
	if !sb.ok[k] {
		sb.ptrs[k] = s.inlines[k].resolve(sb.ptrs[k][:0], blk)
		sb.ok[k] = true
	}
	return sb.ptrs[k]
}

// Schema returns the writer's schema.
func (w *Writer[R]) Schema() *Schema { return w.schema }

// Write writes rows, in the order given, as one Parquet file to dst and
// returns the bytes written. Strings are read in place: the rows must not
// change until Write returns.
func (w *Writer[R]) Write(dst io.Writer, rows []*R, kv []KeyValue) (int64, error) {
	if err := w.Begin(dst); err != nil {
		return w.out.n, err
	}
	if err := w.WriteRows(rows); err != nil {
		return w.out.n, err
	}
	return w.End(kv)
}

// Begin starts a file on dst, to be filled by WriteRows and finished by
// End: the streaming form of Write, for files bigger than the rows one
// wants to hold at once.
func (w *Writer[R]) Begin(dst io.Writer) error {
	w.out = countingWriter{w: dst}
	w.groups = w.groups[:0]
	w.rows = 0
	return w.out.write([]byte("PAR1"))
}

// WriteRows writes rows as row groups of at most Options.RowGroupRows
// rows each. The rows may be reused once it returns.
func (w *Writer[R]) WriteRows(rows []*R) error {
	ptrs := unsafe.Slice((*unsafe.Pointer)(unsafe.Pointer(unsafe.SliceData(rows))), len(rows))
	for start := 0; start < len(ptrs); start += w.rowGroup {
		if err := w.writeGroup(&w.out, ptrs[start:min(start+w.rowGroup, len(ptrs))]); err != nil {
			return err
		}
	}
	w.rows += int64(len(rows))
	return nil
}

// WriteValues is WriteRows for a slice of row values.
func (w *Writer[R]) WriteValues(rows []R) error {
	ptrs := make([]*R, 0, min(len(rows), w.rowGroup))
	for start := 0; start < len(rows); start += w.rowGroup {
		ptrs = ptrs[:0]
		for i := start; i < min(start+w.rowGroup, len(rows)); i++ {
			ptrs = append(ptrs, &rows[i])
		}
		if err := w.WriteRows(ptrs); err != nil {
			return err
		}
	}
	return nil
}

// FileState is a file suspended between row groups: what the writer
// needs to go on with it.
type FileState struct {
	n      int64 // bytes written
	rows   int64
	groups []rowGroupMeta
}

// Size is the bytes written to the file so far.
func (st *FileState) Size() int64 { return st.n }

// Rows is the rows written to the file so far.
func (st *FileState) Rows() int64 { return st.rows }

// Suspend sets the file being written aside (after Begin and WriteRows),
// freeing the writer for other files; Resume goes on with it.
func (w *Writer[R]) Suspend() *FileState {
	st := &FileState{n: w.out.n, rows: w.rows, groups: w.groups}
	w.out, w.rows, w.groups = countingWriter{}, 0, nil
	return st
}

// Resume goes on with a suspended file, appending to dst, which must
// continue exactly the bytes written so far (the same file, opened to
// append, or a copy).
func (w *Writer[R]) Resume(dst io.Writer, st *FileState) {
	w.out = countingWriter{w: dst, n: st.n}
	w.rows, w.groups = st.rows, st.groups
}

// End writes the footer, with the key/value metadata kv, and returns the
// file's size.
func (w *Writer[R]) End(kv []KeyValue) (int64, error) {
	footer := w.appendFooter(w.rows, kv)
	footer = binary.LittleEndian.AppendUint32(footer, uint32(len(footer)))
	footer = append(footer, "PAR1"...)
	err := w.out.write(footer)
	w.out.w = nil
	return w.out.n, err
}

// writeGroup encodes one row group: blocks of rows are appended column by
// column, each column chunk is sealed, then the chunks are written in
// schema order, then the bloom filters. With Options.Parallel > 1 the
// columns are shared out among that many goroutines.
func (w *Writer[R]) writeGroup(out *countingWriter, rows []unsafe.Pointer) error {
	for i := range w.cw {
		w.cw[i].reset()
	}
	if len(w.lanes) > 1 {
		w.shareColumns()
		var wg sync.WaitGroup
		for k := range w.lanes {
			wg.Go(func() { w.encodeColumns(rows, &w.lanes[k]) })
		}
		wg.Wait()
	} else {
		if len(w.lanes[0].cols) != len(w.cols) {
			w.lanes[0].cols = w.lanes[0].cols[:0]
			for i := range w.cols {
				w.lanes[0].cols = append(w.lanes[0].cols, i)
			}
		}
		w.encodeColumns(rows, &w.lanes[0])
	}
	for i := range w.cw {
		w.cost[i] = max(1, w.cw[i].work)
	}
	g := rowGroupMeta{rows: int64(len(rows)), offset: out.n}
	for i := range w.cw {
		m, err := w.cw[i].emit(out)
		if err != nil {
			return err
		}
		g.chunks = append(g.chunks, m)
		g.uncompressed += m.uncompressed
	}
	g.compressed = out.n - g.offset
	for i := range w.cw {
		off, n := int64(-1), int32(0)
		if b := w.cw[i].bloom; len(b) > 0 {
			off, n = out.n, int32(len(b))
			if err := out.write(b); err != nil {
				return err
			}
		}
		g.bloomOffsets = append(g.bloomOffsets, off)
		g.bloomLengths = append(g.bloomLengths, n)
	}
	w.groups = append(w.groups, g)
	return nil
}

// shareColumns deals the columns out to the lanes so that their work, as
// the last row group measured it, is about even: heaviest first, each to
// the least loaded lane. Which lane encodes a column does not change the
// bytes written.
func (w *Writer[R]) shareColumns() {
	order := make([]int, len(w.cols))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(w.cost[b], w.cost[a]) })
	for k := range w.lanes {
		w.lanes[k].cols, w.lanes[k].load = w.lanes[k].cols[:0], 0
	}
	for _, i := range order {
		l := &w.lanes[0]
		for k := range w.lanes {
			if w.lanes[k].load < l.load {
				l = &w.lanes[k]
			}
		}
		l.cols = append(l.cols, i)
		l.load += w.cost[i]
	}
	for k := range w.lanes {
		slices.Sort(w.lanes[k].cols)
	}
}

// warm reads the first byte of every string value of a lane's columns in
// a block, row by row. The rows of a sorted buffer lie
// all over memory, long out of cache; these loads are independent of
// each other, so the core overlaps their misses, where the column loops
// that follow would meet them one dictionary lookup at a time.
func (w *Writer[R]) warm(l *lane, blk []unsafe.Pointer, all bool) {
	cols := l.warmCols[:0]
	for _, i := range l.cols {
		if c := &w.cols[i]; c.kind == kString && c.via == 0 && (all || l.union[i/64]&(1<<(i%64)) != 0) {
			cols = append(cols, c)
		}
	}
	l.warmCols = cols
	var x byte
	for _, p := range blk {
		for _, c := range cols {
			if s := *(*string)(field(p, c)); len(s) > 0 {
				x ^= *unsafe.StringData(s)
			}
		}
	}
	l.sink ^= x
}

// encodeColumns appends and seals a lane's columns of a row group, block
// by block.
func (w *Writer[R]) encodeColumns(rows []unsafe.Pointer, l *lane) {
	for b := 0; b < len(rows); b += blockRows {
		blk := rows[b:min(b+blockRows, len(rows))]
		all := w.blockColumns(blk, l.union)
		clear(l.sub.ok)
		w.warm(l, blk, all)
		for _, i := range l.cols {
			if all || l.union[i/64]&(1<<(i%64)) != 0 {
				w.cw[i].appendBlock(l.sub.rows(w.schema, &w.cols[i], blk))
			} else {
				w.cw[i].appendNulls(len(blk))
			}
			w.cw[i].afterBlock(l.enc)
		}
	}
	for _, i := range l.cols {
		w.cw[i].seal(l.enc)
	}
}

// blockColumns gathers in union the columns some row of blk may fill;
// it reports true when that is every column (or R is not Sparse).
func (w *Writer[R]) blockColumns(blk []unsafe.Pointer, union []uint64) bool {
	if w.sparse == nil {
		return true
	}
	clear(union)
	var last *ColumnSet
	for _, p := range blk {
		cs := w.sparse(p)
		if cs == nil {
			return true
		}
		if cs != last {
			for k, b := range cs.bits {
				union[k] |= b
			}
			last = cs
		}
	}
	return false
}

// Converted and logical type annotations (parquet.thrift).
const (
	convertedUTF8            = 0
	convertedTimestampMicros = 10
	convertedInt32           = 17
	convertedInt64           = 18
)

// appendFooter encodes the FileMetaData.
func (w *Writer[R]) appendFooter(rows int64, kv []KeyValue) []byte {
	t := &w.footer
	t.b, t.last, t.stack = t.b[:0], 0, t.stack[:0]
	t.i32(1, 1) // version
	t.list(2, ctStruct, len(w.cols)+1)
	t.push()
	t.string(4, w.schema.name)
	t.i32(5, int32(len(w.cols)))
	t.end()
	for i := range w.cols {
		c := &w.cols[i]
		t.push()
		t.i32(1, c.physical())
		rep := int32(0) // REQUIRED
		if c.optional {
			rep = 1 // OPTIONAL
		}
		t.i32(3, rep)
		t.string(4, c.name)
		switch c.kind {
		case kString:
			t.i32(6, convertedUTF8)
			t.begin(10)
			t.begin(1) // STRING
			t.end()
			t.end()
		case kTimestamp, kTimestampPtr:
			t.i32(6, convertedTimestampMicros)
			t.begin(10)
			t.begin(8) // TIMESTAMP
			t.bool(1, false)
			t.begin(2) // unit
			t.begin(2) // MICROS
			t.end()
			t.end()
			t.end()
			t.end()
		case kInt32Ptr, kInt64, kInt64Ptr:
			width := int8(64)
			conv := int32(convertedInt64)
			if c.kind == kInt32Ptr {
				width, conv = 32, convertedInt32
			}
			t.i32(6, conv)
			t.begin(10)
			t.begin(10) // INTEGER
			t.i8(1, width)
			t.bool(2, true)
			t.end()
			t.end()
		}
		t.end()
	}
	t.i64(3, rows)
	t.list(4, ctStruct, len(w.groups))
	for gi := range w.groups {
		g := &w.groups[gi]
		t.push()
		t.list(1, ctStruct, len(g.chunks))
		for ci := range g.chunks {
			m := &g.chunks[ci]
			c := &w.cols[ci]
			t.push()
			first := m.dataPageOffset
			if m.dictOffset >= 0 {
				first = m.dictOffset
			}
			t.i64(2, first)
			t.begin(3)
			t.i32(1, c.physical())
			t.listI32(2, m.encodings)
			t.listString(3, []string{c.name})
			t.i32(4, codecZstd)
			t.i64(5, m.numValues)
			t.i64(6, m.uncompressed)
			t.i64(7, m.compressed)
			t.i64(9, m.dataPageOffset)
			if m.dictOffset >= 0 {
				t.i64(11, m.dictOffset)
			}
			t.begin(12) // statistics
			t.i64(3, m.nullCount)
			if m.min != nil {
				t.binary(5, m.max)
				t.binary(6, m.min)
			}
			t.end()
			if off := g.bloomOffsets[ci]; off >= 0 {
				t.i64(14, off)
				t.i32(15, g.bloomLengths[ci])
			}
			t.end()
			t.end()
		}
		t.i64(2, g.uncompressed)
		t.i64(3, g.rows)
		if w.sortIdx >= 0 {
			t.list(4, ctStruct, 1)
			t.push()
			t.i32(1, int32(w.sortIdx))
			t.bool(2, false)
			t.bool(3, true)
			t.end()
		}
		t.i64(5, g.offset)
		t.i64(6, g.compressed)
		t.i16(7, int16(gi))
		t.end()
	}
	if len(kv) > 0 {
		t.list(5, ctStruct, len(kv))
		for _, e := range kv {
			t.push()
			t.string(1, e.Key)
			t.string(2, e.Value)
			t.end()
		}
	}
	if w.created != "" {
		t.string(6, w.created)
	}
	t.list(7, ctStruct, len(w.cols))
	for range w.cols {
		t.push()
		t.begin(1) // TYPE_ORDER
		t.end()
		t.end()
	}
	t.endTop()
	return t.b
}

// countingWriter counts the bytes written, which are the file offsets
// the metadata records.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}
