package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"path"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"
	"golang.org/x/sync/errgroup"
)

// Duplicate detection. Every partition keeps the fingerprints of the rows
// it holds, with the origin (source URI and offset) of the row that was
// kept. A record whose fingerprint is present is a duplicate, unless the
// stored origin is its own: then it is the same record of the same object
// read again (an interrupted run resumed, or --force), which already is in
// the lake and is counted as this object's row, not as a duplicate.
//
// Fingerprints are stored as append-only segment files, one per commit and
// partition, under _leakscope/dedup/<table>/<partition>/<commit>.idx: 24
// bytes per row (128-bit hash, 64-bit origin hash), little endian, sorted.

type dedupEntry struct {
	h      Hash
	origin uint64
}

const dedupEntrySize = 24

func originHash(uri string, offset int64) uint64 {
	return originOf(xxh3.HashString(uri), offset)
}

// originOf is originHash with the URI's hash already computed.
func originOf(uriHash uint64, offset int64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(offset))
	return uriHash ^ xxh3.Hash(b[:])*0x9E3779B97F4A7C15
}

func compareEntry(a, b dedupEntry) int {
	switch {
	case a.h.Hi < b.h.Hi:
		return -1
	case a.h.Hi > b.h.Hi:
		return 1
	case a.h.Lo < b.h.Lo:
		return -1
	case a.h.Lo > b.h.Lo:
		return 1
	}
	return 0
}

// sortEntries sorts es in compareEntry order. Fingerprints are uniform
// hashes, so one counting pass on the top bits of Hi leaves buckets of a
// dozen or so entries, each finished by a comparison sort: linear time
// rather than n log n comparisons of 16-byte keys.
func sortEntries(es []dedupEntry) {
	if len(es) < 1<<12 {
		slices.SortFunc(es, compareEntry)
		return
	}
	bitsN := min(max(bits.Len(uint(len(es)))-4, 8), 20)
	shift := 64 - bitsN
	count := make([]int, 1<<bitsN+1)
	for _, e := range es {
		count[e.h.Hi>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	out := make([]dedupEntry, len(es))
	next := slices.Clone(count[:len(count)-1])
	for _, e := range es {
		b := e.h.Hi >> shift
		out[next[b]] = e
		next[b]++
	}
	for b := 0; b+1 < len(count); b++ {
		if lo, hi := count[b], count[b+1]; hi-lo > 1 {
			slices.SortFunc(out[lo:hi], compareEntry)
		}
	}
	copy(es, out)
}

// fpTable is an open-addressing hash table of fingerprints: the
// fingerprint is already a uniform hash, so its low bits pick the slot.
// About 34 bytes an entry at the 70% load it grows at.
type fpTable struct {
	slots []dedupEntry
	n     int
}

// zero is the empty slot; the (astronomically unlikely) all-zero
// fingerprint is stored as {0, 1}.
func fpKey(h Hash) Hash {
	if h.Hi == 0 && h.Lo == 0 {
		h.Lo = 1
	}
	return h
}

func (t *fpTable) get(h Hash) (uint64, bool) {
	if t.n == 0 {
		return 0, false
	}
	h = fpKey(h)
	mask := uint64(len(t.slots) - 1)
	for i := h.Lo & mask; ; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.h == h {
			return e.origin, true
		}
		if e.h.Hi == 0 && e.h.Lo == 0 {
			return 0, false
		}
	}
}

// insert adds h with origin unless present; it returns the origin
// already stored and whether there was one (one probe sequence).
func (t *fpTable) insert(h Hash, origin uint64) (uint64, bool) {
	if len(t.slots) == 0 || (t.n+1)*10 > len(t.slots)*7 {
		t.grow()
	}
	h = fpKey(h)
	mask := uint64(len(t.slots) - 1)
	for i := h.Lo & mask; ; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.h == h {
			return e.origin, true
		}
		if e.h.Hi == 0 && e.h.Lo == 0 {
			*e = dedupEntry{h: h, origin: origin}
			t.n++
			return 0, false
		}
	}
}

// put sets the origin of h, adding it when absent.
func (t *fpTable) put(h Hash, origin uint64) {
	if len(t.slots) == 0 || (t.n+1)*10 > len(t.slots)*7 {
		t.grow()
	}
	h = fpKey(h)
	mask := uint64(len(t.slots) - 1)
	for i := h.Lo & mask; ; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.h == h {
			e.origin = origin
			return
		}
		if e.h.Hi == 0 && e.h.Lo == 0 {
			*e = dedupEntry{h: h, origin: origin}
			t.n++
			return
		}
	}
}

func (t *fpTable) grow() {
	old := t.slots
	t.slots = make([]dedupEntry, max(1024, 2*len(old)))
	t.n = 0
	for _, e := range old {
		if e.h.Hi != 0 || e.h.Lo != 0 {
			t.put(e.h, e.origin)
		}
	}
}

// partDedup is the fingerprint set of one partition.
type partDedup struct {
	dir   string // relative to the lake root
	table fpTable
	// pending are the fingerprints added since the last hand-over to a
	// commit, with the origin they were added with; replaced holds the
	// origins changed since (rare: see typedWriter.keepEarlier).
	pending  []dedupEntry
	replaced map[Hash]uint64
	used     int64 // LRU clock
}

func (p *partDedup) lookup(h Hash) (uint64, bool) { return p.table.get(h) }

// claim records h for origin unless the partition holds it already; it
// returns the origin already stored and whether there was one.
func (p *partDedup) claim(h Hash, origin uint64) (uint64, bool) {
	prev, found := p.table.insert(h, origin)
	if !found {
		p.pending = append(p.pending, dedupEntry{h: h, origin: origin})
	}
	return prev, found
}

// replace sets the origin of h, which was claimed since the last
// hand-over to a commit.
func (p *partDedup) replace(h Hash, origin uint64) {
	p.table.put(h, origin)
	if p.replaced == nil {
		p.replaced = map[Hash]uint64{}
	}
	p.replaced[h] = origin
}

// dedupIndex holds the fingerprint sets of the partitions a run touches,
// evicting idle ones when it holds more than maxEntries.
type dedupIndex struct {
	fs         lakeFS
	parts      map[string]*partDedup
	clock      int64
	entries    int
	maxEntries int
}

func newDedupIndex(fsys lakeFS, maxEntries int) *dedupIndex {
	return &dedupIndex{fs: fsys, parts: map[string]*partDedup{}, maxEntries: maxEntries}
}

func (d *dedupIndex) part(ctx context.Context, table string, p Partition) (*partDedup, error) {
	key := partitionDir(table, p)
	d.clock++
	if pd, ok := d.parts[key]; ok {
		pd.used = d.clock
		return pd, nil
	}
	pd := &partDedup{dir: key, used: d.clock}
	base, err := loadSegments(ctx, d.fs, path.Join(dedupDir, key))
	if err != nil {
		return nil, fmt.Errorf("load duplicate index of %s: %w", key, err)
	}
	for _, e := range base {
		pd.table.put(e.h, e.origin)
	}
	d.entries += pd.table.n
	d.parts[key] = pd
	return pd, nil
}

func loadSegments(ctx context.Context, fsys lakeFS, dir string) ([]dedupEntry, error) {
	names, err := fsys.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []dedupEntry
	for _, name := range names {
		if !strings.HasSuffix(name, ".idx") || isHidden(name) {
			continue
		}
		f, err := fsys.Open(ctx, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		r := bufio.NewReaderSize(f, 1<<16)
		var buf [dedupEntrySize]byte
		for {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				if err == io.EOF {
					break
				}
				f.Close()
				return nil, fmt.Errorf("segment %s: %w", name, err)
			}
			out = append(out, dedupEntry{
				h:      Hash{Hi: binary.LittleEndian.Uint64(buf[0:]), Lo: binary.LittleEndian.Uint64(buf[8:])},
				origin: binary.LittleEndian.Uint64(buf[16:]),
			})
		}
		f.Close()
	}
	return out, nil
}

// detachSegments hands the fingerprints added since the last hand-over
// to a commit: write stages one segment per partition. The fingerprints
// stay in the partition's table, so later rows see them at once; the
// segments are sorted and encoded by write, off the writer goroutine.
func (d *dedupIndex) detachSegments(stageRoot string) func(ctx context.Context, commit string) ([]committedFile, error) {
	type seg struct {
		key      string
		add      []dedupEntry
		replaced map[Hash]uint64
	}
	var segs []seg
	keys := make([]string, 0, len(d.parts))
	for k, pd := range d.parts {
		if len(pd.pending) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		pd := d.parts[k]
		segs = append(segs, seg{k, pd.pending, pd.replaced})
		d.entries += len(pd.pending)
		pd.pending, pd.replaced = nil, nil
	}
	return func(ctx context.Context, commit string) ([]committedFile, error) {
		var files []committedFile
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, s := range segs {
			rel := path.Join(dedupDir, s.key, commit+".idx")
			staged := path.Join(stageRoot, "dedup", s.key, commit+".idx")
			g.Go(func() error {
				if len(s.replaced) > 0 {
					for i := range s.add {
						if o, ok := s.replaced[s.add[i].h]; ok {
							s.add[i].origin = o
						}
					}
				}
				sortEntries(s.add)
				buf := make([]byte, 0, len(s.add)*dedupEntrySize)
				for _, e := range s.add {
					buf = binary.LittleEndian.AppendUint64(buf, e.h.Hi)
					buf = binary.LittleEndian.AppendUint64(buf, e.h.Lo)
					buf = binary.LittleEndian.AppendUint64(buf, e.origin)
				}
				return d.fs.WriteFile(gctx, staged, buf)
			})
			files = append(files, committedFile{Path: rel, Staged: staged})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return files, nil
	}
}

// land evicts idle partitions over budget once a commit has landed.
func (d *dedupIndex) land() { d.evict() }

// evict drops the least recently used partitions without pending
// fingerprints until the index is within its budget.
func (d *dedupIndex) evict() {
	for d.entries > d.maxEntries {
		var victim string
		var oldest int64 = 1<<63 - 1
		for k, pd := range d.parts {
			if len(pd.pending) == 0 && pd.used < oldest {
				victim, oldest = k, pd.used
			}
		}
		if victim == "" {
			return
		}
		d.entries -= d.parts[victim].table.n
		delete(d.parts, victim)
	}
}
