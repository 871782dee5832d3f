package ingest

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go"
	pzstd "github.com/parquet-go/parquet-go/compress/zstd"
	"golang.org/x/sync/errgroup"
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
	slot map[Hash]int // buffered row of each fingerprint
}

// keepEarlier replaces the buffered copy of fingerprint h by r when r's
// origin (object URI, then offset) sorts first, moving the duplicate count
// to the object of the copy dropped. It reports whether it replaced.
func (w *typedWriter[R, P]) keepEarlier(pb *partBuf[R], h Hash, r *R, o *objState) bool {
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
	free      []*parquet.GenericWriter[R]
	unindexed []string
	env       *writerEnv
	table     string
	bloom     []string
	parts     map[string]*partBuf[R]
	bytes     int64
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
	)
	for i := range rs {
		r := P(&rs[i])
		// Rows of a batch nearly always share a partition: look its
		// fingerprint set up once.
		if part := r.LakePartition(); pd == nil || part != lastPart {
			var err error
			if pd, err = w.env.dedup.part(ctx, w.table, part); err != nil {
				return err
			}
			lastPart = part
		}
		part := lastPart
		h := r.Fingerprint()
		uri, off := r.Origin()
		origin := originHash(uri, off)
		pb := w.parts[pd.dir]
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
			pb = &partBuf[R]{part: part, dir: pd.dir, slot: map[Hash]int{}}
			w.parts[pd.dir] = pb
		}
		pb.slot[h] = len(pb.rows)
		pb.rows = append(pb.rows, &rs[i])
		pb.objs = append(pb.objs, o)
		o.pending++
		w.bytes += int64(rowMemSize[R, P](&rs[i])) + 16
	}
	return nil
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
	slices.SortStableFunc(rows, func(a, b *R) int {
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
	opts := []parquet.WriterOption{
		parquet.Compression(&pzstd.Codec{Level: pzstd.SpeedFastest, Concurrency: 1}),
		parquet.MaxRowsPerRowGroup(w.env.rowGroup),
		parquet.CreatedBy("leakscope", w.env.toolVersion, ""),
		parquet.KeyValueMetadata("leakscope.version", w.env.toolVersion),
		parquet.KeyValueMetadata("leakscope.run", w.env.run),
		parquet.KeyValueMetadata("leakscope.commit", commit),
		parquet.KeyValueMetadata("leakscope.table", w.table),
	}
	if sortCol := sortColumn(w.table); sortCol != "" {
		opts = append(opts, parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(sortCol))))
	}
	if len(w.bloom) > 0 {
		var bf []parquet.BloomFilterColumn
		for _, c := range w.bloom {
			bf = append(bf, parquet.SplitBlockFilter(10, c))
		}
		opts = append(opts, parquet.BloomFilters(bf...))
	}
	if len(w.unindexed) > 0 {
		for _, c := range w.unindexed {
			opts = append(opts, parquet.SkipPageBounds(c))
		}
	}
	// Writers are reused across files: their column buffers are the
	// biggest allocation of a commit.
	pw := w.getWriter()
	if pw == nil {
		pw = parquet.NewGenericWriter[R](f, opts...)
	} else {
		pw.Reset(f)
		pw.SetKeyValueMetadata("leakscope.commit", commit)
	}
	const chunk = 4096
	buf := make([]R, 0, min(chunk, len(rows)))
	for i := 0; i < len(rows); i += chunk {
		if err := ctx.Err(); err != nil {
			f.Abort()
			return committedFile{}, err
		}
		buf = buf[:0]
		for _, r := range rows[i:min(i+chunk, len(rows))] {
			buf = append(buf, *r)
		}
		if _, err := pw.Write(buf); err != nil {
			f.Abort()
			return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
		}
	}
	if err := pw.Close(); err != nil {
		f.Abort()
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	w.putWriter(pw)
	// Durable (local: fsynced; S3: upload complete) before the commit
	// record names it.
	size, err := f.Commit()
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	return committedFile{Path: rel, Staged: staged, Table: w.table, Rows: int64(len(rows)), Bytes: size}, nil
}

func (w *typedWriter[R, P]) getWriter() *parquet.GenericWriter[R] {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.free); n > 0 {
		pw := w.free[n-1]
		w.free = w.free[:n-1]
		return pw
	}
	return nil
}

func (w *typedWriter[R, P]) putWriter(pw *parquet.GenericWriter[R]) {
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
