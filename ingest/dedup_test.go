package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Both sorts of fingerprint entries (the counting one of commit segments
// and the in-place one of spilled hot tables) order as a comparison sort.
func TestSortEntriesMatchesComparisonSort(t *testing.T) {
	for _, sorter := range []struct {
		name string
		sort func([]dedupEntry)
	}{{"counting", sortEntries}, {"in place", sortEntriesInPlace}} {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 100, 4095, 4096, 5000, 300_000} {
			es := make([]dedupEntry, n)
			for i := range es {
				es[i] = dedupEntry{h: Hash{Hi: r.Uint64(), Lo: r.Uint64()}, origin: r.Uint64()}
				if i > 0 && r.IntN(10) == 0 {
					// Shared high halves (and a few whole repeats).
					es[i].h.Hi = es[r.IntN(i)].h.Hi
					if r.IntN(4) == 0 {
						es[i].h.Lo = es[r.IntN(i)].h.Lo
					}
				}
				if r.IntN(50) == 0 {
					es[i].h.Hi = uint64(r.IntN(3)) // skewed: crowded first bucket
				}
			}
			want := slices.Clone(es)
			slices.SortStableFunc(want, compareEntry)
			sorter.sort(es)
			for i := range es {
				if compareEntry(es[i], want[i]) != 0 {
					t.Fatalf("%s, n=%d: entry %d is %v, want %v", sorter.name, n, i, es[i].h, want[i].h)
				}
			}
		}
	}
}

func TestDedupColdFilterFalsePositiveRate(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 200_000
	f := newColdFilter(n)
	added := make([]Hash, n)
	for i := range added {
		added[i] = Hash{Hi: r.Uint64(), Lo: r.Uint64()}
		f.add(added[i])
	}
	for _, h := range added {
		if !f.has(h) {
			t.Fatalf("%v added but not found", h)
		}
	}
	fp := 0
	const probes = 1_000_000
	for range probes {
		if f.has(Hash{Hi: r.Uint64(), Lo: r.Uint64()}) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.015 {
		t.Errorf("false positive rate %.4f at design capacity, want about 0.01", rate)
	} else {
		t.Logf("false positive rate %.4f, %d bytes for %d entries", rate, len(f.words)*8, n)
	}
}

// dedupModel is what a dedupIndex must answer: per partition, every
// fingerprint claimed with the origin it holds.
type dedupModel struct {
	t      *testing.T
	d      *dedupIndex
	fsys   localFS
	parts  []Partition
	origin map[dedupKey]uint64
	keys   []dedupKey // every fingerprint claimed, in order
	fresh  []dedupKey // claimed since the last hand-over
	seq    int
}

type dedupKey struct {
	part int
	h    Hash
}

func (m *dedupModel) pd(part int) *partDedup {
	m.t.Helper()
	pd, err := m.d.part(m.t.Context(), "t", m.parts[part])
	if err != nil {
		m.t.Fatal(err)
	}
	return pd
}

func (m *dedupModel) claim(k dedupKey, origin uint64) {
	m.t.Helper()
	prev, dup, err := m.pd(k.part).claim(k.h, origin)
	if err != nil {
		m.t.Fatal(err)
	}
	want, ok := m.origin[k]
	if dup != ok || prev != want {
		m.t.Fatalf("claim of %v in partition %d = %x, %v; want %x, %v", k.h, k.part, prev, dup, want, ok)
	}
	if !ok {
		m.origin[k] = origin
		m.keys = append(m.keys, k)
		m.fresh = append(m.fresh, k)
	}
}

func (m *dedupModel) lookup(d *dedupIndex, k dedupKey) {
	m.t.Helper()
	pd, err := d.part(m.t.Context(), "t", m.parts[k.part])
	if err != nil {
		m.t.Fatal(err)
	}
	got, found, err := pd.lookup(k.h)
	if err != nil {
		m.t.Fatal(err)
	}
	want, ok := m.origin[k]
	if found != ok || got != want {
		m.t.Fatalf("lookup of %v in partition %d = %x, %v; want %x, %v", k.h, k.part, got, found, want, ok)
	}
}

// handOver detaches the pending fingerprints as a commit's segments;
// publish writes them into the lake and lands the commit.
func (m *dedupModel) handOver() (publish func()) {
	m.seq++
	id := fmt.Sprintf("c-%05d", m.seq)
	write := m.d.detachSegments(path.Join(stagingDir, "test"))
	m.fresh = m.fresh[:0]
	return func() {
		m.t.Helper()
		files, err := write(m.t.Context(), id)
		if err != nil {
			m.t.Fatal(err)
		}
		for _, f := range files {
			if err := m.fsys.Publish(m.t.Context(), f.Staged, f.Path); err != nil {
				m.t.Fatal(err)
			}
		}
		if err := m.d.land(); err != nil {
			m.t.Fatal(err)
		}
		checkDedupBounds(m.t, m.d)
	}
}

// checkDedupBounds checks what evict promises after a commit lands.
func checkDedupBounds(t *testing.T, d *dedupIndex) {
	t.Helper()
	hot, floor, files := 0, 0, 0
	for _, p := range d.parts {
		hot += p.table.n
		floor += p.table.floor()
		if p.cold == nil {
			continue
		}
		files += len(p.cold.runs)
		n := 0
		for i, r := range p.cold.runs {
			n += r.n
			if i > 0 && p.cold.runs[i-1].n <= 2*r.n {
				t.Fatalf("%s: run %d has %d entries, run %d %d: not merged", p.dir, i-1, p.cold.runs[i-1].n, i, r.n)
			}
		}
		if n != p.cold.n || len(p.cold.runs) > bits.Len(uint(n)) {
			t.Fatalf("%s: %d runs of %d entries (counted %d)", p.dir, len(p.cold.runs), n, p.cold.n)
		}
	}
	if hot > d.maxEntries || floor > d.maxEntries {
		t.Fatalf("hot tables hold %d entries in slots for %d, budget %d", hot, floor, d.maxEntries)
	}
	if d.tmp != "" {
		des, err := os.ReadDir(d.tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(des) != files {
			t.Fatalf("%d files in %s for %d runs", len(des), d.tmp, files)
		}
	}
}

// randomHash returns a fingerprint; some share their Hi with an earlier
// one, which the sparse index of a run must cope with.
func randomHash(r *rand.Rand, keys []dedupKey) Hash {
	h := Hash{Hi: r.Uint64(), Lo: r.Uint64()}
	if len(keys) > 0 && r.IntN(20) == 0 {
		h.Hi = keys[r.IntN(len(keys))].h.Hi
	}
	return h
}

// TestDedupMatchesMapModel drives an index with a tiny budget through
// claims, replacements, lookups and commits (some partitions loaded while
// a commit is in flight) and checks every answer against a map.
func TestDedupMatchesMapModel(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	fsys := localFS{root: t.TempDir()}
	d := newDedupIndex(fsys, 1000)
	d.maxCold = 8 << 10
	spills := 0
	old := dedupSpillHook
	dedupSpillHook = func(string, int) { spills++ }
	defer func() { dedupSpillHook = old }()
	m := &dedupModel{t: t, d: d, fsys: fsys, origin: map[dedupKey]uint64{}}
	for i := range 6 {
		m.parts = append(m.parts, Partition{Account: "1", Region: "r", Date: fmt.Sprintf("2026-11-%02d", 10+i)})
	}
	r := rand.New(rand.NewPCG(1, 2))
	var publish func()
	steps := 60_000
	if testing.Short() {
		steps = 20_000
	}
	for step := range steps {
		part := 0
		if r.IntN(10) < 3 {
			part = 1 + r.IntN(len(m.parts)-1)
		}
		switch op := r.IntN(1000); {
		case op < 450:
			m.claim(dedupKey{part, randomHash(r, m.keys)}, r.Uint64())
		case op < 451:
			// A burst sharing one Hi: longer than a run's stride.
			hi := r.Uint64()
			for range 300 {
				m.claim(dedupKey{part, Hash{Hi: hi, Lo: r.Uint64()}}, r.Uint64())
			}
		case op < 650 && len(m.keys) > 0:
			// A repeat from far back, or of a recent one; sometimes
			// from the very origin stored (a resumed record).
			k := m.keys[r.IntN(len(m.keys))]
			if op >= 550 {
				k = m.keys[max(0, len(m.keys)-1-r.IntN(50))]
			}
			o := r.Uint64()
			if r.IntN(3) == 0 {
				o = m.origin[k]
			}
			m.claim(k, o)
		case op < 700 && len(m.fresh) > 0:
			k := m.fresh[r.IntN(len(m.fresh))]
			o := r.Uint64()
			m.pd(k.part).replace(k.h, o)
			m.origin[k] = o
		case op < 850 && len(m.keys) > 0:
			k := m.keys[r.IntN(len(m.keys))]
			switch r.IntN(3) {
			case 0:
				k.h.Lo = r.Uint64() // same Hi, absent
			case 1:
				k = dedupKey{part, Hash{Hi: r.Uint64(), Lo: r.Uint64()}}
			}
			m.lookup(d, k)
		case op < 990:
			if publish != nil && r.IntN(4) == 0 {
				publish()
				publish = nil
			}
		case op < 995:
			// Rows spilled and landed with no commit in flight: pending
			// fingerprints wait longer.
			if publish == nil {
				if err := d.land(); err != nil {
					t.Fatal(err)
				}
				checkDedupBounds(t, d)
			}
		default:
			if publish != nil {
				publish()
			}
			publish = m.handOver()
		}
		if step%10_000 == 0 {
			t.Logf("step %d: %d fingerprints, %d spills, %d files made", step, len(m.keys), spills, d.runSeq)
		}
	}
	if publish != nil {
		publish()
	}
	m.handOver()()
	if merges := d.runSeq - spills; spills < 100 || merges < spills/4 {
		t.Errorf("%d spills and %d merges, want many", spills, merges)
	}
	// Every answer again, and from a fresh index loading the lake.
	fresh := newDedupIndex(fsys, 1000)
	for _, k := range m.keys {
		m.lookup(d, k)
		m.lookup(fresh, k)
	}
	checkDedupBounds(t, fresh)
	for _, d := range []*dedupIndex{d, fresh} {
		tmp := d.tmp
		if err := d.close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Errorf("spill folder %s left behind: %v", tmp, err)
		}
	}
}

// TestDedupReplacedAfterSpillWins replaces the origin of a fingerprint
// that has spilled since its claim: the newer origin wins, in the hot
// table, in a newer run than the first and once the runs are merged.
func TestDedupReplacedAfterSpillWins(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	d := newDedupIndex(localFS{root: t.TempDir()}, 1000)
	defer d.close()
	pd, err := d.part(t.Context(), "t", Partition{Account: "1", Region: "r", Date: "2026-11-14"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, h Hash, want uint64) {
		t.Helper()
		if got, found, err := pd.claim(h, 99); err != nil || !found || got != want {
			t.Fatalf("%s: claim = %x, %v, %v; want %x", what, got, found, err, want)
		}
	}
	h := Hash{Hi: 5, Lo: 6}
	pd.claim(h, 1)
	for i := range 10 {
		pd.claim(Hash{Hi: uint64(i) << 60, Lo: 1}, 1)
	}
	if err := d.spill(pd); err != nil {
		t.Fatal(err)
	}
	check("spilled", h, 1)
	pd.replace(h, 2)
	check("replaced in the hot table", h, 2)
	if err := d.spill(pd); err != nil {
		t.Fatal(err)
	}
	if len(pd.cold.runs) != 2 {
		t.Fatalf("%d runs, want 2 (one of 11 entries, one of 1)", len(pd.cold.runs))
	}
	check("replaced in the newer run", h, 2)
	for i := range 10 {
		pd.claim(Hash{Hi: uint64(i) << 60, Lo: 2}, 1)
	}
	if err := d.spill(pd); err != nil {
		t.Fatal(err)
	}
	if len(pd.cold.runs) != 1 || pd.cold.n != 21 {
		t.Fatalf("%d runs of %d entries, want 1 of 21", len(pd.cold.runs), pd.cold.n)
	}
	check("merged", h, 2)
}

// TestDedupLoadsPartitionBiggerThanBudget opens a partition whose lake
// segments (two shards', overlapping) hold far more than the budget.
func TestDedupLoadsPartitionBiggerThanBudget(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	fsys := localFS{root: t.TempDir()}
	part := Partition{Account: "1", Region: "r", Date: "2026-11-14"}
	r := rand.New(rand.NewPCG(3, 4))
	// Two shards running at once: each opens the partition before the
	// other publishes anything.
	var shards []*dedupModel
	for range 2 {
		m := &dedupModel{t: t, d: newDedupIndex(fsys, 1<<20), fsys: fsys, parts: []Partition{part}, origin: map[dedupKey]uint64{}}
		m.pd(0)
		shards = append(shards, m)
	}
	var shared []Hash
	for shard, name := range []string{"a", "b"} {
		m := shards[shard]
		d := m.d
		for c := range 5 {
			for range 6000 {
				m.claim(dedupKey{0, randomHash(r, m.keys)}, r.Uint64())
			}
			if shard == 0 && c == 0 {
				for _, k := range m.keys[:2000] {
					shared = append(shared, k.h)
				}
			}
			if shard == 1 && c == 0 {
				// The second shard read some records of the first.
				for _, h := range shared {
					m.claim(dedupKey{0, h}, r.Uint64())
				}
			}
			for range 100 {
				k := m.fresh[r.IntN(len(m.fresh))]
				m.pd(0).replace(k.h, r.Uint64())
			}
			write := d.detachSegments(path.Join(stagingDir, name))
			m.fresh = m.fresh[:0]
			files, err := write(t.Context(), fmt.Sprintf("%s-%d", name, c))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := fsys.Publish(t.Context(), f.Staged, f.Path); err != nil {
					t.Fatal(err)
				}
			}
		}
		d.close()
	}
	// What the segments say, later ones (by name) winning.
	want := map[Hash]uint64{}
	dir := path.Join(dedupDir, partitionDir("t", part))
	names, err := fsys.List(t.Context(), dir)
	if err != nil || len(names) != 10 {
		t.Fatalf("segments %v, %v", names, err)
	}
	for _, name := range names {
		b, err := fsys.ReadFile(t.Context(), path.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b); i += dedupEntrySize {
			e := decodeEntry(b[i:])
			want[e.h] = e.origin
		}
	}
	if len(want) != 60000 {
		t.Fatalf("%d fingerprints in the segments, want 60000", len(want))
	}

	spills := 0
	old := dedupSpillHook
	dedupSpillHook = func(string, int) { spills++ }
	defer func() { dedupSpillHook = old }()
	d := newDedupIndex(fsys, 1000)
	pd, err := d.part(t.Context(), "t", part)
	if err != nil {
		t.Fatal(err)
	}
	checkDedupBounds(t, d)
	if spills < 50 || pd.cold == nil {
		t.Fatalf("%d spills loading %d fingerprints with a budget of 1000", spills, len(want))
	}
	for h, o := range want {
		got, found, err := pd.claim(h, r.Uint64())
		if err != nil || !found || got != o {
			t.Fatalf("claim of %v = %x, %v, %v; want %x", h, got, found, err, o)
		}
	}
	for range 10000 {
		h := Hash{Hi: r.Uint64(), Lo: r.Uint64()}
		if _, found, err := pd.claim(h, 1); err != nil || found {
			t.Fatalf("claim of new %v: found %v, %v", h, found, err)
		}
	}
	tmp := d.tmp
	d.close()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("spill folder %s left behind: %v", tmp, err)
	}
}

func TestDedupDiskErrorsAreReturned(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	fsys := localFS{root: t.TempDir()}
	d := newDedupIndex(fsys, 100)
	part := Partition{Account: "1", Region: "r", Date: "2026-11-14"}
	pd, err := d.part(t.Context(), "t", part)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		pd.claim(Hash{Hi: uint64(i) * 0x9E3779B97F4A7C15, Lo: uint64(i)}, 1)
	}
	err = d.land()
	if err == nil || !strings.Contains(err.Error(), "spill the duplicate index of t/account=1/region=r/date=2026-11-14 to disk: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("land with no spill folder: %v", err)
	}
	if _, err2 := d.part(t.Context(), "t", part); err2 != err {
		t.Errorf("part after a failed spill: %v", err2)
	}

	// A run file that cannot be read.
	t.Setenv("TMPDIR", t.TempDir())
	d = newDedupIndex(fsys, 100)
	pd, _ = d.part(t.Context(), "t", part)
	h := Hash{Hi: 1, Lo: 2}
	pd.claim(h, 7)
	if err := d.spill(pd); err != nil {
		t.Fatal(err)
	}
	pd.cold.runs[0].f.Close()
	if _, _, err := pd.claim(h, 8); err == nil || !strings.Contains(err.Error(), "look up the duplicate index of t/account=1/region=r/date=2026-11-14 on disk: read ") {
		t.Fatalf("claim with an unreadable run: %v", err)
	}
	d.close()
}

// TestDedupTinyBudgetIngestMatchesDefault ingests records repeated across
// objects and runs with a budget of 500 fingerprints, far below one
// partition's, and with the default budget: the lakes and counts match.
func TestDedupTinyBudgetIngestMatchesDefault(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spills := 0
	old := dedupSpillHook
	dedupSpillHook = func(string, int) { spills++ }
	defer func() { dedupSpillHook = old }()
	src := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	var all []string
	object := func(name string, n int) {
		var b strings.Builder
		for i := range n {
			var line string
			switch {
			case len(all) > 0 && r.IntN(4) == 0:
				line = all[r.IntN(len(all))] // a record delivered again
			default:
				day := 14
				if r.IntN(10) == 0 {
					day = 15
				}
				line = fmt.Sprintf("2026-11-%dT%02d:%02d:%02dZ|111122223333|us-east-1|%s-%d|%d", day, r.IntN(24), r.IntN(60), r.IntN(60), name, i, r.Int())
				all = append(all, line)
			}
			b.WriteString(line + "\n")
		}
		writeFile(t, filepath.Join(src, name+".lines"), b.String())
	}
	for i := range 6 {
		object(fmt.Sprintf("o%d", i), 4000)
	}
	tiny, def := t.TempDir(), t.TempDir()
	// One worker: which copy of a record is kept does not depend on
	// timing, so the objects' counts compare too.
	cfg := Config{Workers: 1, MemoryBudget: 256 << 10}
	small := cfg
	small.DedupEntries = 500
	compare := func(what string, cfg Config) {
		t.Helper()
		a, b := ingestDir(t, def, cfg, src), ingestDir(t, tiny, small, src)
		a.Counts.Seconds, b.Counts.Seconds = 0, 0
		if a.Counts != b.Counts {
			t.Errorf("%s: counts with the default budget %+v, with 500 %+v", what, a.Counts, b.Counts)
		}
		if ra, rb := lakeRows(t, def), lakeRows(t, tiny); !slices.Equal(ra, rb) {
			t.Errorf("%s: lakes differ: %d rows with the default budget, %d with 500", what, len(ra), len(rb))
		}
		ma, mb := checkAccounting(t, def), checkAccounting(t, tiny)
		for _, e := range ma.Entries() {
			f, _ := mb.Lookup(e.URI)
			if e.RowsWritten != f.RowsWritten || e.Duplicates != f.Duplicates || e.Resumed != f.Resumed {
				t.Errorf("%s: %s: %d rows, %d duplicates, %d resumed with the default budget; %d, %d, %d with 500",
					what, e.URI, e.RowsWritten, e.Duplicates, e.Resumed, f.RowsWritten, f.Duplicates, f.Resumed)
			}
		}
		if a.Duplicates == 0 {
			t.Errorf("%s: no duplicates", what)
		}
	}
	compare("first run", cfg)
	// A later object repeats records of the lake: the partition is
	// loaded again, bigger than the budget.
	object("o6", 3000)
	compare("second run", cfg)
	force := cfg
	force.Force = true
	small.Force = true
	compare("forced run", force)
	// Rows never spilled: a commit per half memory budget.
	def, tiny = t.TempDir(), t.TempDir()
	cfg.SpillBytes, small.SpillBytes, small.Force = -1, -1, false
	compare("run with commits", cfg)
	if spills < 20 {
		t.Errorf("%d spills with a budget of 500", spills)
	}
	if des, _ := os.ReadDir(tmp); len(des) > 0 {
		t.Errorf("left in the temporary folder: %v", des)
	}
}

// lakeRows lists the rows of a lake with their provenance, sorted.
func lakeRows(t *testing.T, lake string) []string {
	var out []string
	for _, r := range readLake(t, lake) {
		out = append(out, fmt.Sprintf("%d|%s|%s|%s@%d", r.EventTime, r.ID, r.Text, r.SourceURI, r.SourceOffset))
	}
	slices.Sort(out)
	return out
}

func TestDedupSpillFailureFailsTheRun(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	src, lake := t.TempDir(), t.TempDir()
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "2026-11-14T02:00:00Z|1|r|e%d|x\n", i)
	}
	writeFile(t, filepath.Join(src, "a.lines"), b.String())
	_, err := Run(t.Context(), Config{Lake: lake, Sources: testSources(), DedupEntries: 100, MemoryBudget: 64 << 10}, []string{src})
	if err == nil || !strings.Contains(err.Error(), "spill the duplicate index of lines/account=1/region=r/date=2026-11-14 to disk: create its temporary folder (see TMPDIR): ") {
		t.Fatalf("Run = %v", err)
	}
}

// BenchmarkDedupClaim measures a claim in a partition that never spilled
// and in one whose hot table spilled 4 Mi fingerprints: of new
// fingerprints (a filter probe each, at most about 1% of them also a
// read), of
// fingerprints on disk (a filter probe and a read), and of new ones in a
// partition spilling as it grows (sorting, writing and merging runs).
func BenchmarkDedupClaim(b *testing.B) {
	b.Setenv("TMPDIR", b.TempDir())
	r := rand.New(rand.NewPCG(7, 8))
	const hot = 1 << 20
	fps := make([]Hash, hot)
	for i := range fps {
		fps[i] = Hash{Hi: r.Uint64(), Lo: r.Uint64()}
	}
	// claims claims fps over and over, emptying the hot table between
	// rounds (as a spill would, but without writing), prefetching as the
	// writer does.
	w := &typedWriter[lineRow, *lineRow]{}
	meta := make([]rowMeta, len(fps))
	for i, h := range fps {
		meta[i].h = h
	}
	claims := func(b *testing.B, p *partDedup) {
		b.ReportAllocs()
		p.table.reset()
		p.pending = p.pending[:0]
		i := 0
		for b.Loop() {
			if i == len(fps) {
				p.table.reset()
				p.pending = p.pending[:0]
				i = 0
			}
			if i%prefetchRows == 0 {
				w.prefetch(p, meta[i:min(i+prefetchRows, len(meta))])
			}
			if _, dup, err := p.claim(fps[i], uint64(i)); dup || err != nil {
				b.Fatal(dup, err)
			}
			i++
		}
	}
	b.Run("hot", func(b *testing.B) {
		claims(b, &partDedup{dir: "t"})
	})
	d := newDedupIndex(localFS{root: b.TempDir()}, 4<<20)
	defer d.close()
	spilled := &partDedup{dir: "t"}
	var cold []Hash
	for range 4 {
		for range 1 << 20 {
			h := Hash{Hi: r.Uint64(), Lo: r.Uint64()}
			spilled.claim(h, 1)
			if len(cold) < 1<<16 {
				cold = append(cold, h)
			}
		}
		if err := d.spill(spilled); err != nil {
			b.Fatal(err)
		}
	}
	spilled.pending = nil
	b.Run("spilled", func(b *testing.B) {
		claims(b, spilled)
	})
	b.Run("spilled-duplicates", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, dup, err := spilled.claim(cold[i%len(cold)], 2); !dup || err != nil {
				b.Fatal(dup, err)
			}
			i++
		}
	})
	b.Run("spilling", func(b *testing.B) {
		b.ReportAllocs()
		d := newDedupIndex(localFS{root: b.TempDir()}, hot)
		defer d.close()
		p := &partDedup{dir: "t"}
		for b.Loop() {
			p.claim(Hash{Hi: r.Uint64(), Lo: r.Uint64()}, 1)
			if p.table.n >= hot {
				p.pending = p.pending[:0]
				if err := d.spill(p); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
