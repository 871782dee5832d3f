package ingest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// The cold part of a partition's fingerprint set: what its hot table
// spilled to disk. See the comment at the top of dedup.go.

const (
	// coldFilterBits is the Bloom filter's bits per cold entry at its
	// design capacity (about 1% false positives).
	coldFilterBits = 10
	// maxColdFilter caps one partition's filter, in bytes (about 54
	// million entries at coldFilterBits); beyond, false positives rise.
	maxColdFilter = 64 << 20
	// maxColdBytes bounds the filters and sparse indexes of idle
	// partitions together; partitions in use keep theirs.
	maxColdBytes = 64 << 20
	// coldStride is the entries between two sparse-index keys of a run
	// (a lookup reads one stride, 3 KiB); runs with more than
	// maxColdSparse strides double it until they have no more.
	coldStride    = 128
	maxColdSparse = 1 << 18
	coldIOBuffer  = 64 << 10
)

// coldSet is the spilled fingerprints of a partition: sorted runs on
// local disk and one Bloom filter over all of them.
type coldSet struct {
	runs   []*coldRun // oldest first; sizes more than halve from one to the next
	n      int        // entries in runs (a fingerprint in two runs counts twice)
	filter coldFilter
	buf    []byte // the strides lookups read
}

// get returns the origin of h (a table key: see fpKey) in the newest run
// holding it.
func (c *coldSet) get(h Hash) (uint64, bool, error) {
	if !c.filter.has(h) {
		return 0, false, nil
	}
	for i := len(c.runs) - 1; i >= 0; i-- {
		if o, ok, err := c.runs[i].get(h, &c.buf); ok || err != nil {
			return o, ok, err
		}
	}
	return 0, false, nil
}

// bytes is the memory the set holds.
func (c *coldSet) bytes() int64 {
	b := int64(len(c.filter.words)) * 8
	for _, r := range c.runs {
		b += int64(len(r.sparse)) * 8
	}
	return b
}

// close removes the run files.
func (c *coldSet) close() {
	for _, r := range c.runs {
		r.remove()
	}
	c.runs = nil
}

// add appends run as the newest, merges runs of similar size and grows
// the filter when the set outgrew it. The filter must already hold the
// run's entries unless it is about to grow (see filterFor).
func (d *dedupIndex) addRun(c *coldSet, run *coldRun, grow bool) error {
	c.runs = append(c.runs, run)
	c.n += run.n
	// Binary-counter merging: every run is more than twice the next, so
	// a set of n entries has at most log2(n) runs and an entry is
	// rewritten about log2(n / spill size) times.
	for k := len(c.runs); k >= 2 && c.runs[k-2].n <= 2*c.runs[k-1].n; k = len(c.runs) {
		older, newer := c.runs[k-2], c.runs[k-1]
		merged, err := d.mergeRuns(older, newer)
		if err != nil {
			return err
		}
		older.remove()
		newer.remove()
		c.runs = append(c.runs[:k-2], merged)
		c.n += merged.n - older.n - newer.n
	}
	if grow {
		return c.rebuildFilter(2 * c.n)
	}
	return nil
}

// filterFor readies the filter for n more entries: it reports whether
// the filter must be rebuilt after they are written (growing it); else
// they are to be added as written.
func (c *coldSet) filterFor(n int) (grow bool) {
	if c.n+n <= c.filter.capacity || !c.filter.canGrow() {
		return false
	}
	if c.n == 0 {
		c.filter = newColdFilter(2 * n)
		return false
	}
	return true
}

// rebuildFilter replaces the filter by one sized for capacity entries,
// reading the runs sequentially. Until it is done the set has no filter,
// which only makes lookups slower.
func (c *coldSet) rebuildFilter(capacity int) error {
	c.filter = coldFilter{}
	f := newColdFilter(capacity)
	for _, r := range c.runs {
		rr := r.reader()
		for {
			e, ok, err := rr.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			f.add(e.h)
		}
	}
	c.filter = f
	return nil
}

// coldRun is one sorted run file: dedupEntrySize-byte entries in
// compareEntry order, as the lake's segments. Lookups read it with
// ReadAt, never through a memory map, whose pages would count as the
// process's memory.
type coldRun struct {
	f      *os.File
	n      int
	stride int      // a power of two
	sparse []uint64 // Hi of entries 0, stride, 2*stride, ...
}

// get returns the origin of h, reading the strides of the run that can
// hold it (one, or two when h.Hi starts a stride) into *buf.
func (r *coldRun) get(h Hash, buf *[]byte) (uint64, bool, error) {
	first, _ := slices.BinarySearch(r.sparse, h.Hi) // first stride starting at or after h.Hi
	end := first
	for end < len(r.sparse) && r.sparse[end] == h.Hi {
		end++
	}
	if end == 0 {
		return 0, false, nil // before the first entry
	}
	lo, hi := max(first-1, 0)*r.stride, min(end*r.stride, r.n)
	size := (hi - lo) * dedupEntrySize
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if _, err := r.f.ReadAt(b, int64(lo)*dedupEntrySize); err != nil {
		return 0, false, r.readErr(err)
	}
	i, j := 0, hi-lo
	for i < j {
		m := int(uint(i+j) >> 1)
		e := b[m*dedupEntrySize:]
		if ehi, elo := binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint64(e[8:]); ehi < h.Hi || ehi == h.Hi && elo < h.Lo {
			i = m + 1
		} else {
			j = m
		}
	}
	if i < hi-lo {
		if e := decodeEntry(b[i*dedupEntrySize:]); e.h == h {
			return e.origin, true, nil
		}
	}
	return 0, false, nil
}

func (r *coldRun) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read %s: the file is shorter than its %d entries", r.f.Name(), r.n)
	}
	return err // an *fs.PathError, naming the file
}

func (r *coldRun) remove() {
	name := r.f.Name()
	r.f.Close()
	os.Remove(name)
}

// coldReader reads a run sequentially.
type coldReader struct {
	run  *coldRun
	r    *bufio.Reader
	left int
	b    [dedupEntrySize]byte
}

func (r *coldRun) reader() *coldReader {
	return &coldReader{run: r, r: bufio.NewReaderSize(io.NewSectionReader(r.f, 0, int64(r.n)*dedupEntrySize), coldIOBuffer), left: r.n}
}

func (cr *coldReader) next() (dedupEntry, bool, error) {
	if cr.left == 0 {
		return dedupEntry{}, false, nil
	}
	if _, err := io.ReadFull(cr.r, cr.b[:]); err != nil {
		return dedupEntry{}, false, cr.run.readErr(err)
	}
	cr.left--
	return decodeEntry(cr.b[:]), true, nil
}

// coldWriter writes a run and its sparse index.
type coldWriter struct {
	run *coldRun
	w   *bufio.Writer
	b   [dedupEntrySize]byte
}

// createRun starts a run of at most maxN entries in the index's spill
// folder, making the folder at the first spill.
func (d *dedupIndex) createRun(maxN int) (*coldWriter, error) {
	if d.tmp == "" {
		dir, err := newScratchDir("dedup")
		if err != nil {
			return nil, fmt.Errorf("create its temporary folder (see TMPDIR): %w", err)
		}
		d.tmp = dir
	}
	d.runSeq++
	f, err := os.OpenFile(filepath.Join(d.tmp, strconv.Itoa(d.runSeq)+".run"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	stride := coldStride
	for maxN > stride*maxColdSparse {
		stride *= 2
	}
	return &coldWriter{
		run: &coldRun{f: f, stride: stride, sparse: make([]uint64, 0, (maxN+stride-1)/stride)},
		w:   bufio.NewWriterSize(f, coldIOBuffer),
	}, nil
}

// add appends e, which sorts after every entry added before. Write
// errors stick in the bufio.Writer until finish.
func (cw *coldWriter) add(e dedupEntry) {
	if cw.run.n&(cw.run.stride-1) == 0 {
		cw.run.sparse = append(cw.run.sparse, e.h.Hi)
	}
	binary.LittleEndian.PutUint64(cw.b[0:], e.h.Hi)
	binary.LittleEndian.PutUint64(cw.b[8:], e.h.Lo)
	binary.LittleEndian.PutUint64(cw.b[16:], e.origin)
	cw.w.Write(cw.b[:])
	cw.run.n++
}

// finish flushes the run; on error the file is removed.
func (cw *coldWriter) finish() (*coldRun, error) {
	if err := cw.w.Flush(); err != nil {
		cw.run.remove()
		return nil, err
	}
	return cw.run, nil
}

// mergeRuns writes the union of two runs as a new one; a fingerprint in
// both (parallel shards wrote it into the same partition) keeps the newer
// run's origin, as fpTable.put would.
func (d *dedupIndex) mergeRuns(older, newer *coldRun) (*coldRun, error) {
	cw, err := d.createRun(older.n + newer.n)
	if err != nil {
		return nil, err
	}
	a, b := older.reader(), newer.reader()
	ea, oka, errA := a.next()
	eb, okb, errB := b.next()
	for (oka || okb) && errA == nil && errB == nil {
		c := 0
		switch {
		case !okb:
			c = -1
		case !oka:
			c = 1
		default:
			c = compareEntry(ea, eb)
		}
		if c < 0 {
			cw.add(ea)
			ea, oka, errA = a.next()
			continue
		}
		cw.add(eb)
		if c == 0 {
			ea, oka, errA = a.next()
		}
		eb, okb, errB = b.next()
	}
	if err := errors.Join(errA, errB); err != nil {
		cw.run.remove()
		return nil, err
	}
	return cw.finish()
}

// spillTable moves the hot table of p into a new run of its cold set.
func (d *dedupIndex) spillTable(p *partDedup) error {
	if p.cold == nil {
		p.cold = &coldSet{}
	}
	c := p.cold
	es := p.table.drain()
	sortEntriesInPlace(es)
	grow := c.filterFor(len(es))
	cw, err := d.createRun(len(es))
	if err != nil {
		return err
	}
	for _, e := range es {
		cw.add(e)
		if !grow {
			c.filter.add(e.h)
		}
	}
	run, err := cw.finish()
	if err != nil {
		return err
	}
	p.table.reset()
	return d.addRun(c, run, grow)
}

// coldFilter is a blocked Bloom filter: a key sets and tests 8 bits in
// one 64-byte block (one cache line), one bit in each of its 8 words. It
// takes every bit from the key's Hi, which the hot table does not probe
// by: the block from the high 32 bits, the bits from the low 32
// multiplied by 8 odd constants (those of Parquet's split-block filter).
type coldFilter struct {
	words    []uint64 // 8 per block
	capacity int      // entries it was sized for
}

var coldSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

func newColdFilter(capacity int) coldFilter {
	blocks := min(max((capacity*coldFilterBits+511)/512, 1), maxColdFilter/64)
	return coldFilter{words: make([]uint64, 8*blocks), capacity: capacity}
}

func (f *coldFilter) canGrow() bool { return len(f.words)*8 < maxColdFilter }

func (f *coldFilter) block(h Hash) *[8]uint64 {
	b := (h.Hi >> 32) * uint64(len(f.words)/8) >> 32 // at most 1<<20 blocks: no overflow
	return (*[8]uint64)(f.words[b*8:])
}

// touch reads the block of h, for typedWriter.prefetch.
func (f *coldFilter) touch(h Hash) uint64 {
	if len(f.words) == 0 {
		return 0
	}
	return f.block(h)[0]
}

func (f *coldFilter) add(h Hash) {
	b, k := f.block(h), uint32(h.Hi)
	for i := range b {
		b[i] |= 1 << (k * coldSalt[i] >> 26)
	}
}

// has reports whether h may have been added; with no words (a filter
// being rebuilt) everything may have.
func (f *coldFilter) has(h Hash) bool {
	if len(f.words) == 0 {
		return true
	}
	b, k := f.block(h), uint32(h.Hi)
	var miss uint64
	for i := range b {
		miss |= 1 << (k * coldSalt[i] >> 26) &^ b[i]
	}
	return miss == 0
}

// sortEntriesInPlace is sortEntries without its second array, for a
// spilled hot table as large as the memory budget: an in-place radix sort
// (American flag sort) on Hi a byte at a time, from the top, which moves
// entries into 256 buckets that fill sequentially (kind to the cache),
// finished by a comparison sort once a bucket is small.
func sortEntriesInPlace(es []dedupEntry) { flagSort(es, 56) }

func flagSort(es []dedupEntry, shift int) {
	if len(es) < 64 || shift < 0 {
		slices.SortFunc(es, compareEntry)
		return
	}
	var start, next [257]int
	for _, e := range es {
		start[e.h.Hi>>shift&0xff+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	copy(next[:], start[:256])
	for b := range 256 {
		for end := start[b+1]; next[b] < end; next[b]++ {
			// Carry the entry at the next unplaced position of bucket b
			// to its own bucket, and the one found there onwards, until
			// one of bucket b comes back.
			e := es[next[b]]
			for t := int(e.h.Hi >> shift & 0xff); t != b; t = int(e.h.Hi >> shift & 0xff) {
				es[next[t]], e = e, es[next[t]]
				next[t]++
			}
			es[next[b]] = e
		}
	}
	for b := range 256 {
		if lo, hi := start[b], start[b+1]; hi-lo > 1 {
			flagSort(es[lo:hi], shift-8)
		}
	}
}
