package vpcflow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/leakscope/leakscope/ingest"
)

// genInput returns about size bytes of realistic flow-log text: version 2
// in the default format without a header, or version 5 with all v5 fields
// behind a header line. Deterministic.
func genInput(version, size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	if version == 5 {
		b.WriteString(strings.Join(namesV5, " "))
		b.WriteByte('\n')
	}
	x := uint64(88172645463325252)
	rnd := func(n uint64) uint64 { // xorshift
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x % n
	}
	actions := []string{"ACCEPT", "REJECT"}
	svcs := []string{"-", "S3", "AMAZON", "EC2", "-", "-"}
	// A realistic population: few accounts' VPCs, subnets and interfaces,
	// many peers.
	type eni struct{ id, instance, vpc, subnet, addr string }
	enis := make([]eni, 200)
	for i := range enis {
		vpc := rnd(4)
		enis[i] = eni{
			id:       fmt.Sprintf("eni-0%016x", rnd(1<<60)),
			instance: fmt.Sprintf("i-0%016x", rnd(1<<60)),
			vpc:      fmt.Sprintf("vpc-0%016x", 0xabc0+vpc),
			subnet:   fmt.Sprintf("subnet-0%016x", 0xdef00+vpc*8+rnd(8)),
			addr:     fmt.Sprintf("10.%d.%d.%d", vpc, rnd(256), 1+rnd(254)),
		}
	}
	var line []byte
	start := int64(1700000000)
	for b.Len() < size {
		start += int64(rnd(3))
		e := enis[rnd(uint64(len(enis)))]
		peer := fmt.Appendf(nil, "%d.%d.%d.%d", 1+rnd(223), rnd(256), rnd(256), rnd(256))
		src, dst := []byte(e.addr), peer
		sport, dport := 1024+rnd(60000), []uint64{443, 80, 22, 5432}[rnd(4)]
		dir := "egress"
		if rnd(2) == 0 {
			src, dst, sport, dport, dir = dst, src, dport, sport, "ingress"
		}
		line = line[:0]
		line = strconv.AppendInt(line, int64(version), 10)
		line = append(line, " 123456789012 "...)
		line = append(line, e.id...)
		switch rnd(20) {
		case 0: // NODATA
			line = fmt.Appendf(line, " - - - - - - - %d %d - NODATA", start, start+60)
		default:
			line = fmt.Appendf(line, " %s %s %d %d 6 %d %d %d %d %s OK", src, dst, sport, dport,
				1+rnd(5000), 40+rnd(5000000), start, start+int64(rnd(60)), actions[rnd(2)])
		}
		if version == 5 {
			line = fmt.Appendf(line, " %s %s %s %d IPv4 %s %s us-east-1 use1-az%d - - %s %s %s %d",
				e.vpc, e.subnet, e.instance, rnd(32), src, dst, 1+rnd(6), svcs[rnd(6)], svcs[rnd(6)], dir, 1+rnd(8))
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	const size = 32 << 20
	inputs := []struct {
		name string
		data []byte
	}{
		{"v2", genInput(2, size)},
		{"v5", genInput(5, size)},
	}
	for _, in := range inputs {
		rows := 0
		sink := ingest.Sink[Row]{
			Rows: func(r []Row) error { rows += len(r); return nil },
			Bad:  func(bad ingest.BadRecord) error { return fmt.Errorf("bad record: %s", bad.Reason) },
		}
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				rows = 0
				if err := Decode(context.Background(), ingest.ObjectInfo{URI: "bench"}, bytes.NewReader(in.data), sink); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu, len(in.data))
			b.ReportMetric(float64(rows), "rows/op")
		})
		// End to end: decode, then write zstd (fastest) Parquet with the
		// Spec's bloom filters, roughly as the lake writer does (minus
		// sorting, partitioning and file I/O).
		b.Run(in.name+"-parquet", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				blooms := make([]parquet.BloomFilterColumn, 0, len(Spec().Bloom))
				for _, c := range Spec().Bloom {
					blooms = append(blooms, parquet.SplitBlockFilter(10, c))
				}
				w := parquet.NewGenericWriter[Row](io.Discard, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}), parquet.BloomFilters(blooms...))
				sink := ingest.Sink[Row]{
					Rows: func(r []Row) error { _, err := w.Write(r); return err },
					Bad:  func(bad ingest.BadRecord) error { return fmt.Errorf("bad record: %s", bad.Reason) },
				}
				if err := Decode(context.Background(), ingest.ObjectInfo{URI: "bench"}, bytes.NewReader(in.data), sink); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu, len(in.data))
		})
	}
}

// reportCPU reports throughput per second of CPU time (all threads, GC
// included): on a shared machine wall-clock MB/s mostly measures the
// neighbours, while this is what one core sustains.
func reportCPU(b *testing.B, start time.Duration, size int) {
	if d := cpuTime() - start; d > 0 && b.N > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}
