package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateTimeline = flag.Bool("update-timeline", false, "rewrite cmd/leakscope/testdata/timeline golden files (as does -update when a test of the package defines it)")

func updatingTimeline() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return *updateTimeline
}

// timelineLogs writes a small incident: a stolen key assumes a role, the
// session reads an object (logged by CloudTrail and the access log under
// one request id) with a hostile user agent and key, and the attacker
// address appears in a flow record.
func timelineLogs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ct := `{"Records":[
{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLECI","arn":"arn:aws:iam::111111111111:user/ci-deployer","accountId":"111111111111","accessKeyId":"AKIAEXAMPLESTOLEN001","userName":"ci-deployer"},"eventTime":"2026-11-14T02:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","userAgent":"TruffleHog","requestParameters":null,"responseElements":null,"requestID":"req-1","eventID":"evt-1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"},
{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLECI","arn":"arn:aws:iam::111111111111:user/ci-deployer","accountId":"111111111111","accessKeyId":"AKIAEXAMPLESTOLEN001","userName":"ci-deployer"},"eventTime":"2026-11-14T02:01:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","userAgent":"aws-cli/2.15.0","requestParameters":{"roleArn":"arn:aws:iam::111111111111:role/data-reader","roleSessionName":"x1"},"responseElements":{"credentials":{"accessKeyId":"ASIAHOP1EXAMPLE00001","expiration":"Nov 14, 2026, 3:01:00 AM","sessionToken":"T"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:x1","arn":"arn:aws:sts::111111111111:assumed-role/data-reader/x1"}},"requestID":"req-2","eventID":"evt-2","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"},
{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:x1","arn":"arn:aws:sts::111111111111:assumed-role/data-reader/x1","accountId":"111111111111","accessKeyId":"ASIAHOP1EXAMPLE00001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111111111111:role/data-reader","accountId":"111111111111","userName":"data-reader"}}},"eventTime":"2026-11-14T02:05:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","userAgent":"=HYPERLINK(\"http://evil.example/x\",\"click\")","requestParameters":{"bucketName":"acme-ml-training-data","key":"train/\u001b]0;pwned\u0007.parquet"},"responseElements":null,"additionalEventData":{"bytesTransferredOut":1234567},"requestID":"REQ0001AAAA","eventID":"evt-3","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111111111111","eventCategory":"Data"},
{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEAL","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLEALICE0001","userName":"alice"},"eventTime":"2026-11-14T04:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.20","userAgent":"console.amazonaws.com","requestID":"req-4","eventID":"evt-4","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}
]}`
	s3 := `79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be acme-ml-training-data [14/Nov/2026:02:05:01 +0000] 203.0.113.66 arn:aws:sts::111111111111:assumed-role/data-reader/x1 REQ0001AAAA REST.GET.OBJECT train/%1B%5D0%3Bpwned%07.parquet "GET /acme-ml-training-data/train/%1B%5D0%3Bpwned%07.parquet HTTP/1.1" 200 - 1234567 1234567 80 20 "-" "=HYPERLINK(\"http://evil.example/x\",\"click\")" - hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader acme-ml-training-data.s3.us-east-1.amazonaws.com TLSv1.3 - -
`
	flow := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 111111111111 eni-0a1b2c3d4e5f60718 10.0.1.15 203.0.113.66 443 51544 6 4100 5242880 1794622080 1794622140 ACCEPT OK\n" +
		"2 111111111111 eni-0a1b2c3d4e5f60718 10.0.1.16 198.51.100.7 443 40000 6 10 4200 1794622080 1794622140 ACCEPT OK\n"
	for rel, data := range map[string]string{
		"AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/14/111111111111_CloudTrail_us-east-1_20261114T0205Z_a1b2c3d4e5f6a7b8.json":               ct,
		"s3logs/111111111111/us-east-1/acme-ml-training-data/2026/11/14/2026-11-14-02-10-00-A1B2C3D4E5F60718":                                       s3,
		"AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/14/111111111111_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261114T0210Z_c1d2e3f4.log": flow,
	} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTimelineCommand(t *testing.T) {
	logs := timelineLogs(t)
	lake := filepath.Join(t.TempDir(), "lake")
	if code, _, stderr := runCLI("ingest", "--lake", lake, "--quiet", "--strict", logs); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, stderr)
	}
	outFile := filepath.Join(t.TempDir(), "timeline.jsonl")
	cases := []struct {
		name     string
		args     []string
		code     int
		stderr   string // substring of stderr
		noStdout bool
	}{
		{name: "no-seed", args: []string{"timeline", "--lake", lake}, code: 2, stderr: "no seed given", noStdout: true},
		{name: "bad-source", args: []string{"timeline", "--lake", lake, "--ip", "203.0.113.66", "--source", "cloudtrail;"}, code: 2, stderr: "--source", noStdout: true},
		{name: "bad-format", args: []string{"timeline", "--lake", lake, "--ip", "203.0.113.66", "--format", "xml"}, code: 2, stderr: "--format", noStdout: true},
		{name: "bad-since", args: []string{"timeline", "--lake", lake, "--ip", "203.0.113.66", "--since", "yesterday"}, code: 2, stderr: "--since", noStdout: true},
		{name: "no-lake", args: []string{"timeline", "--lake", filepath.Join(t.TempDir(), "missing"), "--ip", "203.0.113.66"}, code: 1, stderr: "not found", noStdout: true},
		{name: "follow.csv", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--format", "csv"}},
		{name: "follow.table", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--format", "table"}},
		{name: "no-follow.table", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--no-follow", "--format", "table"}},
		{name: "sources.jsonl", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--source", "s3_access", "--source", "vpc_flow", "--format", "jsonl"}},
		{name: "limit.table", args: []string{"timeline", "--lake", lake, "--ip", "203.0.113.66", "--limit", "2", "--format", "table"}},
		{name: "window.table", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--since", "2026-11-14T02:00:30Z", "--until", "2026-11-14", "--format", "table"}},
		{name: "summary.table", args: []string{"timeline", "--lake", lake, "--principal", "arn:aws:iam::111111111111:user/ci-deployer", "--summary", "--format", "table"}},
		{name: "summary.json", args: []string{"timeline", "--lake", lake, "--principal", "arn:aws:iam::111111111111:user/ci-deployer", "--summary", "--format", "json"}},
		{name: "hostile.jsonl", args: []string{"timeline", "--lake", lake, "--principal", "'; DROP TABLE cloudtrail; --", "--access-key", "%", "--ip", "_", "--bucket", "a'b\nc", "--format", "jsonl"}},
		{name: "timesketch-out", args: []string{"timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--format", "timesketch", "--out", outFile}, noStdout: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if c.stderr != "" && !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr, c.stderr)
			}
			if c.code == 0 && stderr != "" {
				t.Errorf("unexpected stderr: %s", stderr)
			}
			if c.noStdout {
				if stdout != "" {
					t.Errorf("unexpected stdout: %s", stdout)
				}
				return
			}
			stdout = strings.ReplaceAll(stdout, logs, "$LOGS")
			cliGolden(t, c.name, stdout)
		})
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	cliGolden(t, "timesketch-out.jsonl", strings.ReplaceAll(string(b), logs, "$LOGS"))

	// Facts the golden files must show.
	_, csvOut, _ := runCLI("timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--format", "csv")
	for _, want := range []string{`"'=HYPERLINK(""http://evil.example/x"",""click"")"`, "flow 10.0.1.15 → 203.0.113.66:51544", "cloudtrail+s3_access"} {
		if !strings.Contains(csvOut, want) {
			t.Errorf("timeline CSV lacks %q", want)
		}
	}
	if strings.Contains(csvOut, "198.51.100") || strings.Contains(csvOut, "alice") {
		t.Error("timeline CSV holds unrelated activity")
	}
	if strings.Count(csvOut, "REQ0001AAAA") != 1 {
		t.Error("the read logged by CloudTrail and the access log must appear once")
	}
	_, table, _ := runCLI("timeline", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--format", "table")
	if strings.ContainsRune(table, 0x1b) || strings.ContainsRune(table, 0x07) {
		t.Error("a terminal escape from the logs reached the table")
	}
	_, hostile, _ := runCLI("timeline", "--lake", lake, "--principal", "'; DROP TABLE cloudtrail; --", "--format", "jsonl")
	if hostile != "" {
		t.Errorf("hostile seed matched: %s", hostile)
	}
	if code, out, _ := runCLI("query", "--lake", lake, "--format", "csv", "SELECT count(*) AS n FROM cloudtrail"); code != 0 || out != "n\n4\n" {
		t.Errorf("cloudtrail after hostile seeds: exit %d, %q", code, out)
	}
}

func cliGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "timeline", name)
	if updatingTimeline() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/leakscope -update-timeline to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
