package query

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leakscope/leakscope/ingest/cloudtrail"
	"github.com/leakscope/leakscope/ingest/columnar"
)

// benchEvents is the size of the benchmark lake: $LEAKSCOPE_BENCH_EVENTS
// or ten million.
func benchEvents(b *testing.B) int {
	n := 10_000_000
	if s := os.Getenv("LEAKSCOPE_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("LEAKSCOPE_BENCH_EVENTS=%q: want a number of events, at least 1000", s)
		}
		n = v
	}
	return n
}

// The benchmark lake: 30 days of CloudTrail from many principals, in the
// layout ingest writes (account=/region=/date=, time-sorted zstd files of
// at most a million rows, 128Ki-row groups, the same bloom filters).
const (
	benchDays       = 30
	benchPrincipals = 4000
	benchFileRows   = 1 << 20
)

var benchStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

type benchPart struct {
	account, region string
	day             int
	rows            int
	seed            uint64
}

var benchAccounts = []struct {
	id    string
	share float64
}{{"111111111111", 0.75}, {"222222222222", 0.25}}

var benchRegions = []struct {
	name  string
	share float64
}{{"us-east-1", 0.8}, {"eu-west-1", 0.2}}

// benchPrincipal is principal i's ARN, access key, addresses and agent.
type benchIdentity struct {
	arn, actor, key, session, ua string
	ips                          [3]string
	typ                          string
}

func benchIdentities(account string) []benchIdentity {
	ids := make([]benchIdentity, benchPrincipals)
	for i := range ids {
		id := &ids[i]
		if i%3 == 0 {
			id.typ = "IAMUser"
			id.arn = fmt.Sprintf("arn:aws:iam::%s:user/user-%04d", account, i)
			id.actor = id.arn
			id.key = fmt.Sprintf("AKIA%s%08d", account[:8], i)
		} else {
			id.typ = "AssumedRole"
			role := fmt.Sprintf("role-%03d", i%250)
			id.session = fmt.Sprintf("session-%04d", i)
			id.arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, id.session)
			id.actor = fmt.Sprintf("arn:aws:iam::%s:role/%s", account, role)
			id.key = fmt.Sprintf("ASIA%s%08d", account[:8], i)
		}
		for j := range id.ips {
			id.ips[j] = fmt.Sprintf("10.%d.%d.%d", j, i/250, i%250)
		}
		id.ua = []string{"aws-cli/2.15.0 Python/3.11.6 Linux/6.1", "Boto3/1.34.1 md/Botocore#1.34.1", "aws-sdk-go-v2/1.30.0", "console.amazonaws.com"}[i%4]
	}
	return ids
}

var benchCalls = []struct {
	source, name string
	weight       int
	data         bool
}{
	{"s3.amazonaws.com", "GetObject", 30, true},
	{"s3.amazonaws.com", "PutObject", 8, true},
	{"s3.amazonaws.com", "ListObjects", 6, false},
	{"ec2.amazonaws.com", "DescribeInstances", 12, false},
	{"kms.amazonaws.com", "Decrypt", 15, false},
	{"sts.amazonaws.com", "AssumeRole", 3, false},
	{"sts.amazonaws.com", "GetCallerIdentity", 4, false},
	{"lambda.amazonaws.com", "Invoke", 10, false},
	{"dynamodb.amazonaws.com", "GetItem", 12, false},
}

func benchPlan(n int) []benchPart {
	var parts []benchPart
	left := n
	for d := 0; d < benchDays; d++ {
		for _, a := range benchAccounts {
			for _, r := range benchRegions {
				rows := int(float64(n) * a.share * r.share / benchDays)
				parts = append(parts, benchPart{account: a.id, region: r.name, day: d, rows: rows})
				left -= rows
			}
		}
	}
	parts[0].rows += left
	for i := range parts {
		parts[i].seed = uint64(i) + 1
	}
	return parts
}

// writeBenchPart writes one partition's rows, sorted by time.
func writeBenchPart(dir string, p benchPart, ids []benchIdentity) error {
	pdir := filepath.Join(dir, "cloudtrail", "account="+p.account, "region="+p.region,
		"date="+benchStart.AddDate(0, 0, p.day).Format(time.DateOnly))
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x1ea45c09e))
	zipf := rand.NewZipf(rng, 1.07, 2, benchPrincipals-1)
	var total int
	for _, c := range benchCalls {
		total += c.weight
	}
	dayStart := benchStart.AddDate(0, 0, p.day).UnixMicro()
	step := int64(86_400_000_000) / int64(max(p.rows, 1))
	t := dayStart
	uri := fmt.Sprintf("s3://org-trail/AWSLogs/%s/CloudTrail/%s/%s/bench.json.gz", p.account, p.region, benchStart.AddDate(0, 0, p.day).Format("2006/01/02"))
	tru, fls := true, false
	for file := 0; file*benchFileRows < p.rows; file++ {
		n := min(benchFileRows, p.rows-file*benchFileRows)
		f, err := os.Create(filepath.Join(pdir, fmt.Sprintf("bench-%04d.parquet", file)))
		if err != nil {
			return err
		}
		spec := cloudtrail.Spec()
		pw, err := columnar.NewWriter[cloudtrail.Row](columnar.Options{
			Bloom: spec.Bloom, Unindexed: spec.Unindexed, SortedBy: "event_time", CreatedBy: "leakscope version bench",
		})
		if err != nil {
			f.Close()
			return err
		}
		if err := pw.Begin(f); err != nil {
			f.Close()
			return err
		}
		// One WriteValues call per row group: a smaller buffer would
		// write smaller row groups than ingest does.
		buf := make([]cloudtrail.Row, 0, min(n, 128<<10))
		for i := 0; i < n; i++ {
			id := &ids[zipf.Uint64()]
			w := rng.IntN(total)
			ci := 0
			for w >= benchCalls[ci].weight {
				w -= benchCalls[ci].weight
				ci++
			}
			call := &benchCalls[ci]
			t += rng.Int64N(step) + step/2
			seq := strconv.FormatUint(p.seed<<32|uint64(file*benchFileRows+i), 16)
			r := cloudtrail.Row{
				EventTime: t, EventID: "e-" + seq, RequestID: "r-" + seq,
				EventSource: call.source, EventName: call.name, EventType: "AwsApiCall", EventCategory: "Management",
				EventVersion: "1.09", AWSRegion: p.region, SourceIP: id.ips[rng.IntN(3)], UserAgent: id.ua,
				ReadOnly: &tru, ManagementEvent: &tru, RecipientAccountID: p.account, IdentityType: id.typ,
				PrincipalARN: id.arn, ActorARN: id.actor, SessionName: id.session, AccessKeyID: id.key, AccountID: p.account,
				SourceURI: uri, SourceOffset: int64(i) * 1400,
			}
			if call.data {
				r.EventCategory, r.ManagementEvent = "Data", &fls
				r.Bucket = fmt.Sprintf("data-%s-%d", p.account[:3], rng.IntN(20))
				r.ObjectKey = "part/" + strconv.Itoa(rng.IntN(100000)) + ".parquet"
				b := rng.Int64N(50 << 20)
				r.BytesOut = &b
			}
			if rng.IntN(50) == 0 {
				r.ErrorCode, r.ErrorMessage = "AccessDenied", "User is not authorized to perform this operation"
			}
			if call.name == "AssumeRole" && r.ErrorCode == "" {
				r.IssuedAccessKeyID = "ASIAISSUED" + seq
				r.IssuedARN = fmt.Sprintf("arn:aws:sts::%s:assumed-role/role-%03d/issued-%s", p.account, rng.IntN(250), seq)
				r.RoleARN = fmt.Sprintf("arn:aws:iam::%s:role/role-%03d", p.account, rng.IntN(250))
			}
			r.RequestParameters = `{"bucketName":"` + r.Bucket + `"}`
			buf = append(buf, r)
			if len(buf) == cap(buf) || i == n-1 {
				if err := pw.WriteValues(buf); err != nil {
					f.Close()
					return err
				}
				buf = buf[:0]
			}
		}
		if _, err := pw.End(nil); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

var benchCache struct {
	sync.Mutex
	lakes map[int]string
}

// benchLake builds the lake of n events once per process and size.
func benchLake(b *testing.B, n int) string {
	benchCache.Lock()
	defer benchCache.Unlock()
	if dir, ok := benchCache.lakes[n]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "leakscope-bench-")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ids := map[string][]benchIdentity{}
	for _, a := range benchAccounts {
		ids[a.id] = benchIdentities(a.id)
	}
	var g errgroup.Group
	g.SetLimit(max(2, min(8, runtimeCPUs())))
	for _, p := range benchPlan(n) {
		g.Go(func() error { return writeBenchPart(dir, p, ids[p.account]) })
	}
	if err := g.Wait(); err != nil {
		os.RemoveAll(dir)
		b.Fatalf("build benchmark lake: %v", err)
	}
	b.Logf("built a lake of %d CloudTrail events in %s (%s)", n, time.Since(start).Round(time.Millisecond), dir)
	if benchCache.lakes == nil {
		benchCache.lakes = map[int]string{}
	}
	benchCache.lakes[n] = dir
	return dir
}

// BenchmarkTimeline compares a single principal's one-day timeline (the
// date partition and time predicates prune files and row groups) with a
// query for the same principal without them, over a lake of
// $LEAKSCOPE_BENCH_EVENTS CloudTrail events.
func BenchmarkTimeline(b *testing.B) {
	n := benchEvents(b)
	lake := benchLake(b, n)
	b.Cleanup(func() {
		benchCache.Lock()
		defer benchCache.Unlock()
		delete(benchCache.lakes, n)
		os.RemoveAll(lake)
	})
	e, err := Open(b.Context(), lake, LakeTables())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	// A principal of middling activity (Zipf rank 40) in the busiest
	// partition, on day 17.
	principal := benchIdentities("111111111111")[40].arn
	day := benchStart.AddDate(0, 0, 17)
	seeds := Seeds{Principals: []string{principal}, Since: day, Until: day.Add(24*time.Hour - time.Microsecond)}

	var timelineNs float64
	var timelineRows int
	b.Run("one-day-timeline", func(b *testing.B) {
		for b.Loop() {
			tl, err := e.Timeline(b.Context(), TimelineOptions{Seeds: seeds})
			if err != nil {
				b.Fatal(err)
			}
			timelineRows = len(tl.Rows)
		}
		timelineNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(timelineNs/1e6, "ms/timeline")
		b.ReportMetric(float64(timelineRows), "rows")
		b.ReportMetric(float64(n), "lake-events")
	})
	b.Run("full-scan", func(b *testing.B) {
		var rows int
		for b.Loop() {
			r, err := e.Query(b.Context(), "SELECT "+ctProjection+" FROM cloudtrail WHERE principal_arn = ? ORDER BY event_time", principal)
			if err != nil {
				b.Fatal(err)
			}
			res, err := Scan(r)
			if err != nil {
				b.Fatal(err)
			}
			rows = len(res.Rows)
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(ns/1e6, "ms/scan")
		b.ReportMetric(float64(rows), "rows")
		if timelineNs > 0 {
			b.ReportMetric(ns/timelineNs, "scan/timeline")
		}
	})
	if timelineRows == 0 {
		b.Errorf("the one-day timeline of %s is empty", principal)
	}
}

func runtimeCPUs() int { return runtime.NumCPU() }
