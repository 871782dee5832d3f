package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
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
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(offset))
	return xxh3.HashString(uri) ^ xxh3.Hash(b[:])*0x9E3779B97F4A7C15
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

// partDedup is the fingerprint set of one partition.
type partDedup struct {
	dir    string // relative to the lake root
	base   []dedupEntry
	recent map[Hash]uint64 // added since the last hand-over to a commit
	// inflight holds what the commit under way publishes; it joins base
	// when that commit lands.
	inflight []dedupEntry
	used     int64 // LRU clock
}

func (p *partDedup) lookup(h Hash) (uint64, bool) {
	if o, ok := p.recent[h]; ok {
		return o, true
	}
	if i, ok := slices.BinarySearchFunc(p.inflight, dedupEntry{h: h}, compareEntry); ok {
		return p.inflight[i].origin, true
	}
	i, ok := slices.BinarySearchFunc(p.base, dedupEntry{h: h}, compareEntry)
	if ok {
		return p.base[i].origin, true
	}
	return 0, false
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
	pd := &partDedup{dir: key, recent: map[Hash]uint64{}, used: d.clock}
	base, err := loadSegments(ctx, d.fs, path.Join(dedupDir, key))
	if err != nil {
		return nil, fmt.Errorf("load duplicate index of %s: %w", key, err)
	}
	pd.base = base
	d.entries += len(base)
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
	slices.SortFunc(out, compareEntry)
	return out, nil
}

// detachSegments hands the fingerprints added since the last hand-over
// to a commit: write stages one segment per partition; the fingerprints
// stay visible to lookups (in flight) until land merges them.
func (d *dedupIndex) detachSegments(stageRoot string) func(ctx context.Context, commit string) ([]committedFile, error) {
	type seg struct {
		key string
		buf []byte
	}
	var segs []seg
	keys := make([]string, 0, len(d.parts))
	for k, pd := range d.parts {
		if len(pd.recent) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		pd := d.parts[k]
		add := make([]dedupEntry, 0, len(pd.recent))
		for h, o := range pd.recent {
			add = append(add, dedupEntry{h: h, origin: o})
		}
		slices.SortFunc(add, compareEntry)
		buf := make([]byte, 0, len(add)*dedupEntrySize)
		for _, e := range add {
			buf = binary.LittleEndian.AppendUint64(buf, e.h.Hi)
			buf = binary.LittleEndian.AppendUint64(buf, e.h.Lo)
			buf = binary.LittleEndian.AppendUint64(buf, e.origin)
		}
		pd.inflight = add
		clear(pd.recent)
		segs = append(segs, seg{k, buf})
	}
	return func(ctx context.Context, commit string) ([]committedFile, error) {
		var files []committedFile
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, s := range segs {
			rel := path.Join(dedupDir, s.key, commit+".idx")
			staged := path.Join(stageRoot, "dedup", s.key, commit+".idx")
			g.Go(func() error { return d.fs.WriteFile(gctx, staged, s.buf) })
			files = append(files, committedFile{Path: rel, Staged: staged})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return files, nil
	}
}

// land merges the fingerprints of the commit that just landed into the
// base sets and evicts idle partitions over budget.
func (d *dedupIndex) land() {
	for _, pd := range d.parts {
		if len(pd.inflight) > 0 {
			pd.base = mergeSorted(pd.base, pd.inflight)
			d.entries += len(pd.inflight)
			pd.inflight = nil
		}
	}
	d.evict()
}

func mergeSorted(a, b []dedupEntry) []dedupEntry {
	out := make([]dedupEntry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if compareEntry(a[i], b[j]) <= 0 {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// evict drops the least recently used partitions without pending
// fingerprints until the index is within its budget.
func (d *dedupIndex) evict() {
	for d.entries > d.maxEntries {
		var victim string
		var oldest int64 = 1<<63 - 1
		for k, pd := range d.parts {
			if len(pd.recent) == 0 && len(pd.inflight) == 0 && pd.used < oldest {
				victim, oldest = k, pd.used
			}
		}
		if victim == "" {
			return
		}
		d.entries -= len(d.parts[victim].base)
		delete(d.parts, victim)
	}
}
