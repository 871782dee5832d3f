package scope_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
	"github.com/leakscope/leakscope/query"
)

// miniLake is a hand-built log tree: CloudTrail records, S3 server
// access log lines and VPC flow records, ingested into a real lake.
type miniLake struct {
	t     *testing.T
	ct    map[string][]map[string]any // account/region → records
	s3    map[string][]string         // bucket → lines
	flows []string
	n     int
}

const (
	acctA  = "111122223333"
	acctB  = "444455556666"
	acctX  = "999988887777"
	owner  = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	flowHd = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
)

var day = time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)

func at(h, m, s int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

func newMiniLake(t *testing.T) *miniLake {
	return &miniLake{t: t, ct: map[string][]map[string]any{}, s3: map[string][]string{}}
}

// user and session identities.
func userID(acct, name, key string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE" + name, "arn": "arn:aws:iam::" + acct + ":user/" + name,
		"accountId": acct, "accessKeyId": key, "userName": name}
}

func sessionID(acct, role, session, key string) map[string]any {
	return map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLE:" + session, "arn": sessionARN(acct, role, session),
		"accountId": acct, "accessKeyId": key, "sessionContext": map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::" + acct + ":role/" + role, "accountId": acct, "userName": role},
			"attributes":    map[string]any{"creationDate": "2026-11-14T00:00:00Z", "mfaAuthenticated": "false"}}}
}

func serviceID(svc string) map[string]any {
	return map[string]any{"type": "AWSService", "invokedBy": svc}
}

func sessionARN(acct, role, session string) string {
	return "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session
}

// call adds a CloudTrail record logged in acct/region.
func (l *miniLake) call(t time.Time, acct, region string, who map[string]any, ip, source, name string, params, resp map[string]any, extra map[string]any) map[string]any {
	l.n++
	rec := map[string]any{"eventVersion": "1.09", "userIdentity": who, "eventTime": t.UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": "aws-cli/2.17.20",
		"requestParameters": params, "responseElements": resp, "requestID": fmt.Sprintf("REQ%013d", l.n),
		"eventID": fmt.Sprintf("00000000-0000-4000-8000-%012d", l.n), "readOnly": strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List"),
		"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": acct, "eventCategory": "Management"}
	if inv, ok := who["invokedBy"]; ok {
		rec["sourceIPAddress"], rec["userAgent"] = inv, inv
	}
	for k, v := range extra {
		rec[k] = v
	}
	l.ct[acct+"/"+region] = append(l.ct[acct+"/"+region], rec)
	return rec
}

func (l *miniLake) assume(t time.Time, acct string, caller map[string]any, ip, roleAcct, role, session, key string) {
	l.call(t, acct, "us-east-1", caller, ip, "sts.amazonaws.com", "AssumeRole",
		map[string]any{"roleArn": "arn:aws:iam::" + roleAcct + ":role/" + role, "roleSessionName": session},
		map[string]any{"credentials": map[string]any{"accessKeyId": key, "sessionToken": "x", "expiration": "Nov 14, 2026, 3:00:00 AM"},
			"assumedRoleUser": map[string]any{"assumedRoleId": "AROAEXAMPLE:" + session, "arn": sessionARN(roleAcct, role, session)}}, nil)
}

// getObject logs a GetObject data event with its request id.
func (l *miniLake) getObject(t time.Time, acct, region string, who map[string]any, ip, bucket, key, reqID string, n int64) {
	l.call(t, acct, region, who, ip, "s3.amazonaws.com", "GetObject",
		map[string]any{"bucketName": bucket, "key": key, "Host": bucket + ".s3." + region + ".amazonaws.com"}, nil,
		map[string]any{"requestID": reqID, "eventCategory": "Data", "managementEvent": false, "readOnly": true,
			"additionalEventData": map[string]any{"bytesTransferredIn": 0, "bytesTransferredOut": n},
			"resources": []any{map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + bucket + "/" + key},
				map[string]any{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + bucket}}})
}

// access adds a server access log line.
func (l *miniLake) access(t time.Time, bucket, region, ip, requester, reqID, op, key string, status int, sent, size int64) {
	uri := "GET /" + key + " HTTP/1.1"
	line := fmt.Sprintf(`%s %s [%s] %s %s %s %s %s "%s" %d - %d %d 20 10 "-" "aws-cli/2.17.20" - AbCdEfGh= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader %s.s3.%s.amazonaws.com TLSv1.3 - -`,
		owner, bucket, t.UTC().Format("02/Jan/2006:15:04:05 -0700"), ip, requester, reqID, op, key, uri, status, sent, size, bucket, region)
	l.s3[bucket] = append(l.s3[bucket], line)
}

// flow adds a v5 flow record.
func (l *miniLake) flow(eni, instance, src, dst string, sport, dport int, bytes int64, start time.Time, dir, dstSvc string) {
	svc := dstSvc
	if svc == "" {
		svc = "-"
	}
	l.flows = append(l.flows, fmt.Sprintf("5 %s %s %s %s %d %d 6 10 %d %d %d ACCEPT OK vpc-0a1b2c3d subnet-0a1b2c3d %s 3 IPv4 %s %s us-east-1 use1-az1 - - - %s %s 8",
		acctA, eni, src, dst, sport, dport, bytes, start.Unix(), start.Unix()+59, instance, src, dst, svc, dir))
}

// open writes the tree, ingests it and opens the lake.
func (l *miniLake) open() *query.Engine {
	t := l.t
	t.Helper()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	write := func(rel string, b []byte) {
		p := filepath.Join(logs, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	for k, recs := range l.ct {
		acct, region, _ := strings.Cut(k, "/")
		b, err := json.Marshal(map[string]any{"Records": recs})
		if err != nil {
			t.Fatal(err)
		}
		i++
		write(fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2026/11/14/%s_CloudTrail_%s_20261114T0000Z_%016d.json", acct, region, acct, region, i), b)
	}
	for bucket, lines := range l.s3 {
		write(fmt.Sprintf("s3-access/%s/2026-11-14-23-00-00-0123456789ABCDEF", bucket), []byte(strings.Join(lines, "\n")+"\n"))
	}
	if len(l.flows) > 0 {
		write("AWSLogs/"+acctA+"/vpcflowlogs/us-east-1/2026/11/14/"+acctA+"_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20261114T0000Z_0a1b2c3d.log",
			[]byte(flowHd+"\n"+strings.Join(l.flows, "\n")+"\n"))
	}
	lake := filepath.Join(dir, "lake")
	st, err := ingest.Run(context.Background(), ingest.Config{Lake: lake, Sources: sources.All(), ToolVersion: "test"}, []string{logs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Quarantined > 0 || st.ObjectsFailed > 0 {
		t.Fatalf("hand-built lake: %d quarantined, %d failed objects", st.Quarantined, st.ObjectsFailed)
	}
	eng, err := query.Open(context.Background(), lake, query.LakeTables())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}
