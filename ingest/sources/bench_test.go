package sources

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/gzip"

	"github.com/leakscope/leakscope/ingest"
)

// benchMB is the uncompressed size of the generated CloudTrail tree:
// $LEAKSCOPE_BENCH_MB, default 1024 (make test sets a small value).
func benchMB() int {
	if v, err := strconv.Atoi(os.Getenv("LEAKSCOPE_BENCH_MB")); err == nil && v > 0 {
		return v
	}
	return 1024
}

// cloudTrailTemplates loads the valid events of the corpus as templates
// with their eventID and eventTime replaced by markers.
func cloudTrailTemplates(tb testing.TB) []string {
	corpus := filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail")
	files, _ := filepath.Glob(filepath.Join(corpus, "stratus_*.json"))
	more, _ := filepath.Glob(filepath.Join(corpus, "awsdocs_*examples.json"))
	files = append(files, more...)
	if len(files) == 0 {
		tb.Skip("corpus not found beside the checkout")
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var events []map[string]any
		if err := json.Unmarshal(b, &events); err != nil {
			var rec struct{ Records []map[string]any }
			if err := json.Unmarshal(b, &rec); err != nil {
				continue
			}
			events = rec.Records
		}
		for _, ev := range events {
			if _, ok := ev["eventTime"]; !ok {
				continue
			}
			ev["eventID"] = "@ID@"
			ev["eventTime"] = "@TIME@"
			ev["awsRegion"] = "us-east-1"
			ev["recipientAccountId"] = "111122223333"
			t, err := json.Marshal(ev)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, string(t))
		}
	}
	return out
}

// cloudTrailTree writes (once, cached in the temp folder) an AWS-layout
// tree of gzip {"Records":[...]} objects of about 1 MB uncompressed each,
// and returns its root and uncompressed size.
func cloudTrailTree(tb testing.TB, mb int) (string, int64) {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("leakscope-bench-cloudtrail-%dmb", mb))
	sizeFile := filepath.Join(root, "SIZE")
	if b, err := os.ReadFile(sizeFile); err == nil {
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return filepath.Join(root, "AWSLogs"), n
	}
	os.RemoveAll(root)
	tmpl := cloudTrailTemplates(tb)
	target := int64(mb) << 20
	var total int64
	start := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)
	seq := 0
	for obj := 0; total < target; obj++ {
		t := start.Add(time.Duration(obj) * 5 * time.Second)
		dir := filepath.Join(root, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", t.Format("2006/01/02"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		name := fmt.Sprintf("111122223333_CloudTrail_us-east-1_%s_%06d.json.gz", t.Format("20060102T1504Z"), obj)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		bw := bufio.NewWriterSize(zw, 1<<16)
		n, _ := bw.WriteString(`{"Records":[`)
		written := int64(n)
		for i := 0; written < 1<<20; i++ {
			ev := tmpl[seq%len(tmpl)]
			seq++
			ev = strings.Replace(ev, "@ID@", fmt.Sprintf("%08x-0000-4000-8000-%012x", seq, seq), 1)
			ev = strings.Replace(ev, "@TIME@", t.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339), 1)
			if i > 0 {
				bw.WriteByte(',')
				written++
			}
			n, _ := bw.WriteString(ev)
			written += int64(n)
		}
		n, _ = bw.WriteString("]}")
		written += int64(n)
		if err := bw.Flush(); err != nil {
			tb.Fatal(err)
		}
		zw.Close()
		f.Close()
		total += written
	}
	if err := os.WriteFile(sizeFile, []byte(strconv.FormatInt(total, 10)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, "AWSLogs"), total
}

// tuneLikeCLI sets the Go runtime as `leakscope ingest` does, for the
// duration of the benchmark.
func tuneLikeCLI(b *testing.B) {
	ingest.TuneRuntime(0)
	b.Cleanup(func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

// BenchmarkIngestCloudTrail ingests the same generated tree with
// leakscope and with DuckDB's own read_json into zstd Parquet, in the same
// run, and reports both throughputs and their ratio.
func BenchmarkIngestCloudTrail(b *testing.B) {
	tree, size := cloudTrailTree(b, benchMB())
	tuneLikeCLI(b)
	ctx := context.Background()
	var leak, duck time.Duration
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		out := b.TempDir()
		t0 := time.Now()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		q := fmt.Sprintf(`COPY (SELECT unnest(Records, recursive := true) FROM read_json('%s/**/*.json.gz', format = 'auto', maximum_object_size = 268435456)) TO '%s/duck.parquet' (FORMAT parquet, COMPRESSION zstd)`, tree, out)
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("duckdb baseline: %v", err)
		}
		db.Close()
		duck += time.Since(t0)

		t1 := time.Now()
		st, err := ingest.Run(ctx, ingest.Config{Lake: filepath.Join(out, "lake"), Sources: All(), ToolVersion: "bench"}, []string{tree})
		if err != nil {
			b.Fatal(err)
		}
		leak += time.Since(t1)
		if st.Quarantined != 0 || st.RowsWritten == 0 {
			b.Fatalf("unexpected accounting %+v", st.Counts)
		}
	}
	n := float64(b.N)
	mb := float64(size) / 1e6
	cores := float64(runtime.GOMAXPROCS(0))
	b.ReportMetric(mb/(leak.Seconds()/n), "leakscope_MB/s")
	b.ReportMetric(mb/(leak.Seconds()/n)/cores, "leakscope_MB/s/core")
	b.ReportMetric(mb/(duck.Seconds()/n), "duckdb_MB/s")
	b.ReportMetric(duck.Seconds()/leak.Seconds(), "x_duckdb")
}
