package ingest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// benchMB is the uncompressed size of the benchmark tree:
// $LEAKSCOPE_BENCH_MB, default 256 (make test sets a small value).
func benchMB() int {
	if v, err := strconv.Atoi(os.Getenv("LEAKSCOPE_BENCH_MB")); err == nil && v > 0 {
		return v
	}
	return 256
}

// benchTree writes an AWS-layout tree of gzip objects of about 1 MB
// uncompressed each and returns its uncompressed size.
func benchTree(b *testing.B, dir string, mb int) int64 {
	var total int64
	start := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)
	for obj := 0; total < int64(mb)<<20; obj++ {
		t := start.Add(time.Duration(obj) * 5 * time.Minute)
		p := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", t.Format("2006/01/02"), fmt.Sprintf("o%06d.lines.gz", obj))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		bw := bufio.NewWriter(zw)
		for n := 0; n < 1<<20; {
			k, _ := fmt.Fprintf(bw, "%s|111122223333|us-east-1|ev-%d-%d|GetObject s3://bucket/key-%d by arn:aws:sts::111122223333:assumed-role/app/i-%d\n",
				t.Add(time.Duration(n)*time.Microsecond).Format(time.RFC3339Nano), obj, n, n%977, n%31)
			n += k
			total += int64(k)
		}
		bw.Flush()
		zw.Close()
		f.Close()
	}
	return total
}

// BenchmarkIngestS3VsLocal ingests the same tree from local disk and from
// the loopback S3 server, in the same run, and reports the ratio of the
// S3 time to the local time (target: at most 1.5).
func BenchmarkIngestS3VsLocal(b *testing.B) {
	f := startFakeS3(b, "bench")
	src := b.TempDir()
	size := benchTree(b, src, benchMB())
	f.uploadDir(b, src, "bench", "logs/")
	var local, remote time.Duration
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, s3src := range []bool{false, true} {
			cfg := Config{Lake: filepath.Join(b.TempDir(), "lake"), Sources: testSources(), ToolVersion: "bench", S3: f.config()}
			in := src
			if s3src {
				in = "s3://bench/logs/"
			}
			t0 := time.Now()
			st, err := Run(b.Context(), cfg, []string{in})
			if err != nil {
				b.Fatal(err)
			}
			if st.ObjectsFailed > 0 || st.BytesDecoded != size {
				b.Fatalf("run from %s: %+v", in, st.Counts)
			}
			if s3src {
				remote += time.Since(t0)
			} else {
				local += time.Since(t0)
			}
		}
	}
	b.ReportMetric(float64(size)/1e6/local.Seconds()*float64(b.N), "local-MB/s")
	b.ReportMetric(float64(size)/1e6/remote.Seconds()*float64(b.N), "s3-MB/s")
	b.ReportMetric(remote.Seconds()/local.Seconds(), "s3/local")
}
