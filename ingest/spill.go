package ingest

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/leakscope/leakscope/ingest/columnar"
)

// Spilling. When the rows buffered for the lake reach their memory budget
// before a commit is due, each partition's rows are sorted and encoded as
// a row group appended to that partition's Parquet file in progress, a
// local scratch file, and their memory is freed. The commit appends the
// rows still buffered, writes the footer and copies the file into
// staging: a partition gets one file per commit instead of one per
// budget's worth of rows, and no row is encoded twice. Each row group is
// sorted by time (then source, then offset); row groups follow each other
// in the order their rows were read. Files in progress are scratch: a
// crash loses them with the uncommitted rows, which a re-run reads again.

// spillFile is a partition's Parquet file in progress.
type spillFile struct {
	path  string
	state *columnar.FileState
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
		snap partBuf[R]
		file *spillFile
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
		if pb.file == nil {
			pb.file = &spillFile{}
		}
		for len(pb.counts) < len(pb.objs) {
			pb.counts = append(pb.counts, 0)
		}
		for _, k := range pb.keys {
			pb.counts[k.obj]++
		}
		// The job sees the objects known now; objs only grows.
		jobs = append(jobs, &job{snap: partBuf[R]{dir: pb.dir, rows: pb.rows, keys: pb.keys, objs: pb.objs[:len(pb.objs):len(pb.objs)]}, file: pb.file})
		pb.rows, pb.keys, pb.slot = nil, nil, nil
		w.bytes -= pb.bytes
		pb.bytes = 0
	}
	w.spills = w.spills || len(jobs) > 0
	return func() error {
		g := errgroup.Group{}
		g.SetLimit(max(1, w.env.workers))
		for _, j := range jobs {
			g.Go(func() error { return w.appendRows(dir, j.file, &j.snap) })
		}
		return g.Wait()
	}, nil
}

// appendRows sorts pb's rows and appends them to f, creating it in dir
// the first time.
func (w *typedWriter[R, P]) appendRows(dir string, f *spillFile, pb *partBuf[R]) (err error) {
	rows := sortRows(pb)
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
		return fmt.Errorf("spill rows of %s: %w", pb.dir, err)
	}
	defer func() {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("spill rows of %s: %w", pb.dir, cerr)
		}
	}()
	pw, err := w.getWriter()
	if err != nil {
		return err
	}
	defer w.putWriter(pw)
	bw := bufio.NewWriterSize(file, 1<<20)
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
		return fmt.Errorf("spill rows of %s: %w", pb.dir, err)
	}
	return nil
}

// finishPart writes pb's rows still buffered into its file in progress,
// ends the file and copies it into staging.
func (w *typedWriter[R, P]) finishPart(ctx context.Context, pb *partBuf[R], commit string) (committedFile, error) {
	defer os.Remove(pb.file.path)
	name := commit + ".parquet"
	rel := path.Join(pb.dir, name)
	staged := path.Join(w.env.stage, "data", pb.dir, name)
	src, err := os.OpenFile(pb.file.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	defer src.Close()
	pw, err := w.getWriter()
	if err != nil {
		return committedFile{}, err
	}
	bw := bufio.NewWriterSize(src, 1<<20)
	pw.Resume(bw, pb.file.state)
	rows := int64(len(pb.rows)) + pb.file.state.Rows()
	if len(pb.rows) > 0 {
		err = pw.WriteRows(sortRows(pb))
	}
	pb.rows, pb.keys, pb.objs = nil, nil, nil
	if err == nil {
		_, err = pw.End(w.fileMeta(commit))
	} else {
		pw.Suspend()
	}
	w.putWriter(pw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return committedFile{}, fmt.Errorf("write %s: %w", rel, err)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
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
