package sources

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/s3access"
)

// The text-log benchmarks mirror BenchmarkIngestCloudTrail: a tree of
// $LEAKSCOPE_BENCH_MB uncompressed megabytes in an AWS delivery layout is
// generated once (cached in the temp folder, keyed by size), then every
// iteration converts it into zstd Parquet twice, with DuckDB's own
// read_csv and with ingest.Run, and the two are reported side by side.

// benchTree is a generated tree: its root (the input of ingest.Run), the
// glob DuckDB reads, its uncompressed size and its number of records.
type benchTree struct {
	root, glob  string
	size, lines int64
}

// cachedTree returns the tree cached under name, or makes it with gen
// (which writes below root and returns size and record count) and caches
// it. A SIZE file beside the tree, written last, marks it complete.
func cachedTree(tb testing.TB, name, glob string, gen func(root string) (size, lines int64)) benchTree {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), name)
	root := filepath.Join(dir, "logs")
	sizeFile := filepath.Join(dir, "SIZE")
	if b, err := os.ReadFile(sizeFile); err == nil {
		var t benchTree
		if _, err := fmt.Sscan(string(b), &t.size, &t.lines); err == nil {
			t.root, t.glob = root, filepath.Join(root, glob)
			return t
		}
	}
	os.RemoveAll(dir)
	size, lines := gen(root)
	if err := os.WriteFile(sizeFile, fmt.Appendf(nil, "%d %d\n", size, lines), 0o644); err != nil {
		tb.Fatal(err)
	}
	return benchTree{root: root, glob: filepath.Join(root, glob), size: size, lines: lines}
}

// rng is a xorshift generator: deterministic and cheap.
type rng uint64

func (x *rng) next(n uint64) uint64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return uint64(*x) % n
}

// benchIngestText times duckdbQuery (a COPY whose two %s verbs take the
// glob and the output folder) and ingest.Run on the same tree, checks that
// both keep every record, and reports the throughputs.
func benchIngestText(b *testing.B, tree benchTree, table, duckdbQuery string) {
	tuneLikeCLI(b)
	ctx := context.Background()
	var leak, duck time.Duration
	b.SetBytes(tree.size)
	b.ReportAllocs()
	for b.Loop() {
		out := b.TempDir()
		t0 := time.Now()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		res, err := db.ExecContext(ctx, fmt.Sprintf(duckdbQuery, tree.glob, out))
		if err != nil {
			b.Fatalf("duckdb baseline: %v", err)
		}
		db.Close()
		duck += time.Since(t0)
		if n, err := res.RowsAffected(); err == nil && n != tree.lines {
			b.Fatalf("duckdb baseline wrote %d rows of %d records", n, tree.lines)
		}

		t1 := time.Now()
		st, err := ingest.Run(ctx, ingest.Config{Lake: filepath.Join(out, "lake"), Sources: All(), ToolVersion: "bench"}, []string{tree.root})
		if err != nil {
			b.Fatal(err)
		}
		leak += time.Since(t1)
		if got := st.Tables[table]; st.Quarantined != 0 || st.Duplicates != 0 || st.ObjectsFailed != 0 ||
			got.RowsWritten != tree.lines || st.RowsWritten != tree.lines {
			b.Fatalf("want %d rows in %s, got %+v (tables %+v)", tree.lines, table, st.Counts, st.Tables)
		}
	}
	n := float64(b.N)
	mb := float64(tree.size) / 1e6
	cores := float64(runtime.GOMAXPROCS(0))
	secs := leak.Seconds() / n
	b.ReportMetric(mb/secs, "leakscope_MB/s")
	b.ReportMetric(mb/secs/cores, "leakscope_MB/s/core")
	b.ReportMetric(float64(tree.lines)/secs, "leakscope_records/s")
	b.ReportMetric(float64(tree.lines)/secs/cores, "leakscope_records/s/core")
	b.ReportMetric(mb/(duck.Seconds()/n), "duckdb_MB/s")
	b.ReportMetric(duck.Seconds()/leak.Seconds(), "x_duckdb")
}

// ---- S3 server access logs ----

// s3AccessTemplates returns the corpus lines that leakscope decodes
// cleanly, split into fields (quoted and bracketed fields kept whole).
func s3AccessTemplates(tb testing.TB) [][]string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "s3access", "*.log"))
	if len(files) == 0 {
		tb.Skip("corpus not found beside the checkout")
	}
	var out [][]string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for l := range strings.Lines(string(data)) {
			l = strings.TrimSpace(l)
			ok := false
			sink := ingest.Sink[s3access.Row]{
				Rows: func(rs []s3access.Row) error { ok = len(rs) == 1; return nil },
				Bad:  func(ingest.BadRecord) error { ok = false; return nil },
			}
			if l == "" || s3access.Decode(context.Background(), ingest.ObjectInfo{URI: f}, strings.NewReader(l), sink) != nil || !ok {
				continue
			}
			if fields := splitAccessLine(l); len(fields) >= 18 {
				out = append(out, fields)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatal("no usable access log lines in the corpus")
	}
	return out
}

// splitAccessLine splits a line on spaces, keeping "quoted" (with \"
// escapes) and [bracketed] fields whole.
func splitAccessLine(l string) []string {
	var out []string
	for i := 0; i < len(l); {
		if l[i] == ' ' {
			i++
			continue
		}
		j := i
		switch l[i] {
		case '"':
			for j++; j < len(l) && l[j] != '"'; j++ {
				if l[j] == '\\' {
					j++
				}
			}
			j++
		case '[':
			j = i + strings.IndexByte(l[i:], ']') + 1
		default:
			for j < len(l) && l[j] != ' ' {
				j++
			}
		}
		j = min(j, len(l))
		out = append(out, l[i:j])
		i = j
	}
	return out
}

// s3AccessKey is the key of the seq-th generated request: a few families
// of realistic names, some with URL-encoded characters as S3 logs them.
func s3AccessKey(x *rng, seq int) string {
	switch x.next(5) {
	case 0:
		return fmt.Sprintf("photos/2026/%02d/IMG_%06d.jpg", 1+x.next(12), seq)
	case 1:
		return fmt.Sprintf("SRR%07d/reads_%d.fastq.gz", x.next(10000000), x.next(4))
	case 2:
		return fmt.Sprintf("exports/customer-data/dt=2026-11-%02d/part-%05d.csv", 1+x.next(28), seq%100000)
	case 3:
		return fmt.Sprintf("backups/db%%20dump%%20%d.sql.gz", seq)
	}
	return fmt.Sprintf("static/js/app.%08x.js", x.next(1<<32))
}

// writeAccessLine writes one variant of template f: its time, remote IP,
// request id, key (and request URI), host id and sometimes user agent vary.
func writeAccessLine(w *bufio.Writer, f []string, x *rng, seq int, t time.Time) int {
	var buf [56]byte
	for i := range buf {
		buf[i] = byte(x.next(256))
	}
	key := f[7]
	uri := f[8]
	if key != "-" {
		key = s3AccessKey(x, seq)
		if words := strings.Fields(strings.Trim(uri, `"`)); len(words) == 3 && strings.HasPrefix(words[1], "/") {
			query := ""
			if q := strings.IndexByte(words[1], '?'); q >= 0 {
				query = words[1][q:]
			}
			uri = `"` + words[0] + " /" + key + query + " " + words[2] + `"`
		}
	}
	ua := f[16]
	if seq%40 == 0 {
		ua = `"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \"compatible\" Chrome/120.0"`
	}
	n := 0
	for i, v := range f {
		switch i {
		case 2:
			v = t.Format("[02/Jan/2006:15:04:05 -0700]")
		case 3:
			v = fmt.Sprintf("%d.%d.%d.%d", 1+x.next(223), x.next(256), x.next(256), 1+x.next(254))
		case 5:
			v = fmt.Sprintf("%016X", uint64(seq)*0x9E3779B97F4A7C15)
		case 7:
			v = key
		case 8:
			v = uri
		case 16:
			v = ua
		case 18:
			if len(v) > 20 {
				v = base64.StdEncoding.EncodeToString(buf[:])
			}
		}
		if i > 0 {
			w.WriteByte(' ')
			n++
		}
		m, _ := w.WriteString(v)
		n += m
	}
	w.WriteByte('\n')
	return n + 1
}

// s3AccessTree writes plain-text access log objects of about 1 MB in the
// date-based delivery layout <prefix>YYYY-mm-DD-HH-MM-SS-<16 hex>, under a
// few target prefixes.
func s3AccessTree(tb testing.TB, mb int) benchTree {
	return cachedTree(tb, fmt.Sprintf("leakscope-bench-s3access-%dmb", mb), "*/*", func(root string) (int64, int64) {
		tmpl := s3AccessTemplates(tb)
		prefixes := []string{"access-logs-prod", "access-logs-data", "access-logs-web"}
		for _, p := range prefixes {
			if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		x := rng(88172645463325252)
		target := int64(mb) << 20
		var total, lines int64
		start := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)
		seq := 0
		for obj := 0; total < target; obj++ {
			t := start.Add(time.Duration(obj) * 7 * time.Second)
			name := fmt.Sprintf("%s-%016X", t.Format("2006-01-02-15-04-05"), x.next(1<<63))
			f, err := os.Create(filepath.Join(root, prefixes[obj%len(prefixes)], name))
			if err != nil {
				tb.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<16)
			var written int64
			for i := 0; written < 1<<20; i++ {
				seq++
				lt := t.Add(-5 * time.Minute).Add(time.Duration(i) * 100 * time.Millisecond)
				written += int64(writeAccessLine(w, tmpl[int(x.next(uint64(len(tmpl))))], &x, seq, lt))
				lines++
			}
			if err := w.Flush(); err != nil {
				tb.Fatal(err)
			}
			f.Close()
			total += written
		}
		return total, lines
	})
}

// BenchmarkIngestS3Access ingests the same generated access logs with
// leakscope and with DuckDB's read_csv into zstd Parquet, in the same run.
//
// The DuckDB baseline is given the schema rather than sniffing it: space
// delimited, "quoted" fields with \" escapes, "-" as NULL, the numbers
// typed and the time parsed with strptime, so that it does comparable
// work. Its CSV reader cannot keep a [bracketed time with a space] whole,
// so the time is read as two columns and joined back. null_padding admits
// lines with fewer (older-format) fields.
func BenchmarkIngestS3Access(b *testing.B) {
	tree := s3AccessTree(b, benchMB())
	const q = `COPY (SELECT bucket_owner, bucket,
		strptime(time1 || ' ' || time2, '[%%d/%%b/%%Y:%%H:%%M:%%S %%z]') AS event_time,
		* EXCLUDE (bucket_owner, bucket, time1, time2)
	FROM read_csv('%s', delim = ' ', quote = '"', escape = '\', header = false,
		null_padding = true, nullstr = '-', auto_detect = false,
		columns = {
			'bucket_owner': 'VARCHAR', 'bucket': 'VARCHAR', 'time1': 'VARCHAR', 'time2': 'VARCHAR',
			'remote_ip': 'VARCHAR', 'requester': 'VARCHAR', 'request_id': 'VARCHAR',
			'operation': 'VARCHAR', 'key': 'VARCHAR', 'request_uri': 'VARCHAR',
			'http_status': 'INTEGER', 'error_code': 'VARCHAR', 'bytes_sent': 'BIGINT',
			'object_size': 'BIGINT', 'total_time_ms': 'BIGINT', 'turn_around_time_ms': 'BIGINT',
			'referer': 'VARCHAR', 'user_agent': 'VARCHAR', 'version_id': 'VARCHAR',
			'host_id': 'VARCHAR', 'signature_version': 'VARCHAR', 'cipher_suite': 'VARCHAR',
			'auth_type': 'VARCHAR', 'host_header': 'VARCHAR', 'tls_version': 'VARCHAR',
			'access_point_arn': 'VARCHAR', 'acl_required': 'VARCHAR', 'source_region': 'VARCHAR',
			'extra1': 'VARCHAR', 'extra2': 'VARCHAR'}))
	TO '%s/duck.parquet' (FORMAT parquet, COMPRESSION zstd)`
	benchIngestText(b, tree, "s3_access", q)
}

// ---- VPC Flow Logs ----

var (
	flowHeaderV2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	flowHeaderV5 = flowHeaderV2 + " vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
)

// flowObjectSize is the uncompressed size of one flow-log object: AWS
// rotates them every 5 (or 1) minutes or at 75 MB; a few MB is a busy VPC.
const flowObjectSize = 4 << 20

// vpcFlowTree writes gzip flow-log objects in the S3 delivery layout,
// AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/<acct>_vpcflowlogs_<region>_fl-…_<ts>_<hash>.log.gz,
// each with a header line: the default v2 format or all v5 fields.
func vpcFlowTree(tb testing.TB, version, mb int) benchTree {
	const acct, region = "123456789012", "us-east-1"
	name := fmt.Sprintf("leakscope-bench-vpcflow-v%d-%dmb", version, mb)
	return cachedTree(tb, name, "AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz", func(root string) (int64, int64) {
		x := rng(88172645463325252 + uint64(version))
		actions := []string{"ACCEPT", "ACCEPT", "ACCEPT", "REJECT"}
		svcs := []string{"-", "-", "-", "S3", "AMAZON", "EC2", "DYNAMODB"}
		// A realistic population: a few VPCs, their subnets and
		// interfaces, and many peers.
		type eni struct{ id, instance, vpc, subnet, addr, az string }
		enis := make([]eni, 211)
		for i := range enis {
			vpc := x.next(4)
			enis[i] = eni{
				id:       fmt.Sprintf("eni-0%016x", x.next(1<<60)),
				instance: fmt.Sprintf("i-0%016x", x.next(1<<60)),
				vpc:      fmt.Sprintf("vpc-0%016x", 0xabc0+vpc),
				subnet:   fmt.Sprintf("subnet-0%016x", 0xdef00+vpc*8+x.next(8)),
				addr:     fmt.Sprintf("10.%d.%d.%d", vpc, x.next(256), 1+x.next(254)),
				az:       fmt.Sprintf("use1-az%d", 1+x.next(6)),
			}
		}
		header := flowHeaderV2
		if version == 5 {
			header = flowHeaderV5
		}
		target := int64(mb) << 20
		var total, lines int64
		var line []byte
		// Each interface reports one record a second, so every
		// (interface, start) pair is used once and no two records are the
		// same (NODATA ones included).
		base := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC).Unix()
		perSecond := uint64(len(enis))
		seq := uint64(0)
		for obj := 0; total < target; obj++ {
			t := time.Unix(base+int64(seq/perSecond), 0).UTC()
			dir := filepath.Join(root, "AWSLogs", acct, "vpcflowlogs", region, t.Format("2006/01/02"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				tb.Fatal(err)
			}
			file := fmt.Sprintf("%s_vpcflowlogs_%s_fl-0%016x_%s_%08x.log.gz", acct, region, 0x5eed0+obj%3, t.Format("20060102T1504Z"), x.next(1<<32))
			f, err := os.Create(filepath.Join(dir, file))
			if err != nil {
				tb.Fatal(err)
			}
			zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
			w := bufio.NewWriterSize(zw, 1<<16)
			n, _ := w.WriteString(header + "\n")
			written := int64(n)
			for written < flowObjectSize {
				e := enis[seq%perSecond]
				start := base + int64(seq/perSecond)
				seq++
				peer := fmt.Sprintf("%d.%d.%d.%d", 1+x.next(223), x.next(256), x.next(256), x.next(256))
				src, dst := e.addr, peer
				sport, dport := 1024+x.next(60000), []uint64{443, 80, 22, 5432, 53}[x.next(5)]
				dirn, flags := "egress", []int{2, 3, 18, 19, 1}[x.next(5)]
				if x.next(2) == 0 {
					src, dst, sport, dport, dirn = dst, src, dport, sport, "ingress"
				}
				line = strconv.AppendInt(line[:0], int64(version), 10)
				line = append(line, " "+acct+" "...)
				line = append(line, e.id...)
				if x.next(25) == 0 {
					line = fmt.Appendf(line, " - - - - - - - %d %d - NODATA", start, start+60)
					if version == 5 {
						line = fmt.Appendf(line, " %s %s %s - - - - %s %s - - - - - -", e.vpc, e.subnet, e.instance, region, e.az)
					}
				} else {
					proto := 6
					if dport == 53 || sport == 53 {
						proto = 17
					}
					line = fmt.Appendf(line, " %s %s %d %d %d %d %d %d %d %s OK", src, dst, sport, dport, proto,
						1+x.next(5000), 40+x.next(5000000), start, start+1+int64(x.next(59)), actions[x.next(4)])
					if version == 5 {
						line = fmt.Appendf(line, " %s %s %s %d IPv4 %s %s %s %s - - %s %s %s %d",
							e.vpc, e.subnet, e.instance, flags, src, dst, region, e.az,
							svcs[x.next(7)], svcs[x.next(7)], dirn, 1+x.next(8))
					}
				}
				line = append(line, '\n')
				n, _ := w.Write(line)
				written += int64(n)
				lines++
			}
			if err := w.Flush(); err != nil {
				tb.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				tb.Fatal(err)
			}
			f.Close()
			total += written
		}
		return total, lines
	})
}

// BenchmarkIngestVPCFlow ingests the same generated flow logs with
// leakscope and with DuckDB's read_csv into zstd Parquet, in the same run:
// one sub-benchmark for all v5 fields, one for the default v2 format. The
// DuckDB baseline reads the header and detects the column types itself,
// with "-" as NULL (the account id kept as text).
func BenchmarkIngestVPCFlow(b *testing.B) {
	for _, v := range []int{5, 2} {
		b.Run(fmt.Sprintf("v%d", v), func(b *testing.B) {
			tree := vpcFlowTree(b, v, benchMB())
			const q = `COPY (SELECT * FROM read_csv('%s', delim = ' ', header = true, compression = 'gzip', nullstr = '-',
				types = {'account-id': 'VARCHAR'}))
				TO '%s/duck.parquet' (FORMAT parquet, COMPRESSION zstd)`
			benchIngestText(b, tree, "vpc_flow", q)
		})
	}
}
