package sources

import (
	"cmp"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/cloudtrail"
	"github.com/leakscope/leakscope/ingest/columnar"
	"github.com/leakscope/leakscope/ingest/s3access"
	"github.com/leakscope/leakscope/ingest/vpcflow"
)

// writeBenchMB caps the trees the Parquet writer benchmark decodes into
// memory.
func writeBenchMB() int { return min(benchMB(), 64) }

// decodeTree decodes every object below root with decode and returns the
// rows sorted as the lake writer sorts them, and the bytes decoded.
func decodeTree[R any, P interface {
	*R
	ingest.Row
}](tb testing.TB, root string, decode func(context.Context, ingest.ObjectInfo, io.Reader, ingest.Sink[R]) error) ([]*R, int64) {
	var rows []*R
	var size int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return err
			}
			r = zr
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		size += int64(len(data))
		rel, _ := filepath.Rel(root, path)
		return decode(context.Background(), ingest.ObjectInfo{URI: "file://" + path, Key: filepath.ToSlash(rel)}, strings.NewReader(string(data)), ingest.Sink[R]{
			Rows: func(rs []R) error {
				for i := range rs {
					P(&rs[i]).SetSourceURI("file://" + path)
					rows = append(rows, &rs[i])
				}
				return nil
			},
			Bad: func(ingest.BadRecord) error { return nil },
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b *R) int { return cmp.Compare(P(a).SortTime(), P(b).SortTime()) })
	return rows, size
}

// benchWrite times columnar.Write of rows (one goroutine) and reports it
// against the uncompressed input bytes the rows came from.
func benchWrite[R any](b *testing.B, rows []*R, size int64, spec ingest.Spec[R], sortBy string) {
	w, err := columnar.NewWriter[R](columnar.Options{Bloom: spec.Bloom, Unindexed: spec.Unindexed, SortedBy: sortBy})
	if err != nil {
		b.Fatal(err)
	}
	var out int64
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if out, err = w.Write(io.Discard, rows, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)), "rows")
	b.ReportMetric(float64(out)/float64(size), "parquet/input")
}

// BenchmarkWriteParquet measures the lake's Parquet writer alone, on rows
// decoded from the ingest benchmarks' trees (at most 64 MB each).
func BenchmarkWriteParquet(b *testing.B) {
	mb := writeBenchMB()
	b.Run("cloudtrail", func(b *testing.B) {
		root, _ := cloudTrailTree(b, mb)
		rows, size := decodeTree[cloudtrail.Row](b, root, cloudtrail.Decode)
		benchWrite(b, rows, size, cloudtrail.Spec(), "event_time")
	})
	b.Run("s3access", func(b *testing.B) {
		tree := s3AccessTree(b, mb)
		rows, size := decodeTree[s3access.Row](b, tree.root, s3access.Decode)
		benchWrite(b, rows, size, s3access.Spec(), "event_time")
	})
	for _, v := range []int{5, 2} {
		b.Run("vpcflow-v"+string(rune('0'+v)), func(b *testing.B) {
			tree := vpcFlowTree(b, v, mb)
			rows, size := decodeTree[vpcflow.Row](b, tree.root, vpcflow.Decode)
			benchWrite(b, rows, size, vpcflow.Spec(), "start_time")
		})
	}
}
