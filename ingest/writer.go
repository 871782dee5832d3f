package ingest

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/leakscope/leakscope/ingest/columnar"
)

// writerEnv is what every table writer of a run shares. It is owned by the
// single writer goroutine of the run.
type writerEnv struct {
	fs          lakeFS
	stage       string // staging folder of this run, relative to the lake root
	dedup       *dedupIndex
	toolVersion string
	run         string
	workers     int
	rowGroup    int64
	spillDir    string // local folder of files in progress (see spill.go)
}

// dataPaths returns where a data file of partition folder dir goes in
// the lake and in staging, both relative to the lake root.
func (e *writerEnv) dataPaths(dir, name string) (rel, staged string) {
	return path.Join(dir, name), path.Join(e.stage, "data", dir, name)
}

// tableWriter buffers the rows of one table per partition and writes them
// as sorted Parquet files at each commit.
type tableWriter interface {
	// add buffers rows (a []R) of object o, dropping duplicates.
	add(ctx context.Context, o *objState, rows any) error
	// buffered is the estimated memory held, in bytes.
	buffered() int64
	// spilled reports whether rows were spilled since the last detach.
	spilled() bool
	// detach hands the buffered partitions over to a commit: write
	// writes them as staged Parquet files, rows counts each object's rows
	// among them. The writer starts new buffers at once.
	detach() (write func(ctx context.Context, commit string) ([]committedFile, error), rows map[*objState]int64)
	// spill hands the rows of the partitions holding at least least
	// bytes, and of the next biggest while more than keep bytes stay
	// buffered, over to write, which appends them to their partitions'
	// files in progress in dir; the rows stay pending until the commit
	// that detaches their partitions. Their memory is off buffered at
	// once (free once write has run).
	spill(dir string, keep, least int64) (write func() error, err error)
}

type partBuf[R any] struct {
	part  Partition
	dir   string
	rows  []*R      // into the batches the decoders handed over: no copy
	keys  []sortKey // each row's sort key and object, parallel to rows
	objs  []*objState
	objN  map[*objState]uint32 // index of each object in objs
	slot  map[Hash]int         // buffered row of each fingerprint, made at the first duplicate
	bytes int64                // the memory of the rows buffered, as typedWriter.bytes counts it
	// piles hold the rows spilled since the last commit, counts the
	// number of them of each object in objs.
	piles  []*spillFile
	counts []int64
}

// sortKey orders a buffered row without reading it: its time, its source
// offset and its object (an index into partBuf.objs).
type sortKey struct {
	t, off int64
	obj    uint32
}

// objIndex returns o's index in pb.objs, adding it.
func (pb *partBuf[R]) objIndex(o *objState) uint32 {
	if i, ok := pb.objN[o]; ok {
		return i
	}
	if pb.objN == nil {
		pb.objN = map[*objState]uint32{}
	}
	i := uint32(len(pb.objs))
	pb.objs = append(pb.objs, o)
	pb.objN[o] = i
	return i
}

// keepEarlier replaces the buffered copy of fingerprint h by r when r's
// origin (object URI, then offset) sorts first, moving the duplicate count
// to the object of the copy dropped. It reports whether it replaced.
func (w *typedWriter[R, P]) keepEarlier(pb *partBuf[R], h Hash, r *R, o *objState, m *rowMeta) bool {
	if pb.slot == nil {
		// The first duplicate of this buffer: index it now (most
		// buffers never need to).
		pb.slot = make(map[Hash]int, len(pb.rows))
		for i, r := range pb.rows {
			pb.slot[P(r).Fingerprint()] = i
		}
	}
	i, ok := pb.slot[h]
	if !ok {
		return false
	}
	k := &pb.keys[i]
	old := pb.objs[k.obj]
	if nu, ou := o.obj.URI, old.obj.URI; nu > ou || (nu == ou && m.off >= k.off) {
		return false
	}
	old.pending--
	old.duplicates++
	pb.rows[i] = r
	*k = sortKey{t: m.t, off: m.off, obj: pb.objIndex(o)}
	o.pending++
	return true
}

type typedWriter[R any, P rowPtr[R]] struct {
	mu        sync.Mutex
	free      []*columnar.Writer[R]
	unindexed []string
	env       *writerEnv
	table     string
	bloom     []string
	parts     map[string]*partBuf[R]
	bytes     int64
	spills    bool   // rows were spilled since the last detach
	sink      uint64 // keeps prefetch loads from being optimised away
}

func (s *source[R, P]) newWriter(env *writerEnv) tableWriter {
	return &typedWriter[R, P]{env: env, table: s.spec.Table, bloom: s.spec.Bloom, unindexed: s.spec.Unindexed, parts: map[string]*partBuf[R]{}}
}

func (w *typedWriter[R, P]) buffered() int64 { return w.bytes }

func (w *typedWriter[R, P]) spilled() bool { return w.spills }

// add buffers a batch (a *batch[R]) of object o. It reads only the
// batch's compact per-row metadata, never the rows themselves (except to
// index a buffer at its first duplicate).
func (w *typedWriter[R, P]) add(ctx context.Context, o *objState, rows any) error {
	b := rows.(*batch[R])
	kept := 0
	type share struct {
		pb   *partBuf[R]
		kept int
	}
	var shares []share
	// Rows of a batch may alternate between a few partitions (access
	// logs of one bucket across regions or days): each partition's
	// lookups are done once per batch, not once per run of rows. Within
	// one add the duplicate index drops no partition (see dedupIndex).
	type partRef struct {
		pd *partDedup
		pb *partBuf[R]
		oi uint32
	}
	var refs map[Partition]*partRef
	if len(b.parts) > 1 {
		refs = make(map[Partition]*partRef, 4)
	}
	for ri, run := range b.parts {
		runKept := kept
		end := len(b.meta)
		if ri+1 < len(b.parts) {
			end = b.parts[ri+1].start
		}
		ref := refs[run.part]
		if ref == nil {
			pd, err := w.env.dedup.part(ctx, w.table, run.part)
			if err != nil {
				return err
			}
			ref = &partRef{pd: pd, pb: w.parts[pd.dir]}
			if ref.pb != nil {
				ref.oi = ref.pb.objIndex(o)
			}
			if refs != nil {
				refs[run.part] = ref
			}
		}
		pd, pb, oi := ref.pd, ref.pb, ref.oi
		for i := run.start; i < end; i++ {
			if (i-run.start)%prefetchRows == 0 {
				w.prefetch(pd, b.meta[i:min(i+prefetchRows, end)])
			}
			m := &b.meta[i]
			prev, dup, err := pd.claim(m.h, m.origin)
			if err != nil {
				return err
			}
			if dup {
				switch {
				case prev == m.origin:
					o.resumed++
				case pb != nil && w.keepEarlier(pb, m.h, &b.rows[i], o, m):
					// This copy comes first in (object, offset) order and
					// replaced the buffered one, so the copy kept does not
					// depend on which worker read first.
					pd.replace(m.h, m.origin)
					kept++
				default:
					o.duplicates++
				}
				continue
			}
			if pb == nil {
				pb = &partBuf[R]{part: run.part, dir: pd.dir}
				w.parts[pd.dir] = pb
				oi = pb.objIndex(o)
				ref.pb, ref.oi = pb, oi
			}
			if pb.slot != nil {
				pb.slot[m.h] = len(pb.rows)
			}
			pb.rows = append(pb.rows, &b.rows[i])
			pb.keys = append(pb.keys, sortKey{t: m.t, off: m.off, obj: oi})
			o.pending++
			kept++
		}
		if kept > runKept {
			shares = append(shares, share{pb, kept - runKept})
		}
	}
	// The batch stays in memory while any of its rows is buffered, so
	// its duplicates count too; a batch of nothing but duplicates (a
	// forced re-run) is garbage, and counts for nothing. Its partitions
	// share its bytes by the rows they keep.
	if kept > 0 {
		w.bytes += b.bytes
		left := b.bytes
		for i, s := range shares {
			n := b.bytes * int64(s.kept) / int64(kept)
			if i == len(shares)-1 {
				n = left
			}
			s.pb.bytes += n
			left -= n
		}
	}
	return nil
}

// prefetchRows is how many rows' fingerprint slots are touched ahead of
// their inserts.
const prefetchRows = 256

// prefetch reads the fingerprint-table slots the rows will probe (and
// the Bloom filter blocks, once the partition has spilled), so that
// their cache misses overlap rather than stall one insert after another
// (the table of a big partition is far larger than the cache).
func (w *typedWriter[R, P]) prefetch(pd *partDedup, meta []rowMeta) {
	slots := pd.table.slots
	if len(slots) == 0 {
		return
	}
	mask := uint64(len(slots) - 1)
	var x uint64
	for i := range meta {
		x ^= slots[fpKey(meta[i].h).Lo&mask].origin
	}
	if c := pd.cold; c != nil {
		for i := range meta {
			x ^= c.filter.touch(meta[i].h)
		}
	}
	w.sink ^= x
}

func (w *typedWriter[R, P]) detach() (func(ctx context.Context, commit string) ([]committedFile, error), map[*objState]int64) {
	parts := w.parts
	w.parts = map[string]*partBuf[R]{}
	w.bytes, w.spills = 0, false
	rows := map[*objState]int64{}
	keys := make([]string, 0, len(parts))
	for k, pb := range parts {
		keys = append(keys, k)
		n := make([]int64, len(pb.objs))
		copy(n, pb.counts)
		for _, k := range pb.keys {
			n[k.obj]++
		}
		for i, o := range pb.objs {
			if n[i] > 0 {
				rows[o] += n[i]
			}
		}
		pb.objN, pb.slot = nil, nil
	}
	slices.Sort(keys)
	write := func(ctx context.Context, commit string) ([]committedFile, error) {
		files := make([][]committedFile, len(keys))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, w.env.workers))
		for i, k := range keys {
			pb := parts[k]
			g.Go(func() error {
				f, err := w.writePart(gctx, pb, commit)
				files[i] = f
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return slices.Concat(files...), nil
	}
	return write, rows
}

// writePart sorts one partition buffer by time, then source, then offset,
// and writes it as zstd Parquet into staging: one file, or with spilled
// rows one per pile (see spill.go).
func (w *typedWriter[R, P]) writePart(ctx context.Context, pb *partBuf[R], commit string) ([]committedFile, error) {
	if len(pb.piles) > 0 {
		return w.finishPart(ctx, pb, commit)
	}
	f, err := w.writeFile(ctx, pb, commit)
	if err != nil {
		return nil, err
	}
	return []committedFile{f}, nil
}

// writeFile writes pb's rows, sorted, as one file.
func (w *typedWriter[R, P]) writeFile(ctx context.Context, pb *partBuf[R], commit string) (committedFile, error) {
	rows := sortRows(pb)
	pb.rows, pb.keys, pb.objs = nil, nil, nil

	rel, staged := w.env.dataPaths(pb.dir, commit+".parquet")
	f, err := w.env.fs.Create(ctx, staged)
	if err != nil {
		return committedFile{}, fmt.Errorf("create %s: %w", staged, err)
	}
	pw, err := w.getWriter()
	if err != nil {
		f.Abort()
		return committedFile{}, err
	}
	if err := ctx.Err(); err != nil {
		f.Abort()
		return committedFile{}, err
	}
	_, err = pw.Write(f, rows, w.fileMeta(commit))
	w.putWriter(pw)
	if err != nil {
		f.Abort()
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	// Durable (local: fsynced; S3: upload complete) before the commit
	// record names it.
	size, err := f.Commit()
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	return committedFile{Path: rel, Staged: staged, Table: w.table, Rows: int64(len(rows)), Bytes: size}, nil
}

func (w *typedWriter[R, P]) fileMeta(commit string) []columnar.KeyValue {
	return []columnar.KeyValue{
		{Key: "leakscope.version", Value: w.env.toolVersion},
		{Key: "leakscope.run", Value: w.env.run},
		{Key: "leakscope.commit", Value: commit},
		{Key: "leakscope.table", Value: w.table},
	}
}

// getWriter takes a Parquet writer from the pool or makes one: writers
// keep their column buffers from file to file.
func (w *typedWriter[R, P]) getWriter() (*columnar.Writer[R], error) {
	w.mu.Lock()
	if n := len(w.free); n > 0 {
		pw := w.free[n-1]
		w.free = w.free[:n-1]
		w.mu.Unlock()
		return pw, nil
	}
	w.mu.Unlock()
	return columnar.NewWriter[R](columnar.Options{
		RowGroupRows: int(w.env.rowGroup),
		Bloom:        w.bloom,
		Unindexed:    w.unindexed,
		SortedBy:     sortColumn(w.table),
		CreatedBy:    "leakscope version " + w.env.toolVersion,
		// A commit often holds one big partition: its columns are
		// encoded on every core rather than on one.
		Parallel: w.env.workers,
	})
}

func (w *typedWriter[R, P]) putWriter(pw *columnar.Writer[R]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.free = append(w.free, pw)
}

// sortColumn is the time column each table is sorted by.
func sortColumn(table string) string {
	switch table {
	case "vpc_flow":
		return "start_time"
	default:
		return "event_time"
	}
}

// sortRows returns the rows of pb ordered by time, then source URI, then
// offset, sorting their compact keys rather than the rows.
func sortRows[R any](pb *partBuf[R]) []*R { return inOrder(pb, sortOrder(pb)) }

// inOrder returns pb's rows at the indexes order lists.
func inOrder[R any](pb *partBuf[R], order []uint32) []*R {
	out := make([]*R, len(order))
	for i, j := range order {
		out[i] = pb.rows[j]
	}
	return out
}

// sortOrder returns the indexes of pb's rows in sortRows order.
func sortOrder[R any](pb *partBuf[R]) []uint32 {
	// Objects ranked by URI stand for their URIs in the keys.
	byURI := make([]uint32, len(pb.objs))
	for i := range byURI {
		byURI[i] = uint32(i)
	}
	slices.SortFunc(byURI, func(a, b uint32) int { return strings.Compare(pb.objs[a].obj.URI, pb.objs[b].obj.URI) })
	rank := make([]uint32, len(pb.objs))
	for r, i := range byURI {
		rank[i] = uint32(r)
	}
	type entry struct {
		t, off    int64
		rank, row uint32
	}
	ord := make([]entry, len(pb.keys))
	for i, k := range pb.keys {
		ord[i] = entry{t: k.t, off: k.off, rank: rank[k.obj], row: uint32(i)}
	}
	slices.SortFunc(ord, func(a, b entry) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	})
	out := make([]uint32, len(ord))
	for i, e := range ord {
		out[i] = e.row
	}
	return out
}
