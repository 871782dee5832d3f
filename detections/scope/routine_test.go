package scope_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/detections/scope"
	"github.com/leakscope/leakscope/query"
)

// TestOwnerRoutine: a stolen CI key is used by the attacker from an
// address the key never used, while the CI system goes on using it from
// its usual address and user agent. With the CI's earlier work as
// baseline only the attacker's activity remains; without a baseline
// everything stays in.
func TestOwnerRoutine(t *testing.T) {
	const (
		key      = "AKIACIDEPLOYER000001"
		ciIP     = "20.42.105.17"
		ciUA     = "aws-cli/2.22.4 exec-env/GitHubActions"
		attacker = "203.0.113.66"
	)
	l := newMiniLake(t)
	ci := userID(acctA, "ci-deployer", key)
	ciCall := func(tm time.Time, name string) {
		l.call(tm, acctA, "us-east-1", ci, ciIP, "cloudformation.amazonaws.com", name, map[string]any{"stackName": "orders"}, nil, map[string]any{"userAgent": ciUA})
	}
	ciRead := func(tm time.Time, obj, rid string) {
		l.getObject(tm, acctA, "us-east-1", ci, ciIP, "deploy", obj, rid, 1000)
		l.ct["111122223333/us-east-1"][len(l.ct["111122223333/us-east-1"])-1]["userAgent"] = ciUA
		l.access(tm, "deploy", "us-east-1", ciIP, "arn:aws:iam::"+acctA+":user/ci-deployer", rid, "REST.GET.OBJECT", obj, 200, 1000, 1000)
	}
	// Baseline: two days before the incident day.
	base := day.Add(-36 * time.Hour)
	ciCall(base, "DescribeStacks")
	ciRead(base.Add(time.Minute), "orders/old.zip", "RIDBASE000000001")
	// The incident day: the attacker from a new address...
	l.call(at(2, 0, 0), acctA, "us-east-1", ci, attacker, "sts.amazonaws.com", "GetCallerIdentity", nil, nil, nil)
	l.getObject(at(2, 5, 0), acctA, "us-east-1", ci, attacker, "data", "customers.csv", "RIDATTACK0000001", 5000)
	l.assume(at(2, 10, 0), acctA, ci, attacker, acctA, "data-role", "x", "ASIAATTACKER0000001")
	l.getObject(at(2, 15, 0), acctA, "us-east-1", sessionID(acctA, "data-role", "x", "ASIAATTACKER0000001"), attacker, "data", "pii.csv", "RIDATTACK0000002", 7000)
	// ...and the CI's routine, credentials included.
	ciCall(at(11, 0, 0), "DescribeStacks")
	ciRead(at(11, 5, 0), "orders/new.zip", "RIDROUTINE000001")
	l.assume(at(12, 0, 0), acctA, ci, ciIP, acctA, "deploy-role", "ci", "ASIADEPLOY00000001")
	l.ct["111122223333/us-east-1"][len(l.ct["111122223333/us-east-1"])-1]["userAgent"] = ciUA
	l.getObject(at(12, 5, 0), acctA, "us-east-1", sessionID(acctA, "deploy-role", "ci", "ASIADEPLOY00000001"), ciIP, "deploy", "orders/release.zip", "RIDROUTINE000002", 3000)
	ciCall(at(19, 0, 0), "DescribeStackEvents")
	eng := l.open()

	seeds := query.Seeds{AccessKeys: []string{key}, Since: day, Until: day.Add(24*time.Hour - time.Microsecond)}
	res := build(t, eng, seeds, scope.Options{})
	sc := res.Scope
	objs := func() []string {
		var out []string
		for _, o := range res.Scope.Objects {
			out = append(out, o.URI)
		}
		return out
	}
	if want := []string{"s3://data/customers.csv", "s3://data/pii.csv"}; !slices.Equal(objs(), want) {
		t.Errorf("objects = %v, want %v", objs(), want)
	}
	if !slices.Equal(sc.SourceIPs, []string{attacker}) {
		t.Errorf("source_ips = %v, want only the attacker's", sc.SourceIPs)
	}
	if !slices.Equal(sc.AccessKeys, []string{key, "ASIAATTACKER0000001"}) {
		t.Errorf("access_keys = %v: the routine AssumeRole's key must not be followed", sc.AccessKeys)
	}
	var arns []string
	for _, p := range sc.Principals {
		arns = append(arns, p.ARN)
		if p.ARN == "arn:aws:iam::"+acctA+":user/ci-deployer" && (!p.FirstSeen.Equal(at(2, 0, 0)) || !p.LastSeen.Equal(at(2, 10, 0))) {
			t.Errorf("ci-deployer seen %v .. %v, want the attacker's 02:00 .. 02:10", p.FirstSeen, p.LastSeen)
		}
	}
	if want := []string{"arn:aws:iam::" + acctA + ":user/ci-deployer", sessionARN(acctA, "data-role", "x")}; !slices.Equal(arns, want) {
		t.Errorf("principals = %v, want %v", arns, want)
	}
	if !sc.Window.End.Equal(at(2, 15, 0)) {
		t.Errorf("window end = %v, want the attacker's last read", sc.Window.End)
	}
	if len(res.Routine) != 1 || res.Routine[0].Events != 4 || !slices.Equal(res.Routine[0].Addresses, []scope.AddrCount{{Addr: ciIP, N: 4}}) {
		t.Errorf("routine = %+v, want 4 CloudTrail events from %s", res.Routine, ciIP)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool {
		return strings.Contains(n, "Owner's routine left out: 4 CloudTrail events") && strings.Contains(n, ciIP+" (4)")
	}) {
		t.Errorf("notes = %q", res.Notes)
	}

	// Seeding the principal too: its access-log lines of the routine stay
	// out as well.
	seeds.Principals = []string{"arn:aws:iam::" + acctA + ":user/ci-deployer"}
	res = build(t, eng, seeds, scope.Options{})
	if want := []string{"s3://data/customers.csv", "s3://data/pii.csv"}; !slices.Equal(objs(), want) {
		t.Errorf("with the principal seeded: objects = %v, want %v", objs(), want)
	}
	if !slices.Equal(res.Scope.SourceIPs, []string{attacker}) {
		t.Errorf("with the principal seeded: source_ips = %v", res.Scope.SourceIPs)
	}

	// A one-day baseline does not reach the CI's earlier work: no
	// baseline, everything stays in.
	seeds.Principals = nil
	res = build(t, eng, seeds, scope.Options{BaselineDays: 1})
	if want := []string{"s3://data/customers.csv", "s3://data/pii.csv", "s3://deploy/orders/new.zip", "s3://deploy/orders/release.zip"}; !slices.Equal(objs(), want) {
		t.Errorf("no baseline: objects = %v, want %v", objs(), want)
	}
	if len(res.Routine) != 0 || !slices.Contains(res.Scope.SourceIPs, ciIP) {
		t.Errorf("no baseline: routine %+v, source_ips %v", res.Routine, res.Scope.SourceIPs)
	}
}
