package ingest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func s3Ingest(t *testing.T, f *fakeS3, lake string, cfg Config, inputs ...string) *Stats {
	t.Helper()
	cfg.S3 = f.config()
	return ingestDir(t, lake, cfg, inputs...)
}

func TestS3ListsThousandsOfKeysAcrossPages(t *testing.T) {
	f := startFakeS3(t, "logs")
	objs := map[string]string{}
	for i := range 2500 {
		objs[fmt.Sprintf("many/part-%02d/k%05d.lines", i%7, i)] = fmt.Sprintf("2026-11-14T02:00:00Z|111122223333|us-east-1|k%d|x\n", i)
	}
	f.putMany(t, "logs", objs)
	f.put(t, "logs", "many/.hidden/skip.lines", "2026-11-14T02:00:00Z|1|r|hidden|x\n")
	f.put(t, "logs", "many-not-below/k.lines", "2026-11-14T02:00:00Z|1|r|sibling|x\n")
	f.resetCounts()

	lake := t.TempDir()
	st := s3Ingest(t, f, lake, Config{}, "s3://logs/many")
	if st.ObjectsListed != 2500 || st.Objects != 2500 || st.RowsWritten != 2500 {
		t.Fatalf("listed %d, ingested %d objects, %d rows; want 2500 each", st.ObjectsListed, st.Objects, st.RowsWritten)
	}
	if n := f.lists.Load(); n < 3 {
		t.Errorf("%d ListObjectsV2 requests for 2500 keys; want pages of at most 1000", n)
	}
	m := checkAccounting(t, lake)
	e, ok := m.Lookup("s3://logs/many/part-00/k00000.lines")
	if !ok || e.ETag == "" || e.SHA256 == "" || e.Status != StatusOK {
		t.Errorf("manifest entry = %+v", e)
	}
	// Late objects are picked up by the next run, the rest is unchanged.
	f.put(t, "logs", "many/late.lines", "2026-11-14T03:00:00Z|111122223333|us-east-1|late|x\n")
	st = s3Ingest(t, f, lake, Config{}, "s3://logs/many/")
	if st.Objects != 1 || st.SkippedUnchanged != 2500 || st.RowsWritten != 1 {
		t.Errorf("second run: %d objects, %d unchanged, %d rows", st.Objects, st.SkippedUnchanged, st.RowsWritten)
	}
}

// orgTree is a CloudTrail / flow log / access log bucket over days days.
func orgTree(from time.Time, days int) map[string]string {
	objs := map[string]string{}
	line := func(d time.Time, acct, region, id string) string {
		return d.Add(3*time.Hour).Format(time.RFC3339) + "|" + acct + "|" + region + "|" + id + "|x\n"
	}
	for i := range days {
		d := from.AddDate(0, 0, i)
		ymd := d.Format("2006/01/02")
		stamp := d.Format("20060102T1504Z")
		for _, acct := range []string{"111111111111", "222222222222"} {
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				objs[fmt.Sprintf("AWSLogs/o-abc123/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_x.lines.gz", acct, region, ymd, acct, region, stamp)] = line(d, acct, region, "ct-"+acct+region+ymd)
			}
		}
		objs[fmt.Sprintf("AWSLogs/111111111111/vpcflowlogs/us-east-1/%s/111111111111_vpcflowlogs_us-east-1_fl-1_%s_x.lines", ymd, stamp)] = line(d, "111111111111", "us-east-1", "fl"+ymd)
		objs[fmt.Sprintf("access/%s-03-00-00-ABCDEF0123456789.lines", d.Format("2006-01-02"))] = line(d, "111111111111", "us-east-1", "sa"+ymd)
		objs[fmt.Sprintf("partitioned/111111111111/eu-west-1/my-bucket/%s/%s-03-00-00-ABCDEF.lines", ymd, d.Format("2006-01-02"))] = line(d, "111111111111", "eu-west-1", "sp"+ymd)
	}
	return objs
}

func TestS3DateRangeListsOnlyTheSelectedDays(t *testing.T) {
	f := startFakeS3(t, "trail")
	tree := orgTree(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 401)
	f.putMany(t, "trail", tree)
	clients, err := newS3Clients(t.Context(), f.config())
	if err != nil {
		t.Fatal(err)
	}
	noSkip := func(string, string) bool { return false }
	dayKey := regexp.MustCompile(`(?:/(\d{4})/(\d{2})/(\d{2})/|/(\d{4})-(\d{2})-(\d{2})-)`)
	dayOf := func(k string) string {
		m := dayKey.FindStringSubmatch(k)
		return strings.Join(slices.DeleteFunc(m[1:], func(s string) bool { return s == "" }), "-")
	}

	cases := []struct {
		name     string
		sel      Selection
		want     func(key string) bool
		maxLists int64
	}{
		{"one week", Selection{From: time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)},
			func(k string) bool { d := dayOf(k); return d >= "2026-03-30" && d <= "2026-04-05" }, 80},
		{"one day, one account, one region", Selection{From: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
			Accounts: []string{"222222222222"}, Regions: []string{"eu-west-1"}},
			func(k string) bool {
				// The date-based access logs name no account or region.
				return dayOf(k) == "2025-12-31" && (strings.Contains(k, "/222222222222/CloudTrail/eu-west-1/") || strings.HasPrefix(k, "access/"))
			}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.resetCounts()
			objs, err := listS3(t.Context(), clients, "s3://trail/", &c.sel, noSkip)
			if err != nil {
				t.Fatal(err)
			}
			objs = c.sel.Select(objs, testSources())
			var got, want []string
			for _, o := range objs {
				got = append(got, o.Key)
			}
			for k := range tree {
				if c.want(k) {
					want = append(want, k)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("listed %d objects, want %d\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
			if n := f.lists.Load(); n > c.maxLists {
				t.Errorf("%d ListObjectsV2 requests, want at most %d", n, c.maxLists)
			}
			// Every full (non-delimiter) listing is of one day.
			for _, r := range f.listRequests() {
				if !r.delimiter && !dayKey.MatchString("/"+r.prefix) {
					t.Errorf("full listing of %q, not of a day prefix", r.prefix)
				}
			}
			t.Logf("%d objects with %d list requests (the bucket holds %d)", len(got), f.lists.Load(), len(tree))
		})
	}
}

func TestS3TransientErrorsAreRetried(t *testing.T) {
	f := startFakeS3(t, "logs")
	objs := map[string]string{}
	for i := range 20 {
		objs[fmt.Sprintf("t/o%02d.lines", i)] = linesObject(50, fmt.Sprint(i))
	}
	f.putMany(t, "logs", objs)
	f.put(t, "logs", "t/big.lines.gz", linesObject(20000, "big"))
	f.failList.Store(1)
	f.fail5xx.Store(3)
	f.cutBody.Store(2) // two GETs break off mid-body and are resumed
	lake := t.TempDir()
	st := s3Ingest(t, f, lake, Config{Workers: 1}, "s3://logs/t/")
	if st.Objects != 21 || st.ObjectsFailed != 0 || len(st.Failures) > 0 || st.RowsWritten != 21000 {
		t.Fatalf("stats = %+v, failures %v", st.Counts, st.Failures)
	}
	if n := f.injected.Load(); n != 6 {
		t.Errorf("%d failures injected, want 6", n)
	}
	ref := t.TempDir()
	src := t.TempDir()
	for k, v := range objs {
		writeFile(t, filepath.Join(src, k), v)
	}
	writeFile(t, filepath.Join(src, "t/big.lines.gz"), linesObject(20000, "big"))
	ingestDir(t, ref, Config{}, src)
	if got, want := contents(readLake(t, lake)), contents(readLake(t, ref)); !slices.Equal(got, want) {
		t.Errorf("lake after retries has %d rows, want %d", len(got), len(want))
	}
}

// sampleTree writes a tree with duplicates, gzip, a bad line and several
// partitions.
func sampleTree(t *testing.T) string {
	src := t.TempDir()
	rec := "2026-11-14T02:00:00Z|111122223333|us-east-1|ev-1|GetObject\n"
	writeFile(t, filepath.Join(src, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/14/a.lines"), rec+rec+"garbage\n")
	writeFile(t, filepath.Join(src, "AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/11/14/a.lines.gz"), rec+linesObject(300, "org"))
	for i := range 12 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("misc/f%02d.lines", i)),
			fmt.Sprintf("2026-11-%02dT01:00:00Z|44445555666%d|eu-west-%d|m%d|y\n", 14+i%3, i%3, 1+i%2, i)+linesObject(40, fmt.Sprint("m", i)))
	}
	return src
}

func TestS3SourceToS3LakeMatchesLocalIngest(t *testing.T) {
	f := startFakeS3(t, "evidence", "lakes")
	src := sampleTree(t)
	f.uploadDir(t, src, "evidence", "case-7/")
	local := t.TempDir()
	// Tiny commits of a few spills each; an S3 lake's spills go to the
	// temporary folder, which must be left clean.
	cfg := Config{MemoryBudget: 16 << 10, SpillBytes: 24 << 10}
	wantSt := ingestDir(t, local, cfg, src)

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	const lake = "s3://lakes/incident/lake"
	st := s3Ingest(t, f, lake, cfg, "s3://evidence/case-7")
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
	if st.Spills == 0 {
		t.Errorf("no spills; the test wants some")
	}
	gotCounts, wantCounts := st.Counts, wantSt.Counts
	gotCounts.Seconds, wantCounts.Seconds = 0, 0 // time differs; every count must not
	if gotCounts != wantCounts {
		t.Errorf("S3 run counts %+v\nlocal run counts %+v", gotCounts, wantCounts)
	}
	if st.Commits < 2 {
		t.Errorf("%d commits; the test wants several", st.Commits)
	}
	keys := f.keys(t, "lakes", "incident/lake/")
	for _, k := range keys {
		if strings.Contains(k, "/_leakscope/staging/") || strings.HasSuffix(k, "/_leakscope/lock") {
			t.Errorf("left behind: %s", k)
		}
	}
	got := f.download(t, "lakes", "incident/lake/")
	if g, w := contents(readLake(t, got)), contents(readLake(t, local)); !slices.Equal(g, w) {
		t.Fatalf("S3 lake has %d rows, local lake %d", len(g), len(w))
	}
	partitions := func(dir string) []string {
		var out []string
		for _, r := range readLake(t, dir) {
			rel, _ := filepath.Rel(dir, filepath.Dir(r.file))
			out = append(out, rel+"|"+r.ID)
		}
		slices.Sort(out)
		return out
	}
	if g, w := partitions(got), partitions(local); !slices.Equal(g, w) {
		t.Errorf("partitions differ:\n%v\n%v", g, w)
	}
	m := checkAccounting(t, got)
	wm := checkAccounting(t, local)
	if m.Len() != wm.Len() {
		t.Errorf("manifest has %d objects, want %d", m.Len(), wm.Len())
	}
	for _, e := range m.Entries() {
		if !strings.HasPrefix(e.URI, "s3://evidence/case-7/") || e.ETag == "" {
			t.Errorf("entry %s etag %q", e.URI, e.ETag)
		}
		w, ok := wm.Lookup(filepath.Join(src, strings.TrimPrefix(e.URI, "s3://evidence/case-7/")))
		// Which copy of a duplicate is kept depends on which object is
		// read first; the sum does not.
		if !ok || w.SHA256 != e.SHA256 || w.RecordsRead != e.RecordsRead || w.Quarantined != e.Quarantined || w.RowsWritten+w.Duplicates != e.RowsWritten+e.Duplicates {
			t.Errorf("%s: %+v\nlocal %+v", e.URI, e, w)
		}
	}
	if q, _ := filepath.Glob(filepath.Join(got, QuarantineDir, "*.jsonl")); len(q) == 0 {
		t.Error("no quarantine in the S3 lake")
	}
	// Idempotent: a second run reads nothing and writes nothing.
	st = s3Ingest(t, f, lake, Config{}, "s3://evidence/case-7")
	if st.Objects != 0 || st.SkippedUnchanged != int64(wm.Len()) {
		t.Errorf("second run: %+v", st)
	}
	// A second ingest while the lake is locked is refused.
	release, err := mustS3Lake(t, f, lake).Lock(t.Context(), "lock", "other-run")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(t.Context(), Config{Lake: lake, Sources: testSources(), S3: f.config()}, []string{"s3://evidence/case-7"})
	if err == nil || !strings.Contains(err.Error(), "in use by leakscope ingest run other-run") {
		t.Errorf("locked lake: err = %v", err)
	}
	release()
}

func mustS3Lake(t *testing.T, f *fakeS3, root string) *s3Lake {
	t.Helper()
	clients, err := newS3Clients(t.Context(), f.config())
	if err != nil {
		t.Fatal(err)
	}
	l, err := openS3Lake(t.Context(), root, clients, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestS3ChangedObjectIsIngestedAgain(t *testing.T) {
	f := startFakeS3(t, "logs")
	f.put(t, "logs", "c/a.lines", "2026-11-14T02:00:00Z|1|r|a1|first version\n")
	f.put(t, "logs", "c/b.lines", "2026-11-14T02:00:00Z|1|r|b1|x\n")
	lake := t.TempDir()
	s3Ingest(t, f, lake, Config{}, "s3://logs/c")
	before, _ := LoadManifest(lake)
	f.put(t, "logs", "c/a.lines", "2026-11-14T02:00:00Z|1|r|a1|first version\n2026-11-14T02:00:01Z|1|r|a2|appended\n")
	st := s3Ingest(t, f, lake, Config{}, "s3://logs/c")
	// The first record is already in the lake (resumed), the second is new.
	if st.Objects != 1 || st.SkippedUnchanged != 1 || st.RowsWritten != 2 || st.Resumed != 1 || st.Duplicates != 0 {
		t.Fatalf("after the change: %+v", st.Counts)
	}
	after := checkAccounting(t, lake)
	eb, _ := before.Lookup("s3://logs/c/a.lines")
	ea, _ := after.Lookup("s3://logs/c/a.lines")
	if eb.ETag == ea.ETag || ea.RecordsRead != 2 {
		t.Errorf("entry before %+v, after %+v", eb, ea)
	}
	if got := contents(readLake(t, lake)); len(got) != 3 {
		t.Errorf("lake = %v", got)
	}
}

func TestShardsCoverEveryObjectExactlyOnce(t *testing.T) {
	src := t.TempDir()
	tree := orgTree(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 40)
	for i := range 60 {
		tree[fmt.Sprintf("loose/x%03d.lines", i)] = "2026-01-01T00:00:00Z|1|r|x|y\n"
	}
	for k, v := range tree {
		writeFile(t, filepath.Join(src, k), v)
	}
	all, err := ListLocal([]string{src}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3, 7} {
		seen := map[string]int{}
		for k := range n {
			sel := Selection{Shard: Shard{K: k, N: n}}
			part := sel.Select(all, testSources())
			if n > 1 && (len(part) == 0 || len(part) > len(all)*2/n) {
				t.Errorf("N=%d: shard %d has %d of %d objects", n, k, len(part), len(all))
			}
			for _, o := range part {
				seen[o.URI]++
			}
		}
		if len(seen) != len(all) {
			t.Errorf("N=%d: shards cover %d of %d objects", n, len(seen), len(all))
		}
		for uri, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: %s in %d shards", n, uri, c)
			}
		}
	}
	// The same object lands in the same shard whatever folder the tree is
	// mounted at, and the organisation trail's copy of a day with the
	// account trail's copy.
	moved := t.TempDir()
	if err := os.Rename(src, filepath.Join(moved, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	all2, _ := ListLocal([]string{filepath.Join(moved, "elsewhere")}, "")
	for i := range all {
		f1, f2 := facts(all[i].Key, testSources()), facts(all2[i].Key, testSources())
		if shardOf(all[i].rel, f1, 7) != shardOf(all2[i].rel, f2, 7) {
			t.Fatalf("%s moves shard with its mount point", all[i].rel)
		}
	}
	org := facts("AWSLogs/o-abc123/111111111111/CloudTrail/us-east-1/2026/01/02/x.json.gz", nil)
	acct := facts("AWSLogs/111111111111/CloudTrail/us-east-1/2026/01/02/y.json.gz", nil)
	if org != acct || shardOf("a", org, 7) != shardOf("b", acct, 7) {
		t.Errorf("organisation and account trail copies of a day are split: %+v %+v", org, acct)
	}
}

func TestShardedWorkersFillOneS3Lake(t *testing.T) {
	f := startFakeS3(t, "evidence", "lakes")
	src := sampleTree(t)
	tree := orgTree(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 20)
	for k, v := range tree {
		writeFile(t, filepath.Join(src, "org", k), v)
	}
	f.uploadDir(t, src, "evidence", "")
	ref := t.TempDir()
	ingestDir(t, ref, Config{}, src)

	const lake = "s3://lakes/sharded"
	const n = 3
	var wg sync.WaitGroup
	stats := make([]*Stats, n)
	errs := make([]error, n)
	for k := range n {
		wg.Go(func() {
			stats[k], errs[k] = Run(t.Context(), Config{Lake: lake, Sources: testSources(), S3: f.config(), ToolVersion: "test",
				MemoryBudget: 16 << 10, Select: Selection{Shard: Shard{K: k, N: n}}}, []string{"s3://evidence/"})
		})
	}
	wg.Wait()
	var objects int64
	for k := range n {
		if errs[k] != nil {
			t.Fatalf("shard %d: %v", k, errs[k])
		}
		objects += stats[k].Objects + stats[k].ObjectsSkipped
	}
	got := f.download(t, "lakes", "sharded/")
	m := checkAccounting(t, got)
	wm := checkAccounting(t, ref)
	if int(objects) != wm.Len() || m.Len() != wm.Len() {
		t.Errorf("shards handled %d objects, manifest %d, want %d", objects, m.Len(), wm.Len())
	}
	if g, w := contents(readLake(t, got)), contents(readLake(t, ref)); !slices.Equal(g, w) {
		t.Errorf("sharded lake has %d rows, unsharded %d", len(g), len(w))
	}
}

func TestS3ReaderAtServesRangedReads(t *testing.T) {
	f := startFakeS3(t, "logs")
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	f.putBytes(t, "logs", "flow/x.parquet", data)
	clients, _ := newS3Clients(t.Context(), f.config())
	objs, err := listS3(t.Context(), clients, "s3://logs/flow/x.parquet", &Selection{}, func(string, string) bool { return false })
	if err != nil || len(objs) != 1 || objs[0].Size != int64(len(data)) {
		t.Fatalf("objs = %+v, %v", objs, err)
	}
	f.resetCounts()
	ra, closer, err := objs[0].readerAt(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	for _, c := range []struct{ off, n int64 }{{int64(len(data)) - 8, 8}, {0, 4}, {100, 1000}, {1 << 20, 2 << 20}, {int64(len(data)) - 100, 200}} {
		p := make([]byte, c.n)
		n, err := ra.ReadAt(p, c.off)
		want := data[c.off:min(c.off+c.n, int64(len(data)))]
		if !bytes.Equal(p[:n], want) || (n < len(p)) != (err == io.EOF) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
	}
	if r, g := f.ranged.Load(), f.gets.Load(); r != g || r > 4 {
		t.Errorf("%d GETs, %d ranged; want few ranged GETs", g, r)
	}
}

func TestKilledS3IngestResumesToTheSameLake(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	f := startFakeS3(t, "evidence", "lakes")
	src := t.TempDir()
	for i := range 24 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("o%02d.lines", i)), linesObject(120, fmt.Sprint(i))+"garbage\n")
	}
	f.uploadDir(t, src, "evidence", "crash/")
	ref := t.TempDir()
	ingestDir(t, ref, Config{}, src)
	want := contents(readLake(t, ref))

	for i, c := range []string{"staged:1", "recorded:2", "renamed-one:2", "kill@300ms"} {
		t.Run(c, func(t *testing.T) {
			lake := fmt.Sprintf("s3://lakes/crash%d", i)
			env := []string{"LEAKSCOPE_CHILD_ENDPOINT=" + f.URL}
			if after, ok := strings.CutPrefix(c, "kill@"); ok {
				d, _ := time.ParseDuration(after)
				runChildEnv(t, "s3://evidence/crash/", lake, "", d, env)
			} else {
				runChildEnv(t, "s3://evidence/crash/", lake, c, 0, env)
			}
			// Whatever is visible as data after the crash is whole Parquet.
			readLake(t, f.download(t, "lakes", fmt.Sprintf("crash%d/lines/", i)))
			// The lock of the killed run is stale only after lockTTL: take
			// it over the way an operator would.
			mustS3Lake(t, f, lake).client.DeleteObject(t.Context(), s3DeleteInput("lakes", fmt.Sprintf("crash%d/_leakscope/lock", i)))
			runChildEnv(t, "s3://evidence/crash/", lake, "", 0, env)
			dir := f.download(t, "lakes", fmt.Sprintf("crash%d/", i))
			if got := contents(readLake(t, dir)); !slices.Equal(got, want) {
				t.Fatalf("resumed lake has %d rows, uninterrupted %d", len(got), len(want))
			}
			checkAccounting(t, dir)
			if left := f.keys(t, "lakes", fmt.Sprintf("crash%d/_leakscope/staging/", i)); len(left) > 0 {
				t.Errorf("staging left: %v", left)
			}
		})
	}
}

func s3DeleteInput(bucket, key string) *s3.DeleteObjectInput {
	return &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}
}
