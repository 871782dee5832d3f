package detections

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest/cloudtrail"
	"github.com/leakscope/leakscope/ingest/columnar"
	"github.com/leakscope/leakscope/ingest/s3access"
	"github.com/leakscope/leakscope/ingest/vpcflow"
)

// BenchmarkCatalog runs the whole catalog over a generated lake of
// LEAKSCOPE_BENCH_EVENTS CloudTrail events (default 10,000,000) plus one
// S3 access row and one flow row per ten events, written directly as
// Parquet with the lake's row types. Generation is not timed.
//
// For tuning: LEAKSCOPE_BENCH_LAKE=dir keeps the generated lake in dir and
// reuses it when it already holds one (same event count); LEAKSCOPE_BENCH_RULES
// (comma-separated ids) runs only those rules; LEAKSCOPE_BENCH_PER_RULE=1 also
// times each rule alone and logs the durations, slowest first.
func BenchmarkCatalog(b *testing.B) {
	n := 10_000_000
	if s := os.Getenv("LEAKSCOPE_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("LEAKSCOPE_BENCH_EVENTS=%q is not a positive number", s)
		}
		n = v
	}
	rules, err := Catalog()
	if err != nil {
		b.Fatal(err)
	}
	if s := os.Getenv("LEAKSCOPE_BENCH_RULES"); s != "" {
		ids := strings.Split(s, ",")
		rules = slices.DeleteFunc(rules, func(r Rule) bool { return !slices.Contains(ids, r.ID) })
		if len(rules) != len(ids) {
			b.Fatalf("LEAKSCOPE_BENCH_RULES=%q names rules the catalog does not hold", s)
		}
	}
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		lake := benchLake(b, n)
		eng := openLake(b, lake)
		ctx := context.Background()
		if os.Getenv("LEAKSCOPE_BENCH_EXPLAIN") != "" {
			explainRules(b, eng.DB(), rules)
		}
		if os.Getenv("LEAKSCOPE_BENCH_PER_RULE") != "" {
			logRuleTimes(b, eng.DB(), rules)
		}
		b.ReportAllocs()
		b.ResetTimer()
		var findings int
		start := time.Now()
		runs := 0
		for b.Loop() {
			fs, errs, err := RunAll(ctx, eng.DB(), rules, Window{})
			if err != nil {
				b.Fatal(err)
			}
			if len(errs) > 0 {
				b.Fatal(errs[0])
			}
			findings = len(fs)
			runs++
		}
		sec := time.Since(start).Seconds() / float64(runs)
		b.ReportMetric(sec, "s/catalog")
		b.ReportMetric(float64(n)/sec, "events/s")
		b.ReportMetric(float64(findings), "findings")
	})
}

// benchLake generates the lake, in LEAKSCOPE_BENCH_LAKE/<n> when set (and
// reused from there when already generated), else in a temporary folder.
func benchLake(b *testing.B, n int) string {
	b.Helper()
	lake := b.TempDir()
	if dir := os.Getenv("LEAKSCOPE_BENCH_LAKE"); dir != "" {
		lake = filepath.Join(dir, strconv.Itoa(n))
		if _, err := os.Stat(filepath.Join(lake, ".complete")); err == nil {
			return lake
		}
		if err := os.RemoveAll(lake); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	if err := genLake(lake, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d CloudTrail events (+%d access, +%d flow rows) in %s", n, n/10, n/10, time.Since(t0).Round(time.Millisecond))
	if err := os.WriteFile(filepath.Join(lake, ".complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return lake
}

// logRuleTimes runs each rule alone once and logs the durations, slowest
// first.
func logRuleTimes(b *testing.B, db *sql.DB, rules []Rule) {
	b.Helper()
	type timing struct {
		id string
		d  time.Duration
		n  int
	}
	var ts []timing
	var total time.Duration
	for i := range rules {
		t0 := time.Now()
		fs, err := RunRule(context.Background(), db, &rules[i], Window{})
		if err != nil {
			b.Fatalf("rule %s: %v", rules[i].ID, err)
		}
		d := time.Since(t0)
		total += d
		ts = append(ts, timing{rules[i].ID, d, len(fs)})
	}
	slices.SortFunc(ts, func(x, y timing) int { return int(y.d - x.d) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "per-rule times (sum %s):\n", total.Round(time.Millisecond))
	for _, t := range ts {
		fmt.Fprintf(&sb, "  %-45s %10s %6d findings\n", t.id, t.d.Round(time.Millisecond), t.n)
	}
	fmt.Fprint(os.Stderr, sb.String()) // b.Log output of benchmarks is truncated
}

// explainRules prints EXPLAIN ANALYZE of each rule to stderr.
func explainRules(b *testing.B, db *sql.DB, rules []Rule) {
	b.Helper()
	ctx := context.Background()
	for i := range rules {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		ps, args, err := paramsSQL(&rules[i], Window{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, ps, args...); err != nil {
			b.Fatal(err)
		}
		var typ, plan string
		if err := conn.QueryRowContext(ctx, "EXPLAIN ANALYZE "+rules[i].SQL).Scan(&typ, &plan); err != nil {
			b.Fatalf("rule %s: %v", rules[i].ID, err)
		}
		fmt.Fprintf(os.Stderr, "=== %s\n%s\n", rules[i].ID, plan)
		conn.ExecContext(ctx, "DROP TABLE IF EXISTS params")
		conn.Close()
	}
}

const benchDays = 7

var benchStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func genLake(lake string, n int) error {
	r := rand.New(rand.NewPCG(1, 2))
	perDay := n / benchDays
	for d := 0; d < benchDays; d++ {
		cnt := perDay
		if d == benchDays-1 {
			cnt = n - perDay*(benchDays-1)
		}
		day := benchStart.AddDate(0, 0, d)
		if err := genCloudTrail(lake, day, cnt, r); err != nil {
			return err
		}
		if err := genAccess(lake, day, cnt/10, r); err != nil {
			return err
		}
		if err := genFlow(lake, day, cnt/10, r); err != nil {
			return err
		}
	}
	return nil
}

func partDir(lake, table string, day time.Time) (string, error) {
	dir := filepath.Join(lake, table, "account=111122223333", "region=us-east-1", "date="+day.Format(time.DateOnly))
	return dir, os.MkdirAll(dir, 0o755)
}

func writeRows[R any](dir string, rows []R) error {
	f, err := os.Create(filepath.Join(dir, "bench.parquet"))
	if err != nil {
		return err
	}
	w, err := columnar.NewWriter[R](columnar.Options{})
	if err == nil {
		err = w.Begin(f)
	}
	if err == nil {
		err = w.WriteValues(rows)
	}
	if err == nil {
		_, err = w.End(nil)
	}
	if err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var (
	benchUsers  = 200
	benchNames  = []string{"GetObject", "GetObject", "GetObject", "GetObject", "PutObject", "HeadObject", "ListBuckets", "DescribeInstances", "AssumeRole", "GetCallerIdentity", "PutBucketPolicy", "CreateAccessKey", "InvokeModel", "ConsoleLogin"}
	benchSource = map[string]string{"GetObject": "s3.amazonaws.com", "PutObject": "s3.amazonaws.com", "HeadObject": "s3.amazonaws.com", "ListBuckets": "s3.amazonaws.com", "PutBucketPolicy": "s3.amazonaws.com",
		"DescribeInstances": "ec2.amazonaws.com", "AssumeRole": "sts.amazonaws.com", "GetCallerIdentity": "sts.amazonaws.com", "CreateAccessKey": "iam.amazonaws.com", "InvokeModel": "bedrock.amazonaws.com", "ConsoleLogin": "signin.amazonaws.com"}
)

func genCloudTrail(lake string, day time.Time, n int, r *rand.Rand) error {
	dir, err := partDir(lake, "cloudtrail", day)
	if err != nil {
		return err
	}
	rows := make([]cloudtrail.Row, n)
	base := day.UnixMicro()
	step := int64(86400e6) / int64(max(n, 1))
	uri := "s3://bench/AWSLogs/111122223333/CloudTrail/us-east-1/" + day.Format("2006/01/02") + "/bench.json.gz"
	for i := range rows {
		u := r.IntN(benchUsers)
		name := benchNames[r.IntN(len(benchNames))]
		if name == "CreateAccessKey" && u%4 == 0 {
			name = "GetCallerIdentity" // roles do not rotate user keys
		}
		row := &rows[i]
		row.EventTime = base + int64(i)*step
		row.EventName = name
		row.EventSource = benchSource[name]
		row.AWSRegion = "us-east-1"
		row.RecipientAccountID = "111122223333"
		row.AccountID = "111122223333"
		row.SourceURI = uri
		row.SourceOffset = int64(i)
		row.EventID = strconv.Itoa(i)
		if u%4 == 0 {
			row.IdentityType = "AssumedRole"
			row.ActorARN = "arn:aws:iam::111122223333:role/app-" + strconv.Itoa(u)
			row.PrincipalARN = "arn:aws:sts::111122223333:assumed-role/app-" + strconv.Itoa(u) + "/i-0abc" + strconv.Itoa(u)
			row.SessionName = "i-0abc" + strconv.Itoa(1000+u)
			row.AccessKeyID = "ASIA" + strconv.Itoa(100000+u)
		} else {
			row.IdentityType = "IAMUser"
			row.ActorARN = "arn:aws:iam::111122223333:user/u" + strconv.Itoa(u)
			row.PrincipalARN = row.ActorARN
			row.UserName = "u" + strconv.Itoa(u)
			row.AccessKeyID = "AKIA" + strconv.Itoa(100000+u)
		}
		row.SourceIP = "198.51.100." + strconv.Itoa(u%50+r.IntN(2))
		row.UserAgent = "aws-cli/2.15." + strconv.Itoa(u%7)
		switch name {
		case "GetObject", "PutObject", "HeadObject":
			row.EventCategory = "Data"
			row.Bucket = "bucket-" + strconv.Itoa(u%20)
			row.ObjectKey = "k/" + strconv.Itoa(r.IntN(100000))
			b := int64(r.IntN(8 << 20))
			row.BytesOut = &b
			row.RequestParameters = `{"bucketName":"` + row.Bucket + `","key":"` + row.ObjectKey + `"}`
			row.AdditionalEventData = `{"bytesTransferredOut":` + strconv.FormatInt(b, 10) + `}`
		case "PutBucketPolicy":
			row.Bucket = "bucket-" + strconv.Itoa(u%20)
			row.RequestParameters = `{"bucketName":"` + row.Bucket + `","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject"}]}}`
		case "AssumeRole":
			row.RoleARN = "arn:aws:iam::111122223333:role/app-" + strconv.Itoa(r.IntN(benchUsers))
			row.RequestParameters = `{"roleArn":"` + row.RoleARN + `","roleSessionName":"s"}`
		case "ConsoleLogin":
			row.ResponseElements = `{"ConsoleLogin":"Success"}`
			row.AdditionalEventData = `{"MFAUsed":"Yes"}`
		case "CreateAccessKey":
			row.RequestParameters = `{"userName":"` + row.UserName + `"}`
		default:
			row.RequestParameters = `{}`
		}
		if r.IntN(50) == 0 {
			row.ErrorCode = "AccessDenied"
		}
	}
	return writeRows(dir, rows)
}

func genAccess(lake string, day time.Time, n int, r *rand.Rand) error {
	dir, err := partDir(lake, "s3_access", day)
	if err != nil {
		return err
	}
	rows := make([]s3access.Row, n)
	base := day.UnixMicro()
	step := int64(86400e6) / int64(max(n, 1))
	for i := range rows {
		u := r.IntN(benchUsers)
		row := &rows[i]
		row.EventTime = base + int64(i)*step
		row.Bucket = "bucket-" + strconv.Itoa(u%20)
		row.RemoteIP = "198.51.100." + strconv.Itoa(u%50)
		row.Requester = "arn:aws:iam::111122223333:user/u" + strconv.Itoa(u)
		row.RequesterARN = row.Requester
		row.Operation = "REST.GET.OBJECT"
		row.Key = "k/" + strconv.Itoa(r.IntN(100000))
		st := int32(200)
		row.HTTPStatus = &st
		b := int64(r.IntN(8 << 20))
		row.BytesSent = &b
		row.AuthType = "AuthHeader"
		if r.IntN(100) == 0 {
			row.AuthType = "QueryString"
		}
		row.SourceURI = "s3://logs/" + row.Bucket + "/" + day.Format(time.DateOnly)
		row.SourceOffset = int64(i)
	}
	return writeRows(dir, rows)
}

func genFlow(lake string, day time.Time, n int, r *rand.Rand) error {
	dir, err := partDir(lake, "vpc_flow", day)
	if err != nil {
		return err
	}
	rows := make([]vpcflow.Row, n)
	base := day.UnixMicro()
	step := int64(86400e6) / int64(max(n, 1))
	for i := range rows {
		row := &rows[i]
		t := base + int64(i)*step
		e := t + 60e6
		row.StartTime, row.EndTime = &t, &e
		row.AccountID = "111122223333"
		row.InterfaceID = "eni-" + strconv.Itoa(r.IntN(300))
		row.SubnetID = "subnet-" + strconv.Itoa(r.IntN(10))
		row.SrcAddr = "10.0." + strconv.Itoa(r.IntN(4)) + "." + strconv.Itoa(r.IntN(250))
		row.DstAddr = "203.0.113." + strconv.Itoa(r.IntN(250))
		b := int64(r.IntN(1 << 20))
		row.Bytes = &b
		port := int32(443)
		row.DstPort = &port
		row.Action = "ACCEPT"
		row.FlowDirection = "egress"
		row.SourceURI = "s3://flow/" + day.Format(time.DateOnly)
		row.SourceOffset = int64(i)
	}
	return writeRows(dir, rows)
}
