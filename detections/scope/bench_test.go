package scope_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/leakscope/leakscope/detections/scope"
	"github.com/leakscope/leakscope/ingest/cloudtrail"
	"github.com/leakscope/leakscope/ingest/columnar"
	"github.com/leakscope/leakscope/ingest/s3access"
	"github.com/leakscope/leakscope/ingest/vpcflow"
	"github.com/leakscope/leakscope/query"
)

// benchEvents is the CloudTrail row count of the benchmark lake
// (LEAKSCOPE_BENCH_EVENTS, default 10 million); access-log rows are a
// fifth of it and flow rows a tenth.
func benchEvents(b *testing.B) int {
	n := 10_000_000
	if s := os.Getenv("LEAKSCOPE_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("LEAKSCOPE_BENCH_EVENTS=%q: want a number of at least 1000", s)
		}
		n = v
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// writePart writes rows as one Parquet file of a Hive partition.
func writePart[R any](b *testing.B, lake, table, acct, region string, date time.Time, name string, rows []R) int64 {
	dir := filepath.Join(lake, table, "account="+acct, "region="+region, "date="+date.Format(time.DateOnly))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".parquet"))
	if err != nil {
		b.Fatal(err)
	}
	w, err := columnar.NewWriter[R](columnar.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Begin(f); err != nil {
		b.Fatal(err)
	}
	if err := w.WriteValues(rows); err != nil {
		b.Fatal(err)
	}
	if _, err := w.End(nil); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size()
}

// benchLake writes a lake of n CloudTrail rows over 30 days of background
// (users, roles, S3 reads) with one incident on the last day: a stolen
// key assumes a role, which reads 2000 objects logged in both sources,
// copies to another region, and a tied interface sends data out.
func benchLake(b *testing.B, n int) (string, query.Seeds) {
	lake := b.TempDir()
	const days = 30
	start := time.Date(2026, 10, 16, 0, 0, 0, 0, time.UTC)
	perDay := n / days
	var total int64
	users := 200
	for d := range days {
		date := start.AddDate(0, 0, d)
		ct := make([]cloudtrail.Row, 0, perDay)
		sa := make([]s3access.Row, 0, perDay/5)
		fl := make([]vpcflow.Row, 0, perDay/10)
		for i := range perDay {
			t := date.Add(time.Duration(int64(i) * int64(24*time.Hour) / int64(perDay)))
			u := i % users
			r := cloudtrail.Row{EventTime: t.UnixMicro(), EventID: fmt.Sprintf("e-%d-%d", d, i), RequestID: fmt.Sprintf("R%d-%d", d, i),
				EventSource: "ec2.amazonaws.com", EventName: "DescribeInstances", EventType: "AwsApiCall", EventCategory: "Management",
				AWSRegion: "us-east-1", SourceIP: fmt.Sprintf("198.51.%d.%d", u/250, u%250+1), UserAgent: "aws-cli/2.17.20",
				RecipientAccountID: "111122223333", AccountID: "111122223333", ReadOnly: ptr(true), SourceURI: "bench", SourceOffset: int64(i)}
			switch {
			case u < 100:
				r.IdentityType, r.PrincipalARN, r.ActorARN = "IAMUser", fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", u), fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", u)
				r.AccessKeyID = fmt.Sprintf("AKIABENCH%011d", u)
			default:
				role := fmt.Sprintf("role%d", u%20)
				r.IdentityType, r.PrincipalARN, r.ActorARN = "AssumedRole", "arn:aws:sts::111122223333:assumed-role/"+role+"/s"+strconv.Itoa(u), "arn:aws:iam::111122223333:role/"+role
				r.AccessKeyID, r.SessionName = fmt.Sprintf("ASIABENCH%011d", u), "s"+strconv.Itoa(u)
			}
			if i%4 == 0 {
				r.EventSource, r.EventName, r.EventCategory, r.Bucket, r.ObjectKey = "s3.amazonaws.com", "GetObject", "Data", fmt.Sprintf("bucket-%d", u%10), fmt.Sprintf("k/%d", i)
				r.BytesOut = ptr(int64(1000 + i%5000))
				if i%20 == 0 {
					sa = append(sa, s3access.Row{EventTime: r.EventTime, Bucket: r.Bucket, RemoteIP: r.SourceIP, Requester: r.PrincipalARN, RequesterARN: r.PrincipalARN,
						RequesterAccount: "111122223333", RequestID: r.RequestID, Operation: "REST.GET.OBJECT", Key: r.ObjectKey, HTTPStatus: ptr(int32(200)),
						BytesSent: r.BytesOut, ObjectSize: r.BytesOut, SourceURI: "bench", SourceOffset: int64(i)})
				}
			}
			if i%50 == 0 {
				r.EventSource, r.EventName, r.IdentityType = "sts.amazonaws.com", "AssumeRole", "AWSService"
				r.PrincipalARN, r.AccessKeyID, r.InvokedBy, r.ActorARN = "", "", "lambda.amazonaws.com", "lambda.amazonaws.com"
				r.RoleARN, r.IssuedARN, r.IssuedAccessKeyID = "arn:aws:iam::111122223333:role/role1", "arn:aws:sts::111122223333:assumed-role/role1/fn", fmt.Sprintf("ASIAFN%014d", i)
			}
			ct = append(ct, r)
			if len(sa) < cap(sa) && i%5 == 1 {
				sa = append(sa, s3access.Row{EventTime: r.EventTime, Bucket: "logs-bucket", RemoteIP: "10.1.2.3", Requester: "arn:aws:iam::111122223333:user/u1",
					RequesterARN: "arn:aws:iam::111122223333:user/u1", RequestID: fmt.Sprintf("P%d-%d", d, i), Operation: "REST.PUT.OBJECT", Key: "x", SourceURI: "bench", SourceOffset: int64(i)})
			}
			if i%10 == 0 {
				st := t.Unix()
				fl = append(fl, vpcflow.Row{Version: ptr(int32(5)), AccountID: "111122223333", InterfaceID: fmt.Sprintf("eni-%017x", u%30), SrcAddr: "10.0.0." + strconv.Itoa(u%30+1),
					DstAddr: fmt.Sprintf("93.184.%d.%d", u%200, i%250+1), SrcPort: ptr(int32(40000)), DstPort: ptr(int32(443)), Protocol: ptr(int32(6)), Packets: ptr(int64(10)),
					Bytes: ptr(int64(5000)), StartTime: ptr(time.Unix(st, 0).UnixMicro()), EndTime: ptr(time.Unix(st+59, 0).UnixMicro()), Action: "ACCEPT", LogStatus: "OK",
					FlowDirection: "egress", SourceURI: "bench", SourceOffset: int64(i)})
			}
		}
		if d == days-1 {
			ct, sa, fl = plantBench(date, ct, sa, fl)
		}
		sortCT(ct)
		total += writePart(b, lake, "cloudtrail", "111122223333", "us-east-1", date, "ct", ct)
		total += writePart(b, lake, "s3_access", "111122223333", "us-east-1", date, "sa", sa)
		total += writePart(b, lake, "vpc_flow", "111122223333", "us-east-1", date, "fl", fl)
	}
	b.SetBytes(total)
	last := start.AddDate(0, 0, days-1)
	return lake, query.Seeds{AccessKeys: []string{"AKIASTOLEN0000000001"}, Since: last.Add(2 * time.Hour), Until: last.Add(4 * time.Hour)}
}

func sortCT(rows []cloudtrail.Row) {
	slices.SortStableFunc(rows, func(a, b cloudtrail.Row) int { return cmp.Compare(a.EventTime, b.EventTime) })
}

func plantBench(day time.Time, ct []cloudtrail.Row, sa []s3access.Row, fl []vpcflow.Row) ([]cloudtrail.Row, []s3access.Row, []vpcflow.Row) {
	t0 := day.Add(2*time.Hour + 5*time.Minute)
	user := "arn:aws:iam::111122223333:user/victim"
	sess := "arn:aws:sts::111122223333:assumed-role/data-role/x"
	base := cloudtrail.Row{EventType: "AwsApiCall", AWSRegion: "us-east-1", SourceIP: "203.0.113.66", UserAgent: "aws-cli/2.17.20",
		RecipientAccountID: "111122223333", AccountID: "111122223333", SourceURI: "plant"}
	a := base
	a.EventTime, a.EventSource, a.EventName, a.IdentityType, a.PrincipalARN, a.ActorARN, a.AccessKeyID = t0.UnixMicro(), "sts.amazonaws.com", "AssumeRole", "IAMUser", user, user, "AKIASTOLEN0000000001"
	a.RoleARN, a.IssuedARN, a.IssuedAccessKeyID, a.RequestID = "arn:aws:iam::111122223333:role/data-role", sess, "ASIASTOLEN0000000002", "plant-assume"
	ct = append(ct, a)
	c := base
	c.EventTime, c.EventSource, c.EventName, c.IdentityType, c.PrincipalARN, c.ActorARN, c.AccessKeyID = t0.Add(time.Minute).UnixMicro(), "ec2.amazonaws.com", "RunInstances", "AssumedRole", sess, "arn:aws:iam::111122223333:role/data-role", "ASIASTOLEN0000000002"
	c.ResponseElements, c.ReadOnly = `{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0","networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0aaaabbbbccccdddd"}]}}]}}`, ptr(false)
	ct = append(ct, c)
	for i := range 2000 {
		g := base
		g.EventTime = t0.Add(2*time.Minute + time.Duration(i)*time.Second).UnixMicro()
		g.EventSource, g.EventName, g.EventCategory, g.IdentityType = "s3.amazonaws.com", "GetObject", "Data", "AssumedRole"
		g.PrincipalARN, g.ActorARN, g.AccessKeyID = sess, "arn:aws:iam::111122223333:role/data-role", "ASIASTOLEN0000000002"
		g.Bucket, g.ObjectKey, g.BytesOut, g.RequestID = "secret-data", fmt.Sprintf("p/%05d", i), ptr(int64(1<<20)), fmt.Sprintf("PLANT%011d", i)
		ct = append(ct, g)
		sa = append(sa, s3access.Row{EventTime: g.EventTime, Bucket: "secret-data", RemoteIP: "203.0.113.66", Requester: sess, RequesterARN: sess, RequesterAccount: "111122223333",
			RequestID: g.RequestID, Operation: "REST.GET.OBJECT", Key: g.ObjectKey, HTTPStatus: ptr(int32(200)), BytesSent: g.BytesOut, ObjectSize: g.BytesOut, SourceURI: "plant"})
	}
	for i := range 30 {
		st := t0.Add(time.Duration(i) * time.Minute).Unix()
		fl = append(fl, vpcflow.Row{Version: ptr(int32(5)), AccountID: "111122223333", InterfaceID: "eni-0aaaabbbbccccdddd", SrcAddr: "10.9.9.9", DstAddr: "198.51.100.23",
			SrcPort: ptr(int32(40000)), DstPort: ptr(int32(443)), Protocol: ptr(int32(6)), Packets: ptr(int64(1000)), Bytes: ptr(int64(100 << 20)),
			StartTime: ptr(time.Unix(st, 0).UnixMicro()), EndTime: ptr(time.Unix(st+59, 0).UnixMicro()), Action: "ACCEPT", LogStatus: "OK", FlowDirection: "egress", SourceURI: "plant"})
	}
	return ct, sa, fl
}

func BenchmarkScope(b *testing.B) {
	n := benchEvents(b)
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		lake, seeds := benchLake(b, n)
		eng, err := query.Open(context.Background(), lake, query.LakeTables())
		if err != nil {
			b.Fatal(err)
		}
		defer eng.Close()
		b.ReportAllocs()
		b.ResetTimer()
		var res *scope.Result
		for b.Loop() {
			res, err = scope.Build(context.Background(), eng, seeds, scope.Options{})
			if err != nil {
				b.Fatal(err)
			}
		}
		if res.Scope.Totals.Objects != 2000 || res.Scope.Totals.BytesRead != 2000<<20 || res.Scope.Totals.BytesEgress != 30*100<<20 {
			b.Fatalf("benchmark lake scoped wrong: %+v", res.Scope.Totals)
		}
	})
}
