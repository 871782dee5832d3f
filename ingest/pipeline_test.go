package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

func testSources() []Source { return []Source{NewSource(lineSpec())} }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data := []byte(content)
	if strings.HasSuffix(path, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func ingestDir(t *testing.T, lake string, cfg Config, inputs ...string) *Stats {
	t.Helper()
	cfg.Lake = lake
	cfg.Sources = testSources()
	cfg.ToolVersion = "test"
	st, err := Run(context.Background(), cfg, inputs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st
}

type lakeRow struct {
	file string
	lineRow
}

// readLake reads every row of every Parquet file of the lines table.
// readLake reads every row of the lake's files, checking that each file
// is sorted by time.
func readLake(t *testing.T, lake string) []lakeRow {
	t.Helper()
	var out []lakeRow
	for _, f := range lakeFiles(t, lake) {
		var rows []lineRow
		for _, g := range readGroups(t, f) {
			rows = append(rows, g...)
		}
		if !slices.IsSortedFunc(rows, func(a, b lineRow) int { return int(a.EventTime - b.EventTime) }) {
			t.Errorf("%s is not sorted by event_time", f)
		}
		for _, r := range rows {
			out = append(out, lakeRow{file: f, lineRow: r})
		}
	}
	return out
}

func lakeFiles(t *testing.T, lake string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(lake, "lines", "*", "*", "*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// readGroups reads a file's rows, row group by row group.
func readGroups(t *testing.T, file string) [][]lineRow {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	var out [][]lineRow
	for _, g := range pf.RowGroups() {
		rows := make([]lineRow, g.NumRows())
		r := parquet.NewGenericRowGroupReader[lineRow](g)
		if n, err := r.Read(rows); int64(n) != g.NumRows() && err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		r.Close()
		out = append(out, rows)
	}
	return out
}

func contents(rows []lakeRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d|%s|%s", r.EventTime, r.ID, r.Text))
	}
	slices.Sort(out)
	return out
}

func checkAccounting(t *testing.T, lake string) *Manifest {
	t.Helper()
	m, err := LoadManifest(lake)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Entries() {
		if e.RecordsRead != e.RowsWritten+e.Quarantined+e.Duplicates {
			t.Errorf("%s: read %d != written %d + quarantined %d + duplicates %d", e.URI, e.RecordsRead, e.RowsWritten, e.Quarantined, e.Duplicates)
		}
	}
	return m
}

func TestIngestWritesPartitionedSortedLake(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "a.lines"), "2026-11-14T02:00:05Z|111122223333|us-east-1|e2|second\n2026-11-14T02:00:01Z|111122223333|us-east-1|e1|first\nnot a record\n")
	writeFile(t, filepath.Join(src, "sub", "b.lines.gz"), "2026-11-15T00:00:00Z|111122223333|eu-west-1|e3|gz\n")
	writeFile(t, filepath.Join(src, "README.txt"), "not a log\n")
	st := ingestDir(t, lake, Config{}, src)

	if st.Objects != 2 || st.SkippedUnknown != 1 || st.RowsWritten != 3 || st.Quarantined != 1 || st.RecordsRead != 4 {
		t.Fatalf("stats = %+v", st.Counts)
	}
	if got := st.Tables["lines"].RowsWritten; got != 3 {
		t.Errorf("per-table rows = %d, want 3", got)
	}
	rows := readLake(t, lake)
	if len(rows) != 3 {
		t.Fatalf("lake has %d rows, want 3", len(rows))
	}
	for _, r := range rows {
		want := "account=111122223333/region=us-east-1/date=2026-11-14"
		if r.ID == "e3" {
			want = "account=111122223333/region=eu-west-1/date=2026-11-15"
			if !strings.HasSuffix(r.SourceURI, "b.lines.gz") || r.SourceOffset != 0 {
				t.Errorf("provenance of e3 = %s@%d", r.SourceURI, r.SourceOffset)
			}
		}
		if !strings.Contains(filepath.ToSlash(r.file), want) {
			t.Errorf("row %s in %s, want partition %s", r.ID, r.file, want)
		}
	}
	q, _ := filepath.Glob(filepath.Join(lake, QuarantineDir, "*.jsonl"))
	if len(q) != 1 {
		t.Fatalf("quarantine files = %v", q)
	}
	b, _ := os.ReadFile(q[0])
	var rec quarantineRec
	if err := json.Unmarshal(bytes.Split(b, []byte("\n"))[0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Line != 3 || !strings.Contains(rec.Reason, "want 5 fields") || rec.Snippet != "not a record" || !strings.HasSuffix(rec.Object, "a.lines") {
		t.Errorf("quarantine record = %+v", rec)
	}
	m := checkAccounting(t, lake)
	if m.Len() != 3 {
		t.Errorf("manifest has %d objects, want 3", m.Len())
	}
	e, _ := m.Lookup(filepath.Join(src, "a.lines"))
	if e.SHA256 == "" || e.Status != StatusOK || e.RecordsRead != 3 {
		t.Errorf("manifest entry = %+v", e)
	}
	if st, err := os.Stat(filepath.Join(lake, stagingDir)); err == nil && st.IsDir() {
		if des, _ := os.ReadDir(filepath.Join(lake, stagingDir)); len(des) > 0 {
			t.Errorf("staging left behind: %v", des)
		}
	}
}

func TestIngestIsIdempotentAndPicksUpNewObjects(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "a.lines"), "2026-11-14T02:00:00Z|1|r|a|x\n2026-11-14T02:00:01Z|1|r|b|y\n")
	ingestDir(t, lake, Config{}, src)
	st := ingestDir(t, lake, Config{}, src)
	if st.SkippedUnchanged != 1 || st.RowsWritten != 0 || st.Objects != 0 {
		t.Errorf("second run stats = %+v", st)
	}
	writeFile(t, filepath.Join(src, "b.lines"), "2026-11-14T03:00:00Z|1|r|c|z\n")
	st = ingestDir(t, lake, Config{}, src)
	if st.SkippedUnchanged != 1 || st.RowsWritten != 1 || st.Objects != 1 {
		t.Errorf("third run stats = %+v", st)
	}
	st = ingestDir(t, lake, Config{Force: true}, src)
	if st.Objects != 2 || st.Resumed != 3 || st.Duplicates != 0 {
		t.Errorf("forced run stats = %+v", st.Counts)
	}
	if n := len(readLake(t, lake)); n != 3 {
		t.Errorf("lake has %d rows after forced re-ingest, want 3", n)
	}
	checkAccounting(t, lake)
}

func TestIngestDropsRedeliveredRecordsButKeepsSharedIDs(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	rec := "2026-11-14T02:00:00Z|111122223333|us-east-1|ev-1|GetObject\n"
	writeFile(t, filepath.Join(src, "account", "a.lines"), rec+rec)
	writeFile(t, filepath.Join(src, "org", "a.lines.gz"), rec+"2026-11-14T02:00:00Z|111122223333|us-east-1|ev-1|different content, same id\n")
	st := ingestDir(t, lake, Config{}, src)
	if st.RowsWritten != 2 || st.Duplicates != 2 || st.RecordsRead != 4 {
		t.Fatalf("stats = %+v", st.Counts)
	}
	// A later run with another copy still drops it.
	writeFile(t, filepath.Join(src, "late", "a.lines"), rec)
	st = ingestDir(t, lake, Config{}, src)
	if st.RowsWritten != 0 || st.Duplicates != 1 {
		t.Fatalf("late copy stats = %+v", st.Counts)
	}
	rows := readLake(t, lake)
	got := contents(rows)
	if len(got) != 2 || !strings.Contains(got[0], "ev-1") || !strings.Contains(got[1], "ev-1") {
		t.Errorf("lake = %v", got)
	}
	// The copy kept is the first in (object, offset) order, whichever
	// worker read first.
	for _, r := range rows {
		if r.Text == "GetObject" && (!strings.HasSuffix(r.SourceURI, filepath.Join("account", "a.lines")) || r.SourceOffset != 0) {
			t.Errorf("kept copy %s@%d, want account/a.lines@0", r.SourceURI, r.SourceOffset)
		}
	}
	checkAccounting(t, lake)
}

// TestDuplicateIndexNamesTheCopyKept reads the copy that is not kept
// first (its object is small, the other one long), so the writer replaces
// the buffered copy: the duplicate index must then name the copy kept, or
// a forced re-run takes that copy for a duplicate of the other object.
func TestDuplicateIndexNamesTheCopyKept(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	rec := "2026-11-14T02:00:00Z|111122223333|us-east-1|ev-1|GetObject\n"
	var big strings.Builder
	for i := range 50000 {
		fmt.Fprintf(&big, "2026-11-14T03:00:00Z|111122223333|us-east-1|f-%d|filler\n", i)
	}
	writeFile(t, filepath.Join(src, "a", "big.lines"), big.String()+rec)
	writeFile(t, filepath.Join(src, "b", "small.lines"), rec)
	st := ingestDir(t, lake, Config{Workers: 2}, src)
	if st.RowsWritten != 50001 || st.Duplicates != 1 {
		t.Fatalf("stats = %+v", st.Counts)
	}
	// A small budget: rows that are all already in the lake buffer
	// nothing, so they trigger no commits of their own.
	st = ingestDir(t, lake, Config{Force: true, Workers: 2, MemoryBudget: 1 << 20}, src)
	if st.Resumed != 50001 || st.Duplicates != 1 || len(readLake(t, lake)) != 50001 || st.Commits != 1 {
		t.Fatalf("forced re-run: %d commits, stats = %+v", st.Commits, st.Counts)
	}
	for _, e := range checkAccounting(t, lake).Entries() {
		want := map[string]int64{"big.lines": 50001, "small.lines": 0}[filepath.Base(e.URI)]
		if e.RowsWritten != want || e.Resumed != want {
			t.Errorf("%s: %d rows written, %d resumed; want %d", e.URI, e.RowsWritten, e.Resumed, want)
		}
	}
}

func TestHostilePartitionValuesStayInsideTheLake(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "a.lines"), "2026-11-14T02:00:00Z|../../../../tmp/x|us-east-1/../../y|e|z\n")
	ingestDir(t, lake, Config{}, src)
	rows := readLake(t, lake)
	if len(rows) != 1 || !strings.Contains(filepath.ToSlash(rows[0].file), "lines/account=unknown/region=unknown/date=2026-11-14/") {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestBrokenObjectsAreAccountedAndTheRunGoesOn(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for i := range 2000 {
		fmt.Fprintf(zw, "2026-11-14T02:00:00Z|1|r|t%d|%s\n", i, strings.Repeat("x", i%50))
	}
	zw.Close()
	trunc := b.Bytes()[:b.Len()/2]
	if err := os.WriteFile(filepath.Join(src, "trunc.lines.gz"), trunc, 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	zw = gzip.NewWriter(&b)
	zw.Write([]byte("2026-11-14T02:00:00Z|1|r|bomb|first\n"))
	zeros := make([]byte, 1<<20)
	for range 100 {
		zw.Write(zeros)
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(src, "bomb.lines.gz"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "good.lines"), "2026-11-14T02:00:00Z|1|r|good|ok\n")
	st := ingestDir(t, lake, Config{}, src)
	m := checkAccounting(t, lake)
	tr, _ := m.Lookup(filepath.Join(src, "trunc.lines.gz"))
	if tr.Status != StatusPartial || tr.RowsWritten == 0 || tr.Quarantined < 1 || !strings.Contains(tr.Reason, "unexpected EOF") {
		t.Errorf("truncated gzip entry = %+v", tr)
	}
	bo, _ := m.Lookup(filepath.Join(src, "bomb.lines.gz"))
	if bo.Status != StatusPartial || !strings.Contains(bo.Reason, "decompression bomb") || bo.BytesRead > 80<<20 {
		t.Errorf("bomb entry = %+v", bo)
	}
	g, _ := m.Lookup(filepath.Join(src, "good.lines"))
	if g.Status != StatusOK || g.RowsWritten != 1 {
		t.Errorf("good entry = %+v", g)
	}
	if len(st.Failures) != 2 {
		t.Errorf("failures = %+v", st.Failures)
	}
}

func TestSecondIngestIntoALockedLakeIsRefused(t *testing.T) {
	lake := t.TempDir()
	release, err := lockLake(lake)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, err = Run(context.Background(), Config{Lake: lake, Sources: testSources()}, []string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "in use by another leakscope ingest") {
		t.Fatalf("err = %v", err)
	}
}

// crash-test child: ingests $LEAKSCOPE_CHILD_SRC into $LEAKSCOPE_CHILD_LAKE
// with tiny commits; $LEAKSCOPE_CHILD_CRASH names a commit step at which it
// kills itself with SIGKILL.
func TestIngestChild(t *testing.T) {
	lake := os.Getenv("LEAKSCOPE_CHILD_LAKE")
	if lake == "" {
		t.Skip("crash-test child only")
	}
	if at := os.Getenv("LEAKSCOPE_CHILD_CRASH"); at != "" {
		step, n, _ := strings.Cut(at, ":")
		seq, _ := strconv.Atoi(n)
		crashHook = func(s string, commitSeq int) {
			if s == step && commitSeq == seq {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Second)
			}
		}
	}
	// Tiny commits, each of a few spills.
	cfg := Config{Lake: lake, Sources: testSources(), MemoryBudget: 16 << 10, SpillBytes: 40 << 10, Workers: 2, ToolVersion: "test"}
	if ep := os.Getenv("LEAKSCOPE_CHILD_ENDPOINT"); ep != "" {
		cfg.S3 = S3Config{Endpoint: ep, PathStyle: true}
	}
	_, err := Run(context.Background(), cfg, []string{os.Getenv("LEAKSCOPE_CHILD_SRC")})
	if err != nil {
		t.Fatal(err)
	}
}

func runChild(t *testing.T, src, lake, crash string, killAfter time.Duration) {
	t.Helper()
	runChildEnv(t, src, lake, crash, killAfter, nil)
}

func runChildEnv(t *testing.T, src, lake, crash string, killAfter time.Duration, env []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LEAKSCOPE_CHILD_LAKE="+lake, "LEAKSCOPE_CHILD_SRC="+src, "LEAKSCOPE_CHILD_CRASH="+crash)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if crash == "" && killAfter == 0 && err != nil {
		t.Fatalf("child failed: %v\n%s", err, out.String())
	}
}

func TestKilledIngestResumesToTheSameLake(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	src := t.TempDir()
	for f := range 40 {
		var b strings.Builder
		for i := range 150 {
			fmt.Fprintf(&b, "2026-11-%02dT%02d:%02d:00Z|11112222333%d|us-east-1|f%d-%d|payload %d\n", 14+f%2, i%24, f%60, f%3, f, i, i*f)
		}
		b.WriteString("2026-11-14T00:00:00Z|111122223330|us-east-1|shared|re-delivered in every object\n")
		b.WriteString("garbage line\n")
		name := fmt.Sprintf("obj%02d.lines", f)
		if f%2 == 1 {
			name += ".gz"
		}
		writeFile(t, filepath.Join(src, name), b.String())
	}
	ref := t.TempDir()
	runChild(t, src, ref, "", 0)
	want := contents(readLake(t, ref))
	wantMan := checkAccounting(t, ref)

	cases := []string{"staged:1", "recorded:1", "renamed-one:2", "applied:3", "staged:5", "recorded:7", "spilled:0", "spilled:2"}
	for _, d := range []time.Duration{30, 60, 120, 250, 400} {
		cases = append(cases, "kill@"+(d*time.Millisecond).String())
	}
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			lake := t.TempDir()
			if after, ok := strings.CutPrefix(c, "kill@"); ok {
				d, _ := time.ParseDuration(after)
				runChild(t, src, lake, "", d)
			} else {
				runChild(t, src, lake, c, 0)
			}
			runChild(t, src, lake, "", 0)
			got := contents(readLake(t, lake))
			if !slices.Equal(got, want) {
				t.Fatalf("resumed lake has %d rows, uninterrupted %d", len(got), len(want))
			}
			man := checkAccounting(t, lake)
			if man.Len() != wantMan.Len() {
				t.Fatalf("manifest has %d objects, want %d", man.Len(), wantMan.Len())
			}
			var rows, wantRows int64
			for _, e := range man.Entries() {
				rows += e.RowsWritten
				w, _ := wantMan.Lookup(e.URI)
				wantRows += w.RowsWritten
				if e.RecordsRead != w.RecordsRead || e.Quarantined != w.Quarantined {
					t.Errorf("%s: read/quarantined %d/%d, want %d/%d", e.URI, e.RecordsRead, e.Quarantined, w.RecordsRead, w.Quarantined)
				}
			}
			if rows != wantRows {
				t.Errorf("manifest rows %d, want %d", rows, wantRows)
			}
		})
	}
}

// With a small memory budget, rows are spilled into each partition's
// files in progress, a sorted row group at a time: a file or two per
// partition per commit, each sorted as a whole, holding the rows that one
// commit per budget would spread over many files.
func TestSpilledRowsMakeFewFilesPerPartition(t *testing.T) {
	src := t.TempDir()
	for f := range 30 {
		var b strings.Builder
		for i := range 400 {
			fmt.Fprintf(&b, "2026-11-%02dT%02d:%02d:%02dZ|111122223333|us-east-1|f%d-%d|%s\n", 14+f%2, f%24, i%60, i%60, f, i, strings.Repeat("p", i%90))
		}
		writeFile(t, filepath.Join(src, fmt.Sprintf("obj%02d.lines", f)), b.String())
	}
	small, spilled := t.TempDir(), t.TempDir()
	st0 := ingestDir(t, small, Config{Workers: 2, MemoryBudget: 64 << 10, SpillBytes: -1}, src)
	st := ingestDir(t, spilled, Config{Workers: 2, MemoryBudget: 64 << 10}, src)
	if st0.Spills != 0 || st.Spills < 10 || st.Commits != 1 {
		t.Fatalf("without spilling %d spills; with: %d spills, %d commits", st0.Spills, st.Spills, st.Commits)
	}
	// Two workers interleave objects an hour apart, so rows come late
	// and start piles; still far fewer files than one per budget.
	n, n0 := len(lakeFiles(t, spilled)), len(lakeFiles(t, small))
	if n*3 > n0 || st.FilesWritten != n {
		t.Errorf("spilled lake has %d files (stats: %d), unspilled %d", n, st.FilesWritten, n0)
	}
	groups := 0
	for _, f := range lakeFiles(t, spilled) {
		groups += len(readGroups(t, f))
	}
	if groups < st.Spills {
		t.Errorf("%d row groups for %d spills", groups, st.Spills)
	}
	if a, b := contents(readLake(t, small)), contents(readLake(t, spilled)); !slices.Equal(a, b) || len(a) != 12000 {
		t.Fatalf("spilled lake has %d rows, unspilled %d (want 12000)", len(b), len(a))
	}
	m := checkAccounting(t, spilled)
	if m.Len() != 30 {
		t.Errorf("manifest has %d objects", m.Len())
	}
	if left, _ := filepath.Glob(filepath.Join(spilled, StateDir, "staging", "*", "*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

// A spill takes the partitions holding the most rows first: partitions
// with a few rows among many wait, so their row groups are not cut into
// one sliver per spill.
func TestSpillTakesTheBiggestPartitionsFirst(t *testing.T) {
	src := t.TempDir()
	for f := range 30 {
		var b strings.Builder
		for i := range 300 {
			fmt.Fprintf(&b, "2026-11-14T%02d:%02d:%02dZ|111122223333|us-east-1|big%d-%d|%s\n", f%24, i%60, i%60, f, i, strings.Repeat("p", 60))
		}
		// A row of each of five small partitions in every object.
		for p := range 5 {
			fmt.Fprintf(&b, "2026-11-14T%02d:00:00Z|44445555666%d|eu-west-1|small%d-%d|s\n", f%24, p, f, p)
		}
		writeFile(t, filepath.Join(src, fmt.Sprintf("obj%02d.lines", f)), b.String())
	}
	lake := t.TempDir()
	st := ingestDir(t, lake, Config{Workers: 2, MemoryBudget: 1 << 20}, src)
	if st.Spills < 5 || st.Commits != 1 || st.RowsWritten != 30*305 {
		t.Fatalf("%d spills, %d commits, %d rows", st.Spills, st.Commits, st.RowsWritten)
	}
	bigGroups := 0
	for _, f := range lakeFiles(t, lake) {
		groups := readGroups(t, f)
		if strings.Contains(f, "account=111122223333") {
			bigGroups += len(groups)
		} else if rows := len(groups[0]); len(groups) != 1 || rows != 30 {
			t.Errorf("%s: %d row groups, the first of %d rows; want one of 30", f, len(groups), rows)
		}
	}
	if bigGroups < st.Spills {
		t.Errorf("the big partition has %d row groups for %d spills", bigGroups, st.Spills)
	}
}

// The fingerprints of spilled rows wait in memory for the commit that
// writes them to the duplicate index, so they too bound how much a run
// spills before it commits.
func TestPendingFingerprintsBoundSpilling(t *testing.T) {
	src := t.TempDir()
	for f := range 20 {
		var b strings.Builder
		for i := range 300 {
			fmt.Fprintf(&b, "2026-11-14T%02d:%02d:%02dZ|111122223333|us-east-1|f%d-%d|%s\n", f, i%60, i%60, f, i, strings.Repeat("p", 40))
		}
		writeFile(t, filepath.Join(src, fmt.Sprintf("obj%02d.lines", f)), b.String())
	}
	lake := t.TempDir()
	st := ingestDir(t, lake, Config{Workers: 2, MemoryBudget: 256 << 10, DedupEntries: 2000}, src)
	// 6000 rows, a commit once 1000 fingerprints are pending.
	if st.Spills == 0 || st.Commits < 4 || st.RowsWritten != 6000 {
		t.Fatalf("%d spills, %d commits, %d rows", st.Spills, st.Commits, st.RowsWritten)
	}
	if got := len(readLake(t, lake)); got != 6000 {
		t.Fatalf("lake has %d rows", got)
	}
}

// Whatever the budgets and the number of workers, spilling changes the
// files, never the rows: random inputs (several partitions, times out of
// order, records delivered twice) ingested under random settings make
// the lake and the manifest counts of a run that never spills, and every
// file is sorted by time (readLake checks).
func TestSpillingKeepsTheRows(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a dozen times")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 4 {
		src := t.TempDir()
		var shared []string
		for f := range 12 + rng.IntN(20) {
			var b strings.Builder
			for i := range 50 + rng.IntN(400) {
				line := fmt.Sprintf("2026-11-%02dT%02d:%02d:%02dZ|11112222333%d|us-east-%d|r%d-f%d-%d|%s\n",
					14+rng.IntN(2), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(3), 1+rng.IntN(2), round, f, i, strings.Repeat("x", rng.IntN(120)))
				if rng.IntN(20) == 0 {
					shared = append(shared, line)
				}
				b.WriteString(line)
			}
			for _, l := range shared[max(0, len(shared)-3):] {
				b.WriteString(l) // delivered again in a later object
			}
			writeFile(t, filepath.Join(src, fmt.Sprintf("d%d/obj%03d.lines", rng.IntN(3), f)), b.String())
		}
		ref := t.TempDir()
		ingestDir(t, ref, Config{Workers: 1, SpillBytes: -1}, src)
		want := contents(readLake(t, ref))
		wantMan := checkAccounting(t, ref)
		for k := range 3 {
			cfg := Config{
				Workers:      1 + rng.IntN(4),
				MemoryBudget: int64(16+rng.IntN(256)) << 10,
				SpillBytes:   int64(32+rng.IntN(2048)) << 10,
				DedupEntries: 200 + rng.IntN(5000),
			}
			lake := t.TempDir()
			st := ingestDir(t, lake, cfg, src)
			if got := contents(readLake(t, lake)); !slices.Equal(got, want) {
				t.Fatalf("round %d/%d (%d workers, budget %d, spill %d, dedup %d): %d rows, want %d",
					round, k, cfg.Workers, cfg.MemoryBudget, cfg.SpillBytes, cfg.DedupEntries, len(got), len(want))
			}
			man := checkAccounting(t, lake)
			for _, e := range man.Entries() {
				w, _ := wantMan.Lookup(e.URI)
				if e.RecordsRead != w.RecordsRead || e.Quarantined != w.Quarantined {
					t.Errorf("round %d/%d: %s read/quarantined %d/%d, want %d/%d", round, k, e.URI, e.RecordsRead, e.Quarantined, w.RecordsRead, w.Quarantined)
				}
			}
			if man.Len() != wantMan.Len() {
				t.Errorf("round %d/%d: manifest of %d objects, want %d", round, k, man.Len(), wantMan.Len())
			}
			t.Logf("round %d/%d: %d workers, budget %d, spill %d, dedup %d: %d spills, %d commits, %d files",
				round, k, cfg.Workers, cfg.MemoryBudget, cfg.SpillBytes, cfg.DedupEntries, st.Spills, st.Commits, st.FilesWritten)
		}
	}
}
