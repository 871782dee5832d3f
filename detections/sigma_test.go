package detections

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sigmaCorpus = "../../shared/corpus/sigma"

// TestSigmaCorpusRatio compiles every Sigma rule of the corpus; at least
// 90% must compile and every failure must carry a reason.
func TestSigmaCorpusRatio(t *testing.T) {
	if _, err := os.Stat(sigmaCorpus); err != nil {
		t.Skip("no Sigma corpus")
	}
	rules, skipped, err := LoadSigmaDir(sigmaCorpus)
	if err != nil {
		t.Fatal(err)
	}
	total := len(rules) + len(skipped)
	for _, s := range skipped {
		t.Logf("not compiled: %s (%s): %s", filepath.Base(s.File), s.Title, s.Reason)
		if s.Reason == "" {
			t.Errorf("%s skipped without a reason", s.File)
		}
	}
	ratio := float64(len(rules)) / float64(total)
	t.Logf("Sigma: %d of %d compiled (%.1f%%)", len(rules), total, 100*ratio)
	if ratio < 0.9 {
		t.Errorf("only %.1f%% of the Sigma corpus compiles, want >= 90%%", 100*ratio)
	}
	for _, r := range rules {
		if !strings.Contains(r.SQL, "Detection Rule License") || !strings.Contains(r.Params["sigma_note"].(string), "Detection Rule License") {
			t.Errorf("%s: no DRL attribution", r.ID)
		}
		if r.Author != "" && !strings.Contains(r.Params["sigma_note"].(string), r.Author) {
			t.Errorf("%s: no author attribution", r.ID)
		}
	}
}

// TestSigmaRunsOverCorpusEvents runs every compiled corpus rule over a
// lake of real CloudTrail samples: no rule may fail in DuckDB, and the
// well-known techniques must fire.
func TestSigmaRunsOverCorpusEvents(t *testing.T) {
	if _, err := os.Stat(sigmaCorpus); err != nil {
		t.Skip("no Sigma corpus")
	}
	rules, _, err := LoadSigmaDir(sigmaCorpus)
	if err != nil {
		t.Fatal(err)
	}
	ct := "../../shared/corpus/cloudtrail/"
	eng := buildLake(t, []string{
		ct + "stratus_aws.defense-evasion.cloudtrail-stop.json",
		ct + "stratus_aws.defense-evasion.vpc-remove-flow-logs.json",
		ct + "stratus_aws.initial-access.console-login-without-mfa.json",
		ct + "stratus_aws.exfiltration.ec2-share-ebs-snapshot.json",
	})
	fired := map[string]int{}
	for i := range rules {
		fs, err := RunRule(context.Background(), eng.DB(), &rules[i], Window{})
		if err != nil {
			t.Errorf("%s (%s): %v", rules[i].ID, rules[i].Origin, err)
			continue
		}
		for _, f := range fs {
			if !strings.Contains(f.Evidence, "Detection Rule License") || !strings.Contains(f.Evidence, strings.TrimPrefix(rules[i].ID, "sigma-")) {
				t.Errorf("%s: evidence lacks attribution: %s", rules[i].ID, f.Evidence)
			}
		}
		fired[filepath.Base(rules[i].Origin)] += len(fs)
	}
	for _, f := range []string{"aws_cloudtrail_disable_logging.yml"} {
		if _, ok := fired[f]; !ok {
			t.Logf("corpus has no %s", f)
			continue
		}
		if fired[f] == 0 {
			t.Errorf("%s did not fire on the Stratus sample", f)
		}
	}
	n := 0
	for _, c := range fired {
		if c > 0 {
			n++
		}
	}
	if n < 3 {
		t.Errorf("only %d Sigma rules fired on the Stratus samples: %v", n, fired)
	}
}

// TestSigmaHostileValues: values from rules never become SQL text.
func TestSigmaHostileValues(t *testing.T) {
	src := `title: Hostile
id: 0b7f0c4e-1111-4222-8333-944455556666
status: test
author: "O'Brien; DROP TABLE x; --"
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: "x'); DROP TABLE cloudtrail; --"
        userAgent|contains: "%_\\' OR 1=1 --"
        requestParameters.bucketName|startswith: "a'||(SELECT 1)||'"
        sourceIPAddress|re: "^'.*$"
    condition: selection
tags:
    - attack.t1530
`
	r, err := CompileSigma([]byte(src), "hostile.yml")
	if err != nil {
		t.Fatal(err)
	}
	eng := buildLake(t, nil)
	if _, err := RunRule(context.Background(), eng.DB(), &r, Window{}); err != nil {
		t.Fatalf("hostile rule did not run as data: %v\n%s", err, r.SQL)
	}
	// The view still exists: nothing was dropped.
	if _, err := eng.DB().Exec("SELECT count(*) FROM cloudtrail"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"DROP TABLE cloudtrail; --\n", "OR 1=1 --\n"} {
		if strings.Contains(r.SQL, bad) {
			t.Errorf("SQL carries unescaped %q", bad)
		}
	}
	// A field path that could break out of the JSON path literal is refused.
	_, err = CompileSigma([]byte(strings.Replace(src, "requestParameters.bucketName", `requestParameters.a'b`, 1)), "x.yml")
	if err == nil {
		t.Error("a quote in a field path compiled")
	}
}

func TestSigmaUnsupportedReasons(t *testing.T) {
	base := "title: T\nid: 0b7f0c4e-1111-4222-8333-944455556666\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n"
	cases := map[string]string{
		"fieldref":               "    selection:\n        userIdentity.arn|fieldref: userIdentity.sessionContext.sessionIssuer.arn\n    condition: selection\n",
		"aggregation":            "    selection:\n        eventName: X\n    condition: selection | count() by sourceIPAddress > 5\n",
		"not a CloudTrail field": "    selection:\n        status: success\n    condition: selection\n",
		"keyword":                "    keywords:\n        - evil\n    condition: keywords\n",
		"expand":                 "    selection:\n        eventName|expand: '%names%'\n    condition: selection\n",
		"logsource":              "",
	}
	for want, det := range cases {
		src := base + det
		if want == "logsource" {
			src = strings.Replace(base, "cloudtrail", "guardduty", 1) + "    selection:\n        eventName: X\n    condition: selection\n"
		}
		_, err := CompileSigma([]byte(src), "t.yml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestSigmaConditions(t *testing.T) {
	src := `title: Conditions
id: 0b7f0c4e-1111-4222-8333-944455556667
logsource: {product: aws, service: cloudtrail}
`
	_ = src
	det := `title: C
id: 0b7f0c4e-1111-4222-8333-944455556667
level: low
logsource:
    product: aws
    service: cloudtrail
detection:
    sel_a:
        eventName|startswith: 'Stop'
    sel_b:
        eventSource|endswith: 'trail.amazonaws.com'
    filter_1:
        sourceIPAddress|cidr: 10.0.0.0/8
    filter_2:
        userAgent|contains|all:
            - console
            - amazonaws
    flag:
        errorCode|exists: false
    condition: all of sel_* and not 1 of filter_* and (flag or not flag)
`
	r, err := CompileSigma([]byte(det), "c.yml")
	if err != nil {
		t.Fatal(err)
	}
	eng := buildLake(t, []string{"../../shared/corpus/cloudtrail/stratus_aws.defense-evasion.cloudtrail-stop.json"})
	fs, err := RunRule(context.Background(), eng.DB(), &r, Window{})
	if err != nil {
		t.Fatalf("%v\n%s", err, r.SQL)
	}
	if len(fs) == 0 {
		t.Errorf("no finding for StopLogging\n%s", r.SQL)
	}
	for _, f := range fs {
		if f.Operation != "StopLogging" || f.Severity != "low" {
			t.Errorf("unexpected %+v", f)
		}
	}
}

func TestSigmaAggregation(t *testing.T) {
	src := `title: Burst of GetObject
id: 0b7f0c4e-1111-4222-8333-944455556668
level: medium
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: GetObject
    timeframe: 10m
    condition: selection | count() by userIdentity.arn > 2
tags:
    - attack.collection
    - attack.t1530
`
	r, err := CompileSigma([]byte(src), "agg.yml")
	if err != nil {
		t.Fatal(err)
	}
	eng := buildLake(t, caseFiles(t, "rules/s3-getobject-volume-cloudtrail", "nofire"))
	fs, err := RunRule(context.Background(), eng.DB(), &r, Window{})
	if err != nil {
		t.Fatalf("%v\n%s", err, r.SQL)
	}
	if len(fs) != 7 {
		t.Fatalf("%d findings, want one per day (7)", len(fs))
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.FindingID] || !strings.Contains(f.Evidence, `"count":3`) || !strings.HasSuffix(f.Resource, "assumed-role/etl-reader/etl") {
			t.Errorf("finding %+v", f)
		}
		seen[f.FindingID] = true
	}
	if got, _ := RunRule(context.Background(), eng.DB(), &r, Window{}); got[0].FindingID != fs[0].FindingID {
		t.Error("aggregate finding ids are not deterministic")
	}
}
