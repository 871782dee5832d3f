package ingest

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/leakscope/leakscope/ingest/columnar"
)

// Spilling. When the rows buffered for the lake reach their memory budget
// before a commit is due, the partitions holding the most rows are sorted
// and encoded as row groups appended to Parquet files in progress, local
// scratch files, and their memory is freed. The commit appends the rows
// still buffered, writes the footers and copies the files into staging: a
// partition gets a file or a few per commit instead of one per budget's
// worth of rows, and no row is encoded twice.
//
// Every file stays sorted by time as a whole: a partition's files in
// progress are piles (as in patience sorting), each holding rows no
// earlier than the rows before them. Sorted rows go to the pile whose
// last time is the latest not after theirs, a new pile when none is:
// logs read roughly in time order (CloudTrail's, whose objects are named
// by delivery time, with events a few minutes late) fill one pile and a
// pile of late events; logs in no order at all get a pile per spill, as
// many files as without spilling. Files in progress are scratch: a crash
// loses them with the uncommitted rows, which a re-run reads again.

// bufWriters holds the buffers of writes to files in progress: a spill
// writes to dozens of them.
var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

func getBufWriter(w io.Writer) *bufio.Writer {
	bw := bufWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw
}

// putBufWriter returns bw, flushed or abandoned, to the pool, without
// its file.
func putBufWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	bufWriters.Put(bw)
}

// spillFile is a partition's Parquet file in progress.
type spillFile struct {
	path  string
	state *columnar.FileState
	last  int64 // time of its last row
}

// spill detaches the buffered rows of every partition holding at least
// least bytes, and of the next biggest ones while more than keep bytes
// stay: write encodes them into the partitions' files in progress, in
// dir. Partitions with few rows wait for more, so that row groups are not
// cut small when many partitions share the budget. The partitions stay,
// with their objects and the counts of their rows already written, until
// a commit detaches them.
func (w *typedWriter[R, P]) spill(dir string, keep, least int64) (func() error, error) {
	type job struct {
		snap  partBuf[R]
		piles *[]*spillFile
	}
	big := make([]*partBuf[R], 0, len(w.parts))
	for _, pb := range w.parts {
		if len(pb.rows) > 0 {
			big = append(big, pb)
		}
	}
	slices.SortFunc(big, func(a, b *partBuf[R]) int {
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		return strings.Compare(a.dir, b.dir)
	})
	var jobs []*job
	for _, pb := range big {
		if w.bytes <= keep && pb.bytes < least {
			break
		}
		for len(pb.counts) < len(pb.objs) {
			pb.counts = append(pb.counts, 0)
		}
		for _, k := range pb.keys {
			pb.counts[k.obj]++
		}
		// The job sees the objects known now (objs only grows) and, once
		// the previous spill has landed, owns the piles until it lands.
		jobs = append(jobs, &job{snap: partBuf[R]{dir: pb.dir, rows: pb.rows, keys: pb.keys, objs: pb.objs[:len(pb.objs):len(pb.objs)]}, piles: &pb.piles})
		// The next rows of a busy partition come in the same numbers:
		// room for them at once spares growing the slices by doubling.
		pb.rows, pb.keys, pb.slot = make([]*R, 0, len(pb.rows)), make([]sortKey, 0, len(pb.keys)), nil
		w.bytes -= pb.bytes
		pb.bytes = 0
	}
	w.spills = w.spills || len(jobs) > 0
	return func() error {
		g := errgroup.Group{}
		g.SetLimit(max(1, w.env.workers))
		for _, j := range jobs {
			g.Go(func() error { return w.pileRows(dir, j.piles, &j.snap) })
		}
		return g.Wait()
	}, nil
}

// pileRows sorts pb's rows and appends them to its piles, a row group
// per pile, starting new piles (files in dir) as needed.
func (w *typedWriter[R, P]) pileRows(dir string, piles *[]*spillFile, pb *partBuf[R]) error {
	order := sortOrder(pb)
	rows := inOrder(pb, order)
	// Piles by last time, latest first; as the rows' times rise, the
	// pile they go to moves towards the front.
	byLast := slices.Clone(*piles)
	slices.SortStableFunc(byLast, func(a, b *spillFile) int { return cmp.Compare(b.last, a.last) })
	t := func(i int) int64 { return pb.keys[order[i]].t }
	// Rows before every pile's last time start a new pile.
	start := 0
	for start < len(rows) && (len(byLast) == 0 || t(start) < byLast[len(byLast)-1].last) {
		start++
	}
	if start > 0 {
		f := &spillFile{}
		*piles = append(*piles, f)
		if err := w.appendRows(dir, f, pb.dir, rows[:start], t(start-1)); err != nil {
			return err
		}
	}
	k := len(byLast) - 1
	for start < len(rows) {
		for k > 0 && t(start) >= byLast[k-1].last {
			k--
		}
		end := start + 1
		for end < len(rows) && (k == 0 || t(end) < byLast[k-1].last) {
			end++
		}
		if err := w.appendRows(dir, byLast[k], pb.dir, rows[start:end], t(end-1)); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// appendRows appends rows, sorted, to the pile f as one row group (of at
// most Options.RowGroupRows), creating its file in dir the first time;
// last is the time of the last row.
func (w *typedWriter[R, P]) appendRows(dir string, f *spillFile, part string, rows []*R, last int64) (err error) {
	var file *os.File
	if f.path == "" {
		file, err = os.CreateTemp(dir, "part-*.parquet")
		if err == nil {
			f.path = file.Name()
		}
	} else {
		file, err = os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err != nil {
		return fmt.Errorf("spill rows of %s: %w", part, err)
	}
	defer func() {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("spill rows of %s: %w", part, cerr)
		}
	}()
	pw, err := w.getWriter()
	if err != nil {
		return err
	}
	defer w.putWriter(pw)
	bw := getBufWriter(file)
	defer putBufWriter(bw)
	if f.state == nil {
		err = pw.Begin(bw)
	} else {
		pw.Resume(bw, f.state)
	}
	if err == nil {
		err = pw.WriteRows(rows)
	}
	f.state = pw.Suspend()
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("spill rows of %s: %w", part, err)
	}
	f.last = last
	return nil
}

// finishPart piles pb's rows still buffered, ends its piles and copies
// them into staging: <commit>.parquet, then <commit>-1.parquet and so on
// in the order the piles were started.
func (w *typedWriter[R, P]) finishPart(ctx context.Context, pb *partBuf[R], commit string) ([]committedFile, error) {
	defer func() {
		for _, f := range pb.piles {
			if f.path != "" {
				os.Remove(f.path)
			}
		}
	}()
	if len(pb.rows) > 0 {
		if err := w.pileRows(w.env.spillDir, &pb.piles, pb); err != nil {
			return nil, err
		}
	}
	pb.rows, pb.keys, pb.objs = nil, nil, nil
	var out []committedFile
	for i, f := range pb.piles {
		name := commit + ".parquet"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.parquet", commit, i)
		}
		cf, err := w.endPile(ctx, f, pb.dir, name, commit)
		if err != nil {
			return nil, err
		}
		out = append(out, cf)
	}
	return out, nil
}

// endPile writes the footer of the pile f and copies it into staging as
// part/name.
func (w *typedWriter[R, P]) endPile(ctx context.Context, f *spillFile, part, name, commit string) (committedFile, error) {
	rel, staged := w.env.dataPaths(part, name)
	src, err := os.OpenFile(f.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	defer src.Close()
	pw, err := w.getWriter()
	if err != nil {
		return committedFile{}, err
	}
	bw := getBufWriter(src)
	defer putBufWriter(bw)
	rows := f.state.Rows()
	pw.Resume(bw, f.state)
	_, err = pw.End(w.fileMeta(commit))
	w.putWriter(pw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = src.Seek(0, io.SeekStart)
	}
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	dst, err := w.env.fs.Create(ctx, staged)
	if err != nil {
		return committedFile{}, fmt.Errorf("create %s: %w", staged, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Abort()
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	// Durable (local: fsynced; S3: upload complete) before the commit
	// record names it.
	size, err := dst.Commit()
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	return committedFile{Path: rel, Staged: staged, Table: w.table, Rows: rows, Bytes: size}, nil
}
