package ingest

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/zeebo/xxh3"
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
}

// tableWriter buffers the rows of one table per partition and writes them
// as sorted Parquet files at each commit.
type tableWriter interface {
	// add buffers rows (a []R) of object o, dropping duplicates.
	add(ctx context.Context, o *objState, rows any) error
	// buffered is the estimated memory held, in bytes.
	buffered() int64
	// detach hands the buffered partitions over to a commit: write
	// writes them as staged Parquet files, rows counts each object's rows
	// among them. The writer starts new buffers at once.
	detach() (write func(ctx context.Context, commit string) ([]committedFile, error), rows map[*objState]int64)
}

type partBuf[R any] struct {
	part Partition
	dir  string
	rows []*R // into the batches the decoders handed over: no copy
	objs []*objState
	slot map[Hash]int // buffered row of each fingerprint, made at the first duplicate
}

// keepEarlier replaces the buffered copy of fingerprint h by r when r's
// origin (object URI, then offset) sorts first, moving the duplicate count
// to the object of the copy dropped. It reports whether it replaced.
func (w *typedWriter[R, P]) keepEarlier(pb *partBuf[R], h Hash, r *R, o *objState) bool {
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
	nu, no := P(r).Origin()
	ou, oo := P(pb.rows[i]).Origin()
	if nu > ou || (nu == ou && no >= oo) {
		return false
	}
	old := pb.objs[i]
	old.pending--
	old.duplicates++
	pb.rows[i] = r
	pb.objs[i] = o
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
	sink      uint64 // keeps prefetch loads from being optimised away
}

func (s *source[R, P]) newWriter(env *writerEnv) tableWriter {
	return &typedWriter[R, P]{env: env, table: s.spec.Table, bloom: s.spec.Bloom, unindexed: s.spec.Unindexed, parts: map[string]*partBuf[R]{}}
}

func (w *typedWriter[R, P]) buffered() int64 { return w.bytes }

func (w *typedWriter[R, P]) add(ctx context.Context, o *objState, rows any) error {
	rs := rows.([]R)
	var (
		lastPart Partition
		pd       *partDedup
		pb       *partBuf[R]
		lastURI  string
		uriHash  uint64
	)
	for i := range rs {
		if i%prefetchRows == 0 && pd != nil {
			w.prefetch(pd, rs[i:min(i+prefetchRows, len(rs))])
		}
		r := P(&rs[i])
		// Rows of a batch nearly always share a partition: look its
		// fingerprint set and buffer up once.
		if part := r.LakePartition(); pd == nil || part != lastPart {
			var err error
			if pd, err = w.env.dedup.part(ctx, w.table, part); err != nil {
				return err
			}
			lastPart = part
			pb = w.parts[pd.dir]
			if i%prefetchRows == 0 {
				w.prefetch(pd, rs[i:min(i+prefetchRows, len(rs))])
			}
		}
		h := r.Fingerprint()
		uri, off := r.Origin()
		if i == 0 || uri != lastURI {
			uriHash, lastURI = xxh3.HashString(uri), uri
		}
		origin := originOf(uriHash, off)
		if prev, dup := pd.claim(h, origin); dup {
			switch {
			case prev == origin:
				o.resumed++
			case pb != nil && w.keepEarlier(pb, h, &rs[i], o):
				// This copy comes first in (object, offset) order and
				// replaced the buffered one, so the copy kept does not
				// depend on which worker read first.
				pd.table.put(h, origin)
			default:
				o.duplicates++
			}
			continue
		}
		if pb == nil {
			pb = &partBuf[R]{part: lastPart, dir: pd.dir}
			w.parts[pd.dir] = pb
		}
		if pb.slot != nil {
			pb.slot[h] = len(pb.rows)
		}
		pb.rows = append(pb.rows, &rs[i])
		pb.objs = append(pb.objs, o)
		o.pending++
		w.bytes += int64(rowMemSize[R, P](&rs[i])) + 16
	}
	return nil
}

// prefetchRows is how many rows' fingerprint slots are touched ahead of
// their inserts.
const prefetchRows = 256

// prefetch reads the fingerprint-table slots the rows will probe, so
// that their cache misses overlap rather than stall one insert after
// another (the table of a big partition is far larger than the cache).
func (w *typedWriter[R, P]) prefetch(pd *partDedup, rs []R) {
	slots := pd.table.slots
	if len(slots) == 0 {
		return
	}
	mask := uint64(len(slots) - 1)
	var x uint64
	for i := range rs {
		x ^= slots[fpKey(P(&rs[i]).Fingerprint()).Lo&mask].origin
	}
	w.sink ^= x
}

func (w *typedWriter[R, P]) detach() (func(ctx context.Context, commit string) ([]committedFile, error), map[*objState]int64) {
	parts := w.parts
	w.parts = map[string]*partBuf[R]{}
	w.bytes = 0
	rows := map[*objState]int64{}
	keys := make([]string, 0, len(parts))
	for k, pb := range parts {
		keys = append(keys, k)
		for _, o := range pb.objs {
			rows[o]++
		}
		pb.objs, pb.slot = nil, nil
	}
	slices.Sort(keys)
	write := func(ctx context.Context, commit string) ([]committedFile, error) {
		files := make([]committedFile, len(keys))
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
		return files, nil
	}
	return write, rows
}

// writePart sorts one partition buffer by time, then source, then offset,
// and writes it as one zstd Parquet file into staging.
func (w *typedWriter[R, P]) writePart(ctx context.Context, pb *partBuf[R], commit string) (committedFile, error) {
	rows := pb.rows
	pb.rows = nil
	slices.SortFunc(rows, func(a, b *R) int {
		if c := cmp.Compare(P(a).SortTime(), P(b).SortTime()); c != 0 {
			return c
		}
		ua, oa := P(a).Origin()
		ub, ob := P(b).Origin()
		if c := cmp.Compare(ua, ub); c != 0 {
			return c
		}
		return cmp.Compare(oa, ob)
	})

	name := commit + ".parquet"
	rel := path.Join(pb.dir, name)
	staged := path.Join(w.env.stage, "data", pb.dir, name)
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
	_, err = pw.Write(f, rows, []columnar.KeyValue{
		{Key: "leakscope.version", Value: w.env.toolVersion},
		{Key: "leakscope.run", Value: w.env.run},
		{Key: "leakscope.commit", Value: commit},
		{Key: "leakscope.table", Value: w.table},
	})
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
