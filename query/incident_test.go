package query

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
)

// The hand-built incident: a stolen IAM user key (AKIA) is checked with
// GetCallerIdentity, used to assume deploy-role (ASIA1), which assumes
// ml-data-reader in the data account (ASIA2, a two-hop cross-account
// chain); ASIA2 reads training data that S3 server access logs record
// again under the same request ids, and the attacker address shows up in a
// VPC flow record. Background activity by other principals must stay out
// of the incident's timeline.
const (
	incAttackerIP = "203.0.113.66"
	incStolenKey  = "AKIAEXAMPLESTOLEN001"
	incUserARN    = "arn:aws:iam::111111111111:user/ci-deployer"
	incHop1Key    = "ASIAHOP1EXAMPLE00001"
	incHop1ARN    = "arn:aws:sts::111111111111:assumed-role/deploy-role/x1"
	incHop2Key    = "ASIAHOP2EXAMPLE00002"
	incHop2ARN    = "arn:aws:sts::222222222222:assumed-role/ml-data-reader/x2"
	incBucket     = "acme-ml-training-data"
	incHostileUA  = `=HYPERLINK("http://evil.example/x","click")`
	incEscapeKey  = "train/\x1b]0;pwned\x07.txt"
)

func iamUser(account, name, key string) map[string]any {
	return map[string]any{
		"type": "IAMUser", "principalId": "AIDAEXAMPLE" + strings.ToUpper(name[:3]),
		"arn": "arn:aws:iam::" + account + ":user/" + name, "accountId": account,
		"accessKeyId": key, "userName": name,
	}
}

func assumedRole(account, role, session, key string) map[string]any {
	return map[string]any{
		"type": "AssumedRole", "principalId": "AROAEXAMPLE:" + session,
		"arn":       "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
		"accountId": account, "accessKeyId": key,
		"sessionContext": map[string]any{
			"attributes": map[string]any{"mfaAuthenticated": "false", "creationDate": "2026-11-14T02:01:00Z"},
			"sessionIssuer": map[string]any{
				"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::" + account + ":role/" + role,
				"accountId": account, "userName": role,
			},
		},
	}
}

func ctEvent(t, id string, who map[string]any, source, name, ip, ua, recipient string, extra map[string]any) map[string]any {
	ev := map[string]any{
		"eventVersion": "1.09", "userIdentity": who, "eventTime": t,
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1",
		"sourceIPAddress": ip, "userAgent": ua,
		"requestID": "req-" + id, "eventID": "evt-" + id,
		"readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": recipient, "eventCategory": "Management",
	}
	for k, v := range extra {
		ev[k] = v
	}
	return ev
}

func assumeRoleEvent(t, id string, who map[string]any, ip, roleARN, session, issuedKey, issuedARN, recipient string) map[string]any {
	return ctEvent(t, id, who, "sts.amazonaws.com", "AssumeRole", ip, "aws-cli/2.15.0 Python/3.11.6 Linux/6.1", recipient, map[string]any{
		"readOnly":          false,
		"requestParameters": map[string]any{"roleArn": roleARN, "roleSessionName": session, "durationSeconds": 3600},
		"responseElements": map[string]any{
			"credentials":     map[string]any{"accessKeyId": issuedKey, "expiration": "Nov 14, 2026, 3:01:00 AM", "sessionToken": "EXAMPLETOKEN"},
			"assumedRoleUser": map[string]any{"assumedRoleId": "AROAEXAMPLE:" + session, "arn": issuedARN},
		},
		"resources": []any{map[string]any{"ARN": roleARN, "accountId": roleARN[13:25], "type": "AWS::IAM::Role"}},
	})
}

func getObjectEvent(t, requestID string, who map[string]any, ip, ua, key string, bytes int64) map[string]any {
	ev := ctEvent(t, requestID, who, "s3.amazonaws.com", "GetObject", ip, ua, "222222222222", map[string]any{
		"requestParameters":   map[string]any{"bucketName": incBucket, "Host": incBucket + ".s3.us-east-1.amazonaws.com", "key": key},
		"responseElements":    nil,
		"additionalEventData": map[string]any{"bytesTransferredIn": 0, "bytesTransferredOut": bytes, "SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader"},
		"resources": []any{
			map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + incBucket + "/" + key},
			map[string]any{"accountId": "222222222222", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + incBucket},
		},
		"managementEvent": false, "eventCategory": "Data",
	})
	ev["requestID"] = requestID
	return ev
}

// s3Line is one server access log line of the data bucket.
func s3Line(ts, ip, requester, requestID, op, key string, status int, errCode string, bytes int64, ua string) string {
	q := func(s string) string { return `"` + s + `"` }
	b := "-"
	if bytes > 0 {
		b = itoa(bytes)
	}
	k := "-"
	uri := "GET /" + incBucket + "?list-type=2 HTTP/1.1"
	if key != "" {
		k = strings.ReplaceAll(key, "\x1b", "%1B")
		k = strings.ReplaceAll(k, "\x07", "%07")
		uri = "GET /" + incBucket + "/" + k + " HTTP/1.1"
	}
	return strings.Join([]string{
		"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", incBucket, "[" + ts + " +0000]", ip, requester, requestID,
		op, k, q(uri), itoa(int64(status)), orDash(errCode), b, "2345678", "120", "20", q("-"), q(ua), "-",
		"s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=", "SigV4",
		"ECDHE-RSA-AES128-GCM-SHA256", "AuthHeader", incBucket + ".s3.us-east-1.amazonaws.com", "TLSv1.3", "-", "-",
	}, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// writeIncident writes the incident's raw logs below dir.
func writeIncident(t testing.TB, dir string) {
	t.Helper()
	stolen := iamUser("111111111111", "ci-deployer", incStolenKey)
	hop1 := assumedRole("111111111111", "deploy-role", "x1", incHop1Key)
	hop2 := assumedRole("222222222222", "ml-data-reader", "x2", incHop2Key)
	alice := iamUser("111111111111", "alice", "AKIAEXAMPLEALICE0001")
	cli := "aws-cli/2.15.0 Python/3.11.6 Linux/6.1"

	trail111 := []any{
		ctEvent("2026-11-13T09:00:00Z", "bg1", alice, "s3.amazonaws.com", "ListBuckets", "198.51.100.20", "console.amazonaws.com", "111111111111", nil),
		ctEvent("2026-11-14T02:00:00Z", "gci", stolen, "sts.amazonaws.com", "GetCallerIdentity", incAttackerIP, "TruffleHog \x1b]0;pwned\x07", "111111111111", nil),
		assumeRoleEvent("2026-11-14T02:01:00Z", "ar1", stolen, incAttackerIP, "arn:aws:iam::111111111111:role/deploy-role", "x1", incHop1Key, incHop1ARN, "111111111111"),
		ctEvent("2026-11-14T02:02:00Z", "lb1", hop1, "s3.amazonaws.com", "ListBuckets", incAttackerIP, cli, "111111111111", map[string]any{
			"errorCode": "AccessDenied", "errorMessage": "Access Denied",
		}),
		assumeRoleEvent("2026-11-14T02:03:00Z", "ar2", hop1, incAttackerIP, "arn:aws:iam::222222222222:role/ml-data-reader", "x2", incHop2Key, incHop2ARN, "111111111111"),
		ctEvent("2026-11-14T05:00:00Z", "bg2", alice, "ec2.amazonaws.com", "DescribeInstances", "198.51.100.20", cli, "111111111111", nil),
	}
	crossAccount := assumeRoleEvent("2026-11-14T02:03:00Z", "ar2", hop1, incAttackerIP, "arn:aws:iam::222222222222:role/ml-data-reader", "x2", incHop2Key, incHop2ARN, "222222222222")
	crossAccount["sharedEventID"] = "shared-ar2"
	bob := assumedRole("222222222222", "ml-training", "job-42", "ASIAEXAMPLEBOBJOB042")
	trail222 := []any{
		crossAccount,
		getObjectEvent("2026-11-14T02:05:00Z", "REQ0001AAAA", hop2, incAttackerIP, cli, "train/0001.parquet", 1234567),
		getObjectEvent("2026-11-14T02:05:30Z", "REQ0002BBBB", hop2, incAttackerIP, incHostileUA, "train/0002.parquet", 2345678),
		getObjectEvent("2026-11-14T02:06:00Z", "REQ0004DDDD", hop2, incAttackerIP, cli, incEscapeKey, 512),
		getObjectEvent("2026-11-14T03:00:00Z", "REQ0009ZZZZ", bob, "10.0.1.99", "Boto3/1.34", "train/0001.parquet", 1234567),
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct {
		rel    string
		events []any
	}{
		{"AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/14/111111111111_CloudTrail_us-east-1_20261114T0205Z_a1b2c3d4e5f6a7b8.json", trail111},
		{"AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/14/222222222222_CloudTrail_us-east-1_20261114T0205Z_b1b2c3d4e5f6a7b8.json", trail222},
	} {
		b, err := json.Marshal(map[string]any{"Records": f.events})
		if err != nil {
			t.Fatal(err)
		}
		write(f.rel, b)
	}
	s3 := []string{
		s3Line("14/Nov/2026:02:05:00", incAttackerIP, incHop2ARN, "REQ0001AAAA", "REST.GET.OBJECT", "train/0001.parquet", 200, "", 1234567, cli),
		s3Line("14/Nov/2026:02:05:31", incAttackerIP, incHop2ARN, "REQ0002BBBB", "REST.GET.OBJECT", "train/0002.parquet", 200, "", 2345678, incHostileUA),
		s3Line("14/Nov/2026:02:07:00", incAttackerIP, incHop2ARN, "REQ0003CCCC", "REST.GET.OBJECT", "train/0003.parquet", 200, "", 3456789, cli),
		s3Line("14/Nov/2026:03:00:00", "10.0.1.99", "arn:aws:sts::222222222222:assumed-role/ml-training/job-42", "REQ0009ZZZZ", "REST.GET.OBJECT", "train/0001.parquet", 200, "", 1234567, "Boto3/1.34"),
		s3Line("14/Nov/2026:03:10:00", "198.51.100.7", "-", "REQ0010YYYY", "REST.GET.OBJECT", "public/readme.txt", 403, "AccessDenied", 0, "curl/8.4.0"),
	}
	write("s3logs/222222222222/us-east-1/"+incBucket+"/2026/11/14/2026-11-14-02-10-00-A1B2C3D4E5F60718", []byte(strings.Join(s3, "\n")+"\n"))
	flows := []string{
		"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
		"2 222222222222 eni-0a1b2c3d4e5f60718 10.0.1.15 " + incAttackerIP + " 443 51544 6 4100 5242880 1794622080 1794622140 ACCEPT OK",
		"2 222222222222 eni-0a1b2c3d4e5f60718 10.0.1.16 198.51.100.7 443 40000 6 10 4200 1794622080 1794622140 ACCEPT OK",
		"2 222222222222 eni-0a1b2c3d4e5f60718 " + incAttackerIP + " 10.0.1.15 40022 22 6 3 180 1794622200 1794622260 REJECT OK",
	}
	write("AWSLogs/222222222222/vpcflowlogs/us-east-1/2026/11/14/222222222222_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261114T0210Z_c1d2e3f4.log", []byte(strings.Join(flows, "\n")+"\n"))
}

// incidentLake ingests the incident into a fresh lake and returns its
// folder.
func incidentLake(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "logs")
	writeIncident(t, src)
	lake := filepath.Join(dir, "lake")
	st, err := ingest.Run(t.Context(), ingest.Config{Lake: lake, Sources: sources.All(), ToolVersion: "test"}, []string{src})
	if err != nil {
		t.Fatalf("ingest incident: %v", err)
	}
	if st.Quarantined != 0 || st.ObjectsFailed != 0 || st.RowsWritten == 0 {
		t.Fatalf("ingest incident: %d rows, %d quarantined, %d objects failed", st.RowsWritten, st.Quarantined, st.ObjectsFailed)
	}
	return lake
}

func openIncident(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(t.Context(), incidentLake(t), LakeTables())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
