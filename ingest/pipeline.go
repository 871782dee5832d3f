package ingest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Config is one ingest run.
type Config struct {
	Lake    string   // lake root: a folder or s3://bucket/prefix
	Sources []Source // every source the run may use, in sniffing priority
	// Type forces one source by name; "" or "auto" detects per object.
	Type    string
	Workers int  // objects decoded at once; 0 = number of CPUs
	Force   bool // re-ingest objects the manifest already holds
	// MemoryBudget bounds the estimated bytes of rows buffered before a
	// commit writes them out; 0 = 64 MiB.
	MemoryBudget int64
	// SpillBytes is how many bytes of rows (estimated as MemoryBudget is)
	// may be spilled, encoded, into partitions' files in progress before
	// a commit is due (also due once the rows spilled hold DedupEntries/2
	// new fingerprints); 0 = 4 GiB, negative = never (a commit, and so a
	// file per partition, per MemoryBudget/2). Files in progress are in
	// the lake's staging folder, or the temporary folder when the lake is
	// on S3.
	SpillBytes int64
	// DedupEntries bounds the fingerprints the duplicate index keeps in
	// memory (more spill to TMPDIR, see dedup.go); 0 = 2 million.
	DedupEntries int
	// CommitEvery commits at least this often while rows are buffered, to
	// bound the work an interrupted run repeats; 0 = 2 minutes.
	CommitEvery time.Duration
	// RowGroupRows is the Parquet row group size; 0 = 131072.
	RowGroupRows int64
	// Account and Region are partition fallbacks for objects whose key
	// layout and content do not say.
	Account string
	Region  string
	// Select narrows the objects of the run: delivery days, accounts,
	// regions and a shard.
	Select Selection
	// S3 configures the client for s3:// sources and lakes.
	S3 S3Config
	// Options are passed to decoders (for example "flow-format").
	Options     map[string]string
	ToolVersion string
	Log         *slog.Logger
	// OnProgress, when set, is called about twice a second.
	OnProgress func(Progress)
}

func (c *Config) defaults() error {
	if c.Lake == "" {
		return errors.New("no lake folder given")
	}
	if len(c.Sources) == 0 {
		return errors.New("no log sources configured")
	}
	if c.Type == "auto" {
		c.Type = ""
	}
	if c.Type != "" && c.source(c.Type) == nil {
		names := make([]string, len(c.Sources))
		for i, s := range c.Sources {
			names[i] = s.Name()
		}
		return fmt.Errorf("unknown --type %q: use auto or one of %s", c.Type, strings.Join(names, ", "))
	}
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = 64 << 20
	}
	if c.SpillBytes == 0 {
		c.SpillBytes = 4 << 30
	}
	if c.DedupEntries <= 0 {
		c.DedupEntries = 2 << 20
	}
	if c.CommitEvery <= 0 {
		c.CommitEvery = 2 * time.Minute
	}
	if c.RowGroupRows <= 0 {
		c.RowGroupRows = 128 << 10
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (c *Config) source(name string) Source {
	for _, s := range c.Sources {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// maxQuarantinePerObject bounds the quarantine records kept per object;
// the rest are counted.
const maxQuarantinePerObject = 10000

// objState follows one object through the run. The worker owns entry and
// bad until it sends the done message; the writer goroutine owns the rest.
type objState struct {
	obj        Object
	src        Source
	entry      Entry
	bad        []quarantineRec
	badDropped int64

	decodeTime                                      time.Duration
	pending, inflight, written, duplicates, resumed int64
	done, committed                                 bool
}

type quarantineRec struct {
	Table   string `json:"table"`
	Object  string `json:"object"`
	Line    int64  `json:"line"`
	Offset  int64  `json:"offset"`
	Reason  string `json:"reason"`
	Snippet string `json:"snippet"`
	Raw     string `json:"snippet_base64"`
	Run     string `json:"run"`
	Commit  string `json:"commit"`
}

type wmsg struct {
	o    *objState
	rows any
	done bool
}

type runner struct {
	cfg      Config
	run      string
	env      *writerEnv
	writers  map[string]tableWriter
	waiting  []*objState
	inflight *inflightCommit
	seq      int
	stats    *Stats
	progress struct {
		objects, bytes, records atomic.Int64
	}
}

// Run ingests the objects below inputs (local files and folders, or
// s3://bucket/prefix) into the lake (a folder or s3://bucket/prefix).
//
// With cfg.Select.Shard, N runs with K = 0..N-1 split the objects between
// them exactly once; they may write the same lake at the same time (each
// holds its own lock and staging folder, and commit records of different
// runs combine by union).
func Run(ctx context.Context, cfg Config, inputs []string) (*Stats, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	var clients *s3Clients
	if IsS3(cfg.Lake) || slices.ContainsFunc(inputs, IsS3) {
		var err error
		if clients, err = newS3Clients(ctx, cfg.S3); err != nil {
			return nil, err
		}
	}
	fsys, err := openLake(ctx, cfg.Lake, clients, cfg.Log)
	if err != nil {
		return nil, err
	}
	run := newRunID(start)
	sweepScratch()
	lockName, scope := "lock", stagingDir
	if sh := cfg.Select.Shard.String(); sh != "" {
		lockName, scope = "lock-shard-"+sh, path.Join(stagingDir, "shard-"+sh)
	}
	release, err := fsys.Lock(ctx, lockName, run)
	if err != nil {
		return nil, err
	}
	defer release()
	commits, err := readCommits(ctx, fsys)
	if err != nil {
		return nil, err
	}
	if err := recoverLake(ctx, fsys, commits, scope); err != nil {
		return nil, err
	}
	man := manifestOf(commits)
	objs, err := listInputs(ctx, inputs, fsys, clients, &cfg.Select)
	if err != nil {
		return nil, err
	}
	listed := len(objs)
	objs = cfg.Select.Select(objs, cfg.Sources)
	r := &runner{
		cfg:     cfg,
		run:     run,
		writers: map[string]tableWriter{},
		stats:   &Stats{Lake: cfg.Lake, Tables: map[string]Counts{}, ObjectsListed: int64(listed), Shard: cfg.Select.Shard.String()},
	}
	r.stats.Run = r.run
	r.env = &writerEnv{
		fs:          fsys,
		stage:       path.Join(scope, r.run),
		dedup:       newDedupIndex(fsys, cfg.DedupEntries),
		toolVersion: cfg.ToolVersion,
		run:         r.run,
		workers:     cfg.Workers,
		rowGroup:    cfg.RowGroupRows,
	}
	defer r.env.dedup.close()
	var todo []*objState
	var total Progress
	for _, o := range objs {
		if !cfg.Force {
			if e, ok := man.Lookup(o.URI); ok && unchanged(e, o) {
				r.stats.ObjectsSkipped++
				r.stats.SkippedUnchanged++
				continue
			}
		}
		todo = append(todo, &objState{obj: o})
		total.ObjectsTotal++
		total.BytesTotal += o.Size
	}
	cfg.Log.Info("ingest started", "run", r.run, "lake", cfg.Lake, "listed", listed, "objects", len(todo), "unchanged", r.stats.SkippedUnchanged, "workers", cfg.Workers, "shard", r.stats.Shard)

	err = r.ingest(ctx, todo, total, start)
	r.stats.Seconds = time.Since(start).Seconds()
	// Leave no staging behind, whatever happened: committed files are
	// already in place and uncommitted ones are worthless.
	_ = fsys.RemoveAll(context.WithoutCancel(ctx), r.env.stage)
	if r.env.spillDir != "" {
		_ = os.RemoveAll(r.env.spillDir)
	}
	if err != nil {
		return r.stats, err
	}
	return r.stats, nil
}

// listInputs lists local and s3:// sources, sorted by URI, skipping the
// lake itself.
func listInputs(ctx context.Context, inputs []string, fsys lakeFS, clients *s3Clients, sel *Selection) ([]Object, error) {
	var local []string
	var objs []Object
	lakeBucket, lakePrefix := "", ""
	if l, ok := fsys.(*s3Lake); ok {
		lakeBucket, lakePrefix = l.bucket, l.prefix
	}
	skip := func(bucket, key string) bool {
		rest, ok := strings.CutPrefix(key, lakePrefix)
		return bucket == lakeBucket && ok && isLakeKey(rest)
	}
	for _, in := range inputs {
		if !IsS3(in) {
			local = append(local, in)
			continue
		}
		got, err := listS3(ctx, clients, in, sel, skip)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	if len(local) > 0 {
		root := fsys.Root()
		if IsS3(root) {
			root = ""
		}
		got, err := ListLocal(local, root)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.URI, b.URI) })
	return slices.CompactFunc(objs, func(a, b Object) bool { return a.URI == b.URI }), nil
}

// isLakeKey reports whether a key (relative to a lake root) is part of
// a lake: its bookkeeping or a Hive partition of one of its tables.
func isLakeKey(rel string) bool {
	first, rest, _ := strings.Cut(rel, "/")
	if first == StateDir {
		return true
	}
	second, _, _ := strings.Cut(rest, "/")
	return strings.HasPrefix(second, "account=") || strings.HasPrefix(second, "date=")
}

func unchanged(e Entry, o Object) bool {
	if e.Status == StatusFailed || e.Size != o.Size {
		return false
	}
	if o.ETag != "" || e.ETag != "" {
		// Listings carry no version id; compare it when both know it.
		return o.ETag == e.ETag && (o.VersionID == "" || e.VersionID == "" || o.VersionID == e.VersionID)
	}
	return e.ModTime.Equal(o.ModTime)
}

func newRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	// Microseconds keep run ids (and so commit records) in start order
	// when runs start within the same second.
	return t.UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(b[:])
}

func (r *runner) ingest(ctx context.Context, todo []*objState, total Progress, start time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan wmsg, 2*r.cfg.Workers)

	writerErr := make(chan error, 1)
	go func() { writerErr <- r.writeLoop(ctx, ch) }()

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if r.cfg.OnProgress == nil {
			return
		}
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		report := func() {
			p := total
			p.ObjectsDone = r.progress.objects.Load()
			p.BytesDone = r.progress.bytes.Load()
			p.Records = r.progress.records.Load()
			p.Elapsed = time.Since(start)
			r.cfg.OnProgress(p)
		}
		for {
			select {
			case <-t.C:
				report()
			case <-stopProgress:
				report()
				return
			}
		}
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Workers)
	for _, o := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return r.process(gctx, o, ch) })
	}
	werr := g.Wait()
	close(ch)
	err := <-writerErr
	close(stopProgress)
	<-progressDone
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return ctx.Err()
}

// send hands a message to the writer unless the run is cancelled.
func send(ctx context.Context, ch chan<- wmsg, m wmsg) error {
	select {
	case ch <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// process decodes one object. Only cancellation is an error: everything
// wrong with the object itself is recorded on it.
func (r *runner) process(ctx context.Context, o *objState, ch chan<- wmsg) error {
	o.entry = Entry{URI: o.obj.URI, Size: o.obj.Size, ModTime: o.obj.ModTime, ETag: o.obj.ETag, VersionID: o.obj.VersionID, Run: r.run, Status: StatusOK}
	began := time.Now()
	err := r.decodeObject(ctx, o, ch)
	o.decodeTime = time.Since(began)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		o.entry.Status = StatusFailed
		o.entry.Reason = err.Error()
	}
	r.progress.objects.Add(1)
	return send(ctx, ch, wmsg{o: o, done: true})
}

func (r *runner) decodeObject(ctx context.Context, o *objState, ch chan<- wmsg) error {
	rc, err := o.obj.open(ctx)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	if b, ok := rc.(*s3Body); ok && b.versionID != "" {
		o.entry.VersionID = b.versionID
	}
	raw := &countingReader{r: rc, progress: &r.progress.bytes}
	hasher := sha256.New()
	br := getObjReader(io.TeeReader(raw, hasher))
	defer putObjReader(br)
	defer func() {
		// Hash the whole object even when decoding stopped early.
		_, _ = io.Copy(io.Discard, br)
		o.entry.SHA256 = hex.EncodeToString(hasher.Sum(nil))
		o.entry.Size = max(o.entry.Size, raw.n)
	}()

	var src Source
	var body io.Reader
	decoded := &countingReader{}
	head, _ := br.Peek(4)
	if string(head) == string(magicParquet) {
		src = r.pick(o.obj.Key, head, true)
		if src == nil {
			o.entry.Status = StatusSkipped
			o.entry.Reason = "unrecognised Parquet file; use --type to name its log type"
			return nil
		}
		ra, closer, err := o.obj.readerAt(ctx)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		defer closer.Close()
		body = io.NewSectionReader(ra, 0, o.obj.Size)
	} else {
		dec, err := decompress(br, raw)
		if err != nil {
			return err
		}
		defer dec.close()
		dbr := getObjReader(dec)
		defer putObjReader(dbr)
		peek, _ := dbr.Peek(8 << 10)
		src = r.pick(o.obj.Key, peek, false)
		if src == nil {
			o.entry.Status = StatusSkipped
			o.entry.Reason = "unrecognised log type; use --type to name it"
			return nil
		}
		decoded.r = dbr
		body = decoded
	}
	o.src = src
	o.entry.Type, o.entry.Table = src.Name(), src.Table()

	info := ObjectInfo{URI: o.obj.URI, Key: o.obj.Key, Size: o.obj.Size, ModTime: o.obj.ModTime, Options: r.cfg.Options}
	if a, rg, ok := src.layout(o.obj.Key); ok {
		info.Account, info.Region = a, rg
	} else {
		info.Account, info.Region = awsLayout(o.obj.Key)
	}
	if info.Account == "" {
		info.Account = r.cfg.Account
	}
	if info.Region == "" {
		info.Region = r.cfg.Region
	}

	rows := func(rs any, n int) error {
		o.entry.RecordsRead += int64(n)
		r.progress.records.Add(int64(n))
		return send(ctx, ch, wmsg{o: o, rows: rs})
	}
	bad := func(b BadRecord) error {
		o.entry.RecordsRead++
		o.entry.Quarantined++
		r.progress.records.Add(1)
		if len(o.bad) >= maxQuarantinePerObject {
			o.badDropped++
			return nil
		}
		o.bad = append(o.bad, quarantineRec{
			Table: src.Table(), Object: o.obj.URI, Line: b.Line, Offset: b.Offset, Reason: b.Reason,
			Snippet: strings.ToValidUTF8(string(b.Snippet), "\uFFFD"),
			Raw:     base64.StdEncoding.EncodeToString(b.Snippet),
		})
		return nil
	}
	err = src.decode(ctx, info, body, rows, bad)
	o.entry.BytesRead = decoded.n
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrNotEvents):
		o.entry.Status = StatusSkipped
		o.entry.Reason = err.Error()
		return nil
	case err != nil:
		// The object broke off (truncated gzip, a decompression bomb, a
		// read error): what was read is kept, the rest is one
		// quarantined record so the accounting still holds.
		o.entry.Status = StatusPartial
		o.entry.Reason = err.Error()
		_ = bad(BadRecord{Offset: decoded.n, Reason: "object unreadable from here on: " + err.Error()})
		return nil
	}
	return nil
}

// pick chooses the source for an object: the forced one, else the one
// most sure of the key and first bytes.
func (r *runner) pick(key string, head []byte, parquet bool) Source {
	if r.cfg.Type != "" {
		return r.cfg.source(r.cfg.Type)
	}
	var best Source
	bestScore := 0
	for _, s := range r.cfg.Sources {
		if parquet && !s.rawParquet(key) {
			continue
		}
		if sc := s.sniff(key, head); sc > bestScore {
			best, bestScore = s, sc
		}
	}
	return best
}

// writeLoop owns every table writer, the duplicate index and the commits.
func (r *runner) writeLoop(ctx context.Context, ch <-chan wmsg) error {
	lastCommit := time.Now()
	var spilled int64 // bytes of rows spilled since the last commit
	var failed error
	for m := range ch {
		if failed != nil {
			continue // drain so workers do not block
		}
		if m.rows != nil {
			w := r.writers[m.o.src.Table()]
			if w == nil {
				w = m.o.src.newWriter(r.env)
				r.writers[m.o.src.Table()] = w
			}
			if err := w.add(ctx, m.o, m.rows); err != nil {
				failed = err
				continue
			}
		}
		if m.done {
			m.o.done = true
			r.waiting = append(r.waiting, m.o)
		}
		var buffered int64
		for _, w := range r.writers {
			buffered += w.buffered()
		}
		// Half the budget: the other half is the commit (or spill) in
		// flight.
		full := buffered > r.cfg.MemoryBudget/2
		due := buffered > 0 && time.Since(lastCommit) > r.cfg.CommitEvery
		switch {
		case full && !due && spilled+buffered <= r.cfg.SpillBytes && r.pendingFingerprints() < r.cfg.DedupEntries/2:
			if err := r.spill(ctx); err != nil {
				failed = err
				continue
			}
			spilled += buffered
		case full || due:
			if err := r.commit(ctx); err != nil {
				failed = err
				continue
			}
			lastCommit, spilled = time.Now(), 0
		}
	}
	if failed != nil {
		if r.inflight != nil {
			<-r.inflight.done
			r.inflight = nil
		}
		return failed
	}
	if ctx.Err() != nil {
		if r.inflight != nil {
			<-r.inflight.done
			r.inflight = nil
		}
		return ctx.Err()
	}
	if err := r.commit(ctx); err != nil {
		return err
	}
	return r.land()
}

// inflightCommit is a commit (or a spill) being written in the
// background while the writer goroutine keeps buffering rows.
type inflightCommit struct {
	spill    bool
	id       string
	done     chan error
	rows     map[*objState]int64 // each object's rows in this commit
	complete []*objState         // objects whose last rows this commit publishes
	rec      *commitRecord
}

// pendingFingerprints is the number of fingerprints the next commit will
// write to the duplicate index: they are held in memory until then, so
// they bound how much a run spills before it commits (a flow-log row is
// small, and 4 GiB of them are 20 million fingerprints).
func (r *runner) pendingFingerprints() int {
	n := 0
	for _, pd := range r.env.dedup.parts {
		n += len(pd.pending)
	}
	return n
}

// spill hands every buffer over to a background spill into the
// partitions' files in progress (see spill.go). Like a commit, it lands
// before the next one starts.
func (r *runner) spill(ctx context.Context) error {
	if err := r.land(); err != nil {
		return err
	}
	if r.env.spillDir == "" {
		dir, err := r.newSpillDir()
		if err != nil {
			return err
		}
		r.env.spillDir = dir
	}
	// Spill every partition holding a 32nd of the budget, and more down
	// to a quarter of the budget, each table in proportion.
	var total int64
	for _, w := range r.writers {
		total += w.buffered()
	}
	var writes []func() error
	for _, w := range r.writers {
		if w.buffered() == 0 {
			continue
		}
		write, err := w.spill(r.env.spillDir, w.buffered()*(r.cfg.MemoryBudget/4)/total, r.cfg.MemoryBudget/32)
		if err != nil {
			return err
		}
		writes = append(writes, write)
	}
	fc := &inflightCommit{spill: true, done: make(chan error, 1)}
	r.inflight = fc
	seq := r.seq
	go func() {
		for _, w := range writes {
			if err := w(); err != nil {
				fc.done <- err
				return
			}
		}
		crashHook("spilled", seq)
		fc.done <- nil
	}()
	return nil
}

// newSpillDir makes the folder of the run's files in progress: in the lake's
// staging folder when the lake is local (the disk chosen for the data,
// cleaned up by the next run if this one dies), else a temporary folder.
func (r *runner) newSpillDir() (string, error) {
	if root := r.env.fs.Root(); !IsS3(root) {
		dir := filepath.Join(root, filepath.FromSlash(r.env.stage), "spill")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("spill rows: %w", err)
		}
		return dir, nil
	}
	dir, err := newScratchDir("spill")
	if err != nil {
		return "", fmt.Errorf("spill rows: %w", err)
	}
	return dir, nil
}

// commit hands every buffer over to a background commit that writes them
// as staged files and publishes them with the duplicate index segments,
// the quarantine and the manifest entries of the objects now complete,
// through one atomic commit record. At most one commit is in flight: the
// previous one lands first, which is the writer's back-pressure.
func (r *runner) commit(ctx context.Context) error {
	if err := r.land(); err != nil {
		return err
	}
	tables := make([]string, 0, len(r.writers))
	for t := range r.writers {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	var writes []func(context.Context, string) ([]committedFile, error)
	rows := map[*objState]int64{}
	for _, t := range tables {
		if r.writers[t].buffered() == 0 && !r.writers[t].spilled() {
			continue
		}
		w, n := r.writers[t].detach()
		writes = append(writes, w)
		for o, c := range n {
			rows[o] += c
			o.pending -= c
			o.inflight += c
		}
	}
	var complete []*objState
	rest := r.waiting[:0]
	for _, o := range r.waiting {
		if o.done && o.pending == 0 {
			complete = append(complete, o)
		} else {
			rest = append(rest, o)
		}
	}
	r.waiting = rest
	if len(writes) == 0 && len(complete) == 0 {
		return nil
	}
	segWrite := r.env.dedup.detachSegments(r.env.stage)
	slices.SortFunc(complete, func(a, b *objState) int { return strings.Compare(a.obj.URI, b.obj.URI) })

	r.seq++
	id := fmt.Sprintf("%s-%05d", r.run, r.seq)
	rec := &commitRecord{Commit: id, Run: r.run, Seq: r.seq, Shard: r.cfg.Select.Shard.String(), ToolVersion: r.cfg.ToolVersion}
	var qbuf []byte
	for _, o := range complete {
		for _, q := range o.bad {
			q.Run, q.Commit = r.run, id
			b, err := json.Marshal(q)
			if err != nil {
				return err
			}
			qbuf = append(append(qbuf, b...), '\n')
		}
		if o.badDropped > 0 {
			b, _ := json.Marshal(quarantineRec{Table: o.entry.Table, Object: o.obj.URI, Reason: fmt.Sprintf("%d more quarantined records not kept (limit %d per object)", o.badDropped, maxQuarantinePerObject), Run: r.run, Commit: id})
			qbuf = append(append(qbuf, b...), '\n')
		}
		e := &o.entry
		e.Commit = id
		e.RowsWritten = o.written + o.inflight + o.resumed
		e.Duplicates = o.duplicates
		e.Resumed = o.resumed
		rec.Objects = append(rec.Objects, *e)
	}
	seq := r.seq
	fc := &inflightCommit{id: id, done: make(chan error, 1), rows: rows, complete: complete, rec: rec}
	r.inflight = fc
	go func() {
		fc.done <- r.publish(ctx, rec, seq, writes, segWrite, qbuf)
	}()
	return nil
}

// publish writes a commit's files, then its record, then renames the
// files into place. It runs on its own goroutine and touches no state of
// the writer goroutine.
func (r *runner) publish(ctx context.Context, rec *commitRecord, seq int, writes []func(context.Context, string) ([]committedFile, error),
	segWrite func(context.Context, string) ([]committedFile, error), qbuf []byte) error {
	id := rec.Commit
	// The duplicate index segments are staged while the data files are
	// written: they are independent until the commit record names both.
	var segs []committedFile
	segErr := make(chan error, 1)
	go func() {
		var err error
		segs, err = segWrite(ctx, id)
		segErr <- err
	}()
	var werr error
	for _, w := range writes {
		files, err := w(ctx, id)
		if err != nil {
			werr = fmt.Errorf("write lake: %w", err)
			break
		}
		rec.Files = append(rec.Files, files...)
	}
	if err := <-segErr; err != nil && werr == nil {
		werr = fmt.Errorf("write duplicate index: %w", err)
	}
	if werr != nil {
		return werr
	}
	rec.Files = append(rec.Files, segs...)
	if len(qbuf) > 0 {
		rel := path.Join(quarantineDir, id+".jsonl")
		staged := path.Join(r.env.stage, "quarantine", id+".jsonl")
		if err := r.env.fs.WriteFile(ctx, staged, qbuf); err != nil {
			return fmt.Errorf("write quarantine: %w", err)
		}
		rec.Files = append(rec.Files, committedFile{Path: rel, Staged: staged})
	}
	b, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return err
	}
	crashHook("staged", seq)
	if err := r.env.fs.WriteFile(ctx, path.Join(manifestDir, id+".json"), b); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	crashHook("recorded", seq)
	if err := applyCommit(ctx, r.env.fs, rec, nil); err != nil {
		return fmt.Errorf("publish commit %s: %w", id, err)
	}
	crashHook("applied", seq)
	return nil
}

// land waits for the commit in flight, if any, and accounts for it.
func (r *runner) land() error {
	fc := r.inflight
	if fc == nil {
		return nil
	}
	r.inflight = nil
	if err := <-fc.done; err != nil {
		return err
	}
	if fc.spill {
		r.stats.Spills++
		return r.env.dedup.land()
	}
	for o, n := range fc.rows {
		o.inflight -= n
		o.written += n
	}
	if err := r.env.dedup.land(); err != nil {
		return err
	}
	for _, o := range fc.complete {
		o.committed = true
		o.bad = nil
		r.account(o)
	}
	r.stats.Commits++
	for _, f := range fc.rec.Files {
		if f.Table != "" {
			r.stats.FilesWritten++
		}
	}
	r.cfg.Log.Info("commit", "commit", fc.id, "files", len(fc.rec.Files), "objects", len(fc.rec.Objects))
	return nil
}

// objReaders holds the read buffers of objects: each object takes two,
// and an object of a few kilobytes should not cost half a megabyte of
// fresh memory.
var objReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 256<<10) }}

func getObjReader(r io.Reader) *bufio.Reader {
	br := objReaders.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// putObjReader returns br to the pool without the object it read, so
// the pool keeps no closed file or decompressor alive.
func putObjReader(br *bufio.Reader) {
	br.Reset(nil)
	objReaders.Put(br)
}

// crashHook lets the crash test kill the process at a commit step.
var crashHook = func(step string, seq int) {}

// account adds a committed object to the run's statistics.
func (r *runner) account(o *objState) {
	e := o.entry
	c := Counts{BytesRead: e.Size, BytesDecoded: e.BytesRead, Seconds: o.decodeTime.Seconds()}
	switch e.Status {
	case StatusSkipped:
		c.ObjectsSkipped = 1
		if e.Table != "" {
			r.stats.SkippedNotEvents++
		} else {
			r.stats.SkippedUnknown++
		}
	case StatusFailed:
		c.ObjectsFailed = 1
	default:
		c.Objects = 1
	}
	if e.Status == StatusFailed || e.Status == StatusPartial {
		r.stats.Failures = append(r.stats.Failures, Failure{URI: e.URI, Status: e.Status, Reason: e.Reason})
	}
	c.RecordsRead, c.RowsWritten, c.Quarantined, c.Duplicates, c.Resumed = e.RecordsRead, e.RowsWritten, e.Quarantined, e.Duplicates, e.Resumed
	r.stats.Counts.add(c)
	if e.Table != "" {
		t := r.stats.Tables[e.Table]
		t.add(c)
		r.stats.Tables[e.Table] = t
	}
}
