package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
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
//
// In memory, a partition's set is a hot table (fpTable, about 34 bytes a
// fingerprint) and, once it has spilled, a cold set on local disk; the
// index keeps the hot tables of all partitions within Config.DedupEntries
// fingerprints whatever the size of a partition:
//
//   - After every commit (or spill of rows) lands the index evicts idle
//     partitions, least recently used first: those with no fingerprints
//     pending, so that all they hold is in the lake's segments. When that
//     is not enough it spills the biggest hot table: sorted in place,
//     written as a run file of the segments' format into a folder made
//     in TMPDIR at the first spill (see scratch.go) and removed by close,
//     and the table emptied (its slots kept while the slots of all tables
//     stay within what the budget allows at the lowest load, 35%, else
//     freed).
//   - A cold set is its runs, a sparse index of each (the Hi of every
//     128th entry, read with ReadAt: no memory map) and one blocked Bloom
//     filter over them all (10 bits a fingerprint, about 1% false
//     positives; rebuilt from the runs when they outgrow it, 64 MiB at
//     most, after which false positives rise instead of memory). Runs are
//     merged binary-counter style (every run more than twice the next), so
//     there are at most log2(n) of them; when a fingerprint is in two
//     runs (parallel shards wrote the partition) the newer origin wins.
//     Idle partitions are also evicted while the filters and sparse
//     indexes exceed 64 MiB together.
//   - A lookup probes the hot table, then, if there is a cold set, the
//     filter, and on a hit the newest run first, one read of 3 KiB each.
//     A claim that misses everywhere goes into the hot table; replace
//     writes the hot table too, which is consulted first, so the newest
//     origin always wins. A partition that never spilled takes the one
//     probe of fpTable.insert as before.
//   - Loading a partition streams its segments into the hot table and
//     spills (the biggest hot table, this one or another) whenever the
//     budget is reached; it evicts nothing, as a commit may be in flight.
//   - The fingerprints pending for the next commit (also in the hot table
//     or cold set) are a list of their own, which the writer bounds by
//     committing (see runner.pendingFingerprints).

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
	adviseHuge(t.slots)
	// The keys are distinct and already fpKeys: each goes to the first
	// empty slot from its home, with no comparison.
	slots, mask := t.slots, uint64(len(t.slots)-1)
	for _, e := range old {
		if e.h.Hi == 0 && e.h.Lo == 0 {
			continue
		}
		i := e.h.Lo & mask
		for slots[i].h.Hi != 0 || slots[i].h.Lo != 0 {
			i = (i + 1) & mask
		}
		slots[i] = e
	}
}

// probe returns the slot of key (an fpKey) or the empty slot ending its
// probe sequence; the caller has made room (see insert).
func (t *fpTable) probe(key Hash) *dedupEntry {
	mask := uint64(len(t.slots) - 1)
	for i := key.Lo & mask; ; i = (i + 1) & mask {
		if e := &t.slots[i]; e.h == key || e.h.Hi == 0 && e.h.Lo == 0 {
			return e
		}
	}
}

// drain moves the entries to the front of the slot array and returns
// them there; the table is unusable until reset.
func (t *fpTable) drain() []dedupEntry {
	n := 0
	for _, e := range t.slots {
		if e.h.Hi != 0 || e.h.Lo != 0 {
			t.slots[n] = e
			n++
		}
	}
	return t.slots[:n]
}

// reset empties the table, keeping its slots.
func (t *fpTable) reset() {
	clear(t.slots)
	t.n = 0
}

// floor is the entries the slots are sized for at the lowest load a
// table has once grown (35%): what the budget counts for the slots, but
// for those of a table that never grew.
func (t *fpTable) floor() int {
	if len(t.slots) <= 1024 {
		return 0
	}
	return len(t.slots) * 7 / 20
}

// partDedup is the fingerprint set of one partition.
type partDedup struct {
	dir   string // relative to the lake root
	table fpTable
	cold  *coldSet // nil until the hot table first spills
	// pending are the fingerprints added since the last hand-over to a
	// commit, with the origin they were added with; replaced holds the
	// origins changed since (rare: see typedWriter.keepEarlier).
	pending  []dedupEntry
	replaced map[Hash]uint64
	used     int64 // LRU clock
}

func (p *partDedup) lookup(h Hash) (uint64, bool, error) {
	if o, ok := p.table.get(h); ok || p.cold == nil {
		return o, ok, nil
	}
	o, ok, err := p.cold.get(fpKey(h))
	if err != nil {
		return 0, false, fmt.Errorf("look up the duplicate index of %s on disk: %w", p.dir, err)
	}
	return o, ok, nil
}

// claim records h for origin unless the partition holds it already; it
// returns the origin already stored and whether there was one.
func (p *partDedup) claim(h Hash, origin uint64) (uint64, bool, error) {
	if p.cold != nil {
		return p.claimCold(h, origin)
	}
	prev, found := p.table.insert(h, origin)
	if !found {
		p.pending = append(p.pending, dedupEntry{h: h, origin: origin})
	}
	return prev, found, nil
}

// claimCold is claim for a partition that has spilled: hot table, then
// cold set, then the slot the hot probe ended on.
func (p *partDedup) claimCold(h Hash, origin uint64) (uint64, bool, error) {
	t := &p.table
	if len(t.slots) == 0 || (t.n+1)*10 > len(t.slots)*7 {
		t.grow()
	}
	key := fpKey(h)
	e := t.probe(key)
	if e.h == key {
		return e.origin, true, nil
	}
	prev, found, err := p.cold.get(key)
	if err != nil {
		return 0, false, fmt.Errorf("look up the duplicate index of %s on disk: %w", p.dir, err)
	}
	if found {
		return prev, true, nil
	}
	*e = dedupEntry{h: key, origin: origin}
	t.n++
	p.pending = append(p.pending, dedupEntry{h: h, origin: origin})
	return 0, false, nil
}

// replace sets the origin of h, which was claimed since the last
// hand-over to a commit. When h has spilled since, the hot table's copy
// hides the cold one.
func (p *partDedup) replace(h Hash, origin uint64) {
	p.table.put(h, origin)
	if p.replaced == nil {
		p.replaced = map[Hash]uint64{}
	}
	p.replaced[h] = origin
}

// dedupIndex holds the fingerprint sets of the partitions a run touches
// within its budgets (see the top of this file). It is owned by one
// goroutine; after an error from it the run ends.
type dedupIndex struct {
	fs    lakeFS
	parts map[string]*partDedup
	clock int64
	// maxEntries bounds the fingerprints of the hot tables, and their
	// slots at 35% load; maxCold the bytes of the cold sets' filters and
	// sparse indexes kept by idle partitions.
	maxEntries int
	maxCold    int64
	tmp        string // folder of the cold runs, made at the first spill
	runSeq     int    // names run files
	err        error  // the index is broken: a spill failed half way
}

func newDedupIndex(fsys lakeFS, maxEntries int) *dedupIndex {
	return &dedupIndex{fs: fsys, parts: map[string]*partDedup{}, maxEntries: maxEntries, maxCold: maxColdBytes}
}

func (d *dedupIndex) part(ctx context.Context, table string, p Partition) (*partDedup, error) {
	if d.err != nil {
		return nil, d.err
	}
	key := partitionDir(table, p)
	d.clock++
	if pd, ok := d.parts[key]; ok {
		pd.used = d.clock
		return pd, nil
	}
	pd := &partDedup{dir: key, used: d.clock}
	d.parts[key] = pd
	if err := d.load(ctx, pd); err != nil {
		d.drop(pd)
		return nil, err
	}
	return pd, nil
}

// load streams the partition's segments into its hot table, making room
// within the budget whenever the table would exceed it.
func (d *dedupIndex) load(ctx context.Context, pd *partDedup) error {
	dir := path.Join(dedupDir, pd.dir)
	names, err := d.fs.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("load duplicate index of %s: %w", pd.dir, err)
	}
	// The hot entries and slots of the other partitions.
	others, othersFloor := 0, 0
	for _, p := range d.parts {
		if p != pd {
			others += p.table.n
			othersFloor += p.table.floor()
		}
	}
	for _, name := range names {
		if !strings.HasSuffix(name, ".idx") || isHidden(name) {
			continue
		}
		f, err := d.fs.Open(ctx, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("load duplicate index of %s: %w", pd.dir, err)
		}
		r := bufio.NewReaderSize(f, 1<<16)
		var buf [dedupEntrySize]byte
		for {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				f.Close()
				if err == io.EOF {
					break
				}
				return fmt.Errorf("load duplicate index of %s: segment %s: %w", pd.dir, name, err)
			}
			e := decodeEntry(buf[:])
			pd.table.put(e.h, e.origin)
			if others+pd.table.n > d.maxEntries || othersFloor+pd.table.floor() > d.maxEntries {
				if err := d.evict(false); err != nil {
					f.Close()
					return err
				}
				others, othersFloor = 0, 0
				for _, p := range d.parts {
					if p != pd {
						others += p.table.n
						othersFloor += p.table.floor()
					}
				}
			}
		}
	}
	return nil
}

func decodeEntry(b []byte) dedupEntry {
	return dedupEntry{
		h:      Hash{Hi: binary.LittleEndian.Uint64(b[0:]), Lo: binary.LittleEndian.Uint64(b[8:])},
		origin: binary.LittleEndian.Uint64(b[16:]),
	}
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
		pd.pending, pd.replaced = make([]dedupEntry, 0, len(pd.pending)), nil
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

// land brings the index within its budgets once a commit (or a spill of
// rows) has landed, and so while none is in flight.
func (d *dedupIndex) land() error { return d.evict(true) }

// evict brings the index within its budgets. With drop (only when no
// commit is in flight, so that all an idle partition holds is in the
// lake's segments) it first drops idle partitions, least recently used
// first: those without pending fingerprints. Then it spills the biggest
// hot tables and frees the slots of the biggest emptied ones.
func (d *dedupIndex) evict(drop bool) error {
	if d.err != nil {
		return d.err
	}
	hot, floor, cold := 0, 0, int64(0)
	for _, p := range d.parts {
		hot += p.table.n
		floor += p.table.floor()
		cold += p.coldBytes()
	}
	for hot > d.maxEntries || floor > d.maxEntries || cold > d.maxCold {
		onlyCold := hot <= d.maxEntries && floor <= d.maxEntries
		var victim *partDedup
		for _, p := range d.parts {
			if !drop || len(p.pending) > 0 || onlyCold && p.cold == nil {
				continue
			}
			if victim == nil || p.used < victim.used {
				victim = p
			}
		}
		if victim != nil {
			hot -= victim.table.n
			floor -= victim.table.floor()
			cold -= victim.coldBytes()
			d.drop(victim)
			continue
		}
		if onlyCold {
			break // the cold sets of partitions in use stay
		}
		// Spill the biggest hot table; or, when the slots are over budget,
		// free the biggest ones, emptied ones first (spilling the others).
		byEntries := hot > d.maxEntries
		var big *partDedup
		for _, p := range d.parts {
			if big == nil || coldFirst(p, big, byEntries) {
				big = p
			}
		}
		n, f, c := big.table.n, big.table.floor(), big.coldBytes()
		if n > 0 {
			if err := d.spill(big); err != nil {
				return err
			}
		}
		if !byEntries {
			big.table = fpTable{}
		}
		hot += big.table.n - n
		floor += big.table.floor() - f
		cold += big.coldBytes() - c
	}
	return nil
}

// coldFirst reports whether p goes before q in spilling: by entries
// when byEntries, else by slots (those of emptied tables first). Ties go
// to the partition named first, so that runs do not depend on map order.
func coldFirst(p, q *partDedup, byEntries bool) bool {
	a, b := p.table.n, q.table.n
	if !byEntries {
		pe, qe := p.table.n == 0 && p.table.floor() > 0, q.table.n == 0 && q.table.floor() > 0
		if pe != qe {
			return pe
		}
		a, b = p.table.floor(), q.table.floor()
	}
	if a != b {
		return a > b
	}
	return p.dir < q.dir
}

func (p *partDedup) coldBytes() int64 {
	if p.cold == nil {
		return 0
	}
	return p.cold.bytes()
}

// dedupSpillHook lets tests see the spills of runs they cannot reach.
var dedupSpillHook = func(dir string, entries int) {}

// spill moves the hot table of p to its cold set on disk.
func (d *dedupIndex) spill(p *partDedup) error {
	dedupSpillHook(p.dir, p.table.n)
	if err := d.spillTable(p); err != nil {
		d.err = fmt.Errorf("spill the duplicate index of %s to disk: %w", p.dir, err)
		return d.err
	}
	return nil
}

// drop forgets a partition, removing its cold runs.
func (d *dedupIndex) drop(p *partDedup) {
	if p.cold != nil {
		p.cold.close()
	}
	delete(d.parts, p.dir)
}

// close removes the cold runs and their folder; the index is not used
// afterwards.
func (d *dedupIndex) close() error {
	for _, p := range d.parts {
		if p.cold != nil {
			p.cold.close()
		}
	}
	if d.tmp == "" {
		return nil
	}
	err := os.RemoveAll(d.tmp)
	d.tmp = ""
	return err
}
