package scope_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/detections/scope"
	"github.com/leakscope/leakscope/query"
	"github.com/leakscope/leakscope/report"
)

func build(t *testing.T, eng *query.Engine, seeds query.Seeds, opt scope.Options) *scope.Result {
	t.Helper()
	if seeds.Since.IsZero() {
		seeds.Since, seeds.Until = at(1, 0, 0), at(5, 0, 0)
	}
	res, err := scope.Build(context.Background(), eng, seeds, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReadDedup: a request in both CloudTrail and the access log counts
// once; reads only one source logged count with that source.
func TestReadDedup(t *testing.T) {
	l := newMiniLake(t)
	who := sessionID(acctA, "etl", "thief", "ASIATHIEF0000000001")
	arn := sessionARN(acctA, "etl", "thief")
	l.getObject(at(2, 0, 0), acctA, "us-east-1", who, "203.0.113.9", "data", "a.csv", "RID0000000000001", 100)
	l.access(at(2, 0, 0), "data", "us-east-1", "203.0.113.9", arn, "RID0000000000001", "REST.GET.OBJECT", "a.csv", 200, 100, 100)
	// Access log only (CloudTrail data events off for this request).
	l.access(at(2, 1, 0), "data", "us-east-1", "203.0.113.9", arn, "RID0000000000002", "REST.GET.OBJECT", "b.csv", 200, 50, 50)
	// CloudTrail only, read twice: both requests count.
	l.getObject(at(2, 2, 0), acctA, "us-east-1", who, "203.0.113.9", "data", "c.csv", "RID0000000000003", 7)
	l.getObject(at(2, 3, 0), acctA, "us-east-1", who, "203.0.113.9", "data", "c.csv", "RID0000000000004", 7)
	// A failed read and someone else's read are not counted.
	l.access(at(2, 4, 0), "data", "us-east-1", "203.0.113.9", arn, "RID0000000000005", "REST.GET.OBJECT", "d.csv", 403, 243, 0)
	l.access(at(2, 5, 0), "data", "us-east-1", "198.51.100.1", sessionARN(acctA, "etl", "nightly"), "RID0000000000006", "REST.GET.OBJECT", "a.csv", 200, 100, 100)
	eng := l.open()
	res := build(t, eng, query.Seeds{AccessKeys: []string{"ASIATHIEF0000000001"}}, scope.Options{})
	type o struct {
		uri   string
		bytes int64
		ev    string
	}
	var got []o
	for _, x := range res.Scope.Objects {
		got = append(got, o{x.URI, x.Bytes, slicesJoin(x.Evidence)})
	}
	want := []o{{"s3://data/a.csv", 100, "cloudtrail,s3_access"}, {"s3://data/b.csv", 50, "s3_access"}, {"s3://data/c.csv", 14, "cloudtrail"}}
	if !slices.Equal(got, want) {
		t.Errorf("objects = %+v, want %+v", got, want)
	}
	if res.Scope.Totals.BytesRead != 164 || res.Scope.Totals.Objects != 3 {
		t.Errorf("totals = %+v", res.Scope.Totals)
	}
}

func slicesJoin(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// TestEgressExclusion: only flows to outside, non-AWS addresses count;
// private, shared, AWS-service (flow log field and ip-ranges.json)
// destinations and other interfaces never do.
func TestEgressExclusion(t *testing.T) {
	l := newMiniLake(t)
	who := userID(acctA, "ops", "AKIAOPS0000000000001")
	l.call(at(2, 0, 0), acctA, "us-east-1", who, "203.0.113.7", "ec2.amazonaws.com", "CreateNetworkInterface",
		map[string]any{"subnetId": "subnet-0a1b2c3d"}, map[string]any{"networkInterface": map[string]any{"networkInterfaceId": "eni-0123456789abcdef0", "privateIpAddress": "10.0.1.5"}}, nil)
	l.call(at(2, 1, 0), acctA, "us-east-1", who, "203.0.113.7", "ec2.amazonaws.com", "RunInstances",
		map[string]any{"instanceType": "t3.micro"}, map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": "i-0fedcba9876543210"}}}}, nil)
	eni, inst := "eni-0123456789abcdef0", "i-0fedcba9876543210"
	l.flow(eni, "-", "10.0.1.5", "8.8.8.8", 40000, 443, 1000, at(2, 10, 0), "egress", "")
	l.flow(eni, "-", "10.0.1.5", "8.8.8.8", 40000, 443, 234, at(2, 11, 0), "egress", "")
	l.flow(eni, "-", "10.0.1.5", "10.0.2.9", 40001, 5432, 9999, at(2, 12, 0), "egress", "")                     // private
	l.flow(eni, "-", "10.0.1.5", "100.64.3.2", 40002, 443, 9999, at(2, 12, 0), "egress", "")                    // shared address space
	l.flow(eni, "-", "10.0.1.5", "52.216.8.19", 40003, 443, 9999, at(2, 13, 0), "egress", "S3")                 // flow log says S3
	l.flow(eni, "-", "10.0.1.5", "54.239.28.85", 40004, 443, 9999, at(2, 14, 0), "egress", "")                  // ip-ranges.json: S3
	l.flow(eni, "-", "8.8.8.8", "10.0.1.5", 443, 40000, 9999, at(2, 15, 0), "ingress", "")                      // inbound
	l.flow("eni-0aaaaaaaaaaaaaaa1", inst, "10.0.3.3", "192.0.2.200", 40005, 22, 77, at(2, 20, 0), "egress", "") // instance it launched
	l.flow("eni-0bbbbbbbbbbbbbbb2", "-", "10.0.9.9", "8.8.4.4", 40006, 443, 9999, at(2, 20, 0), "egress", "")   // not tied
	eng := l.open()
	ranges, err := scope.ParseIPRanges([]byte(`{"prefixes":[{"ip_prefix":"54.239.0.0/16","region":"us-east-1","service":"S3"},{"ip_prefix":"8.8.0.0/16","region":"us-east-1","service":"EC2"}],"ipv6_prefixes":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	res := build(t, eng, query.Seeds{AccessKeys: []string{"AKIAOPS0000000000001"}}, scope.Options{AWSRanges: ranges})
	want := []report.Egress{
		{Interface: eni, SrcIP: "10.0.1.5", DstIP: "8.8.8.8", DstPort: 443, Bytes: 1234, FirstSeen: at(2, 10, 0), LastSeen: at(2, 11, 59)},
		{Interface: "eni-0aaaaaaaaaaaaaaa1", SrcIP: "10.0.3.3", DstIP: "192.0.2.200", DstPort: 22, Bytes: 77, FirstSeen: at(2, 20, 0), LastSeen: at(2, 20, 59)},
	}
	if !slices.Equal(res.Scope.NetworkEgress, want) {
		t.Errorf("egress = %+v\nwant %+v", res.Scope.NetworkEgress, want)
	}
	if res.Scope.Totals.BytesEgress != 1311 {
		t.Errorf("bytes_egress = %d, want 1311", res.Scope.Totals.BytesEgress)
	}
}

// TestCrossAccountChain: a user's key → role in its account → role in
// another account; the second hop's reads are in scope, another session
// of that role from its usual address is not.
func TestCrossAccountChain(t *testing.T) {
	l := newMiniLake(t)
	u := userID(acctA, "dev", "AKIADEV0000000000001")
	hop1 := sessionID(acctA, "deploy", "h1", "ASIAHOP1000000000001")
	hop2 := sessionID(acctB, "reader", "h2", "ASIAHOP2000000000002")
	legit := sessionID(acctB, "reader", "sync", "ASIALEGIT00000000003")
	// Baseline of the reader role before the window.
	l.getObject(at(0, 30, 0), acctB, "us-east-1", legit, "198.51.100.50", "b-data", "old.csv", "RIDBASE000000001", 5)
	l.assume(at(2, 0, 0), acctA, u, "203.0.113.9", acctA, "deploy", "h1", "ASIAHOP1000000000001")
	l.assume(at(2, 5, 0), acctA, hop1, "203.0.113.9", acctB, "reader", "h2", "ASIAHOP2000000000002")
	l.assume(at(2, 5, 0), acctB, hop1, "203.0.113.9", acctB, "reader", "h2", "ASIAHOP2000000000002")
	l.getObject(at(2, 10, 0), acctB, "us-east-1", hop2, "203.0.113.9", "b-data", "secret.csv", "RIDHOP2000000001", 4242)
	l.getObject(at(2, 11, 0), acctB, "us-east-1", legit, "198.51.100.50", "b-data", "daily.csv", "RIDLEGIT00000001", 5)
	eng := l.open()
	res := build(t, eng, query.Seeds{AccessKeys: []string{"AKIADEV0000000000001"}}, scope.Options{})
	var arns []string
	for _, p := range res.Scope.Principals {
		arns = append(arns, p.ARN+" "+p.Type)
	}
	want := []string{"arn:aws:iam::" + acctA + ":user/dev iam-user", sessionARN(acctA, "deploy", "h1") + " assumed-role", sessionARN(acctB, "reader", "h2") + " assumed-role"}
	if !slices.Equal(arns, want) {
		t.Errorf("principals = %q, want %q", arns, want)
	}
	if keys := res.Scope.AccessKeys; !slices.Equal(keys, []string{"AKIADEV0000000000001", "ASIAHOP1000000000001", "ASIAHOP2000000000002"}) {
		t.Errorf("access keys = %q", keys)
	}
	if len(res.Scope.Objects) != 1 || res.Scope.Objects[0].URI != "s3://b-data/secret.csv" || res.Scope.Objects[0].Bytes != 4242 {
		t.Errorf("objects = %+v", res.Scope.Objects)
	}
	if !res.Scope.Window.Start.Equal(at(2, 0, 0)) || !res.Scope.Window.End.Equal(at(2, 10, 0)) {
		t.Errorf("window = %+v", res.Scope.Window)
	}
}

// TestNovelSession: another session of a compromised role from an
// address outside the role's baseline joins the scope, with the reason.
func TestNovelSession(t *testing.T) {
	l := newMiniLake(t)
	thief := sessionID(acctA, "etl", "stolen", "ASIASTOLEN0000000001")
	usual := sessionID(acctA, "etl", "nightly", "ASIANIGHTLY000000001")
	other := sessionID(acctA, "etl", "nightly2", "ASIANIGHTLY000000002")
	l.getObject(at(0, 10, 0), acctA, "us-east-1", usual, "198.51.100.50", "data", "x", "RIDB000000000001", 1)
	l.getObject(at(2, 0, 0), acctA, "us-east-1", thief, "203.0.113.9", "data", "y", "RIDT000000000001", 2)
	l.getObject(at(2, 1, 0), acctA, "us-east-1", usual, "198.51.100.50", "data", "z", "RIDU000000000001", 3)
	l.getObject(at(2, 2, 0), acctA, "us-east-1", other, "192.0.2.77", "data", "w", "RIDO000000000001", 4)
	eng := l.open()
	res := build(t, eng, query.Seeds{Principals: []string{sessionARN(acctA, "etl", "stolen")}}, scope.Options{})
	var arns []string
	for _, p := range res.Scope.Principals {
		arns = append(arns, p.ARN)
	}
	want := []string{sessionARN(acctA, "etl", "stolen"), sessionARN(acctA, "etl", "nightly2")}
	if !slices.Equal(arns, want) {
		t.Fatalf("principals = %q, want %q", arns, want)
	}
	if why := res.Why[want[1]]; why == "" || !strings.Contains(why, "192.0.2.77") {
		t.Errorf("why = %q", why)
	}
	if res.Scope.Totals.BytesRead != 6 {
		t.Errorf("bytes read = %d, want 6", res.Scope.Totals.BytesRead)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// TestTransfersParse: grants and shares in a hand-built lake, including
// public grants and the non-transfers next to them.
func TestTransfersParse(t *testing.T) {
	l := newMiniLake(t)
	u := userID(acctA, "ops", "AKIAOPS0000000000001")
	ip := "203.0.113.7"
	l.call(at(2, 0, 0), acctA, "us-east-1", u, ip, "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "pub", "bucketPolicy": map[string]any{
		"Statement": []any{
			map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"},
			map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": []any{"arn:aws:iam::" + acctA + ":root", acctX}}, "Action": []any{"s3:GetObject"}},
			map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-1"}}},
		}}}, nil, nil)
	l.call(at(2, 1, 0), acctA, "us-east-1", u, ip, "s3.amazonaws.com", "PutBucketAcl", map[string]any{"bucketName": "pub", "x-amz-acl": "public-read"}, nil, nil)
	l.call(at(2, 2, 0), acctA, "us-east-1", u, ip, "rds.amazonaws.com", "ModifyDBClusterSnapshotAttribute",
		map[string]any{"dBClusterSnapshotIdentifier": "c1", "attributeName": "restore", "valuesToAdd": []any{"all"}}, nil, nil)
	l.call(at(2, 3, 0), acctA, "eu-west-1", u, ip, "ec2.amazonaws.com", "CopyImage",
		map[string]any{"sourceRegion": "us-east-1", "sourceImageId": "ami-0123"}, map[string]any{"imageId": "ami-0456"}, nil)
	l.call(at(2, 4, 0), acctA, "us-east-1", u, ip, "ec2.amazonaws.com", "CopySnapshot",
		map[string]any{"sourceRegion": "us-east-1", "sourceSnapshotId": "snap-1"}, map[string]any{"snapshotId": "snap-2"}, nil) // same region: not a transfer
	l.call(at(2, 5, 0), acctA, "us-east-1", u, ip, "dynamodb.amazonaws.com", "ExportTableToPointInTime",
		map[string]any{"tableArn": "arn:aws:dynamodb:us-east-1:" + acctA + ":table/orders", "s3Bucket": "drop", "s3BucketOwner": acctX}, nil, nil)
	l.call(at(2, 6, 0), acctA, "us-east-1", u, ip, "ec2.amazonaws.com", "ModifySnapshotAttribute",
		map[string]any{"snapshotId": "snap-9", "createVolumePermission": map[string]any{"add": map[string]any{"items": []any{map[string]any{"group": "all"}}}}}, nil,
		map[string]any{"errorCode": "AccessDenied", "errorMessage": "denied"}) // failed: not a transfer
	eng := l.open()
	res := build(t, eng, query.Seeds{AccessKeys: []string{"AKIAOPS0000000000001"}}, scope.Options{})
	type x struct{ kind, src, dst, acct string }
	var got []x
	for _, t := range res.Scope.Transfers {
		got = append(got, x{t.Kind, t.Source, t.Destination, t.Account})
	}
	want := []x{
		{"policy_grant", "s3://pub", "*", "*"},
		{"policy_grant", "s3://pub", "arn:aws:iam::" + acctX + ":root", acctX},
		{"acl_grant", "s3://pub", "http://acs.amazonaws.com/groups/global/AllUsers", "*"},
		{"db_snapshot_share", "arn:aws:rds:us-east-1:" + acctA + ":cluster-snapshot:c1", "*", "*"},
		{"cross_region_copy", "arn:aws:ec2:us-east-1:" + acctA + ":image/ami-0123", "arn:aws:ec2:eu-west-1:" + acctA + ":image/ami-0456", acctA},
		{"export", "arn:aws:dynamodb:us-east-1:" + acctA + ":table/orders", "s3://drop", acctX},
	}
	if !slices.Equal(got, want) {
		t.Errorf("transfers:\n got %+v\nwant %+v", got, want)
	}
}
