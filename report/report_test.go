package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/report/integrity"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sampleDocument is a small but complete incident: an agent role that
// read a training-data bucket, copied it to another region, shared a
// snapshot and sent data out over the network.
func sampleDocument() *Document {
	agent := "arn:aws:iam::111122223333:role/bedrock-agent-support"
	user := "arn:aws:iam::111122223333:user/ci-deploy"
	d := &Document{
		Title: "Incident IR-2026-117: training data exfiltration",
		Provenance: Provenance{
			Tool: "leakscope", ToolVersion: "0.1.0", CatalogVersion: "2026.11.1",
			GeneratedAt: ts("2026-11-15T09:30:00Z"), Lake: "/cases/ir-117/lake",
			Command: "leakscope report --lake /cases/ir-117/lake --principal " + agent + " --out report.html",
			Seeds:   []Seed{{Kind: "principal", Value: agent}, {Kind: "ip", Value: "203.0.113.66"}},
			Since:   ts("2026-11-14T00:00:00Z"), Until: ts("2026-11-15T00:00:00Z"),
			Inputs: []InputHash{
				{Name: "manifest", SHA256: "9f2c1a0b5e8d7c6b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170605f4e3", Size: 18234},
				{Name: "catalog", SHA256: "1b7e0f3c2d4a59687a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071", Size: 90412},
			},
		},
		Summary: Summary{Headline: "An AI support agent's role was used from an unknown address to read and move customer training data out of the account."},
		Scope: Scope{
			Window: Window{Start: ts("2026-11-14T02:04:11Z"), End: ts("2026-11-14T05:47:30Z")},
			Principals: []Principal{
				{ARN: agent, Type: PrincipalRole, AIService: AIBedrock, FirstSeen: ts("2026-11-14T02:04:11Z"), LastSeen: ts("2026-11-14T05:47:30Z")},
				{ARN: user, Type: PrincipalIAMUser, FirstSeen: ts("2026-11-14T03:10:00Z"), LastSeen: ts("2026-11-14T03:12:44Z")},
			},
			AccessKeys: []string{"ASIAEXAMPLEAGENT0001", "AKIAEXAMPLECIDEPLOY1"},
			SourceIPs:  []string{"203.0.113.66", "10.20.1.15"},
			Objects: []Object{
				{URI: "s3://acme-training-data/customers/2026/part-0001.parquet", Bytes: 734003200, FirstSeen: ts("2026-11-14T02:10:00Z"), LastSeen: ts("2026-11-14T02:10:00Z"), Evidence: []string{"cloudtrail", "s3_access"}},
				{URI: "s3://acme-training-data/customers/2026/part-0002.parquet", Bytes: 712441856, FirstSeen: ts("2026-11-14T02:14:09Z"), LastSeen: ts("2026-11-14T02:14:09Z"), Evidence: []string{"s3_access"}},
				{URI: "s3://acme-model-artifacts/support-agent/v7/model.tar.gz", Bytes: 2147483648, FirstSeen: ts("2026-11-14T03:40:12Z"), LastSeen: ts("2026-11-14T03:40:12Z"), Evidence: []string{"cloudtrail"}},
			},
			Transfers: []Transfer{
				{Kind: TransferCrossRegionCopy, Source: "s3://acme-training-data/customers/2026/", Destination: "s3://acme-tmp-sa-east-1/dump/", SourceRegion: "eu-west-1", DestinationRegion: "sa-east-1", Account: "111122223333", Bytes: 1446445056, Time: ts("2026-11-14T02:30:00Z"), Evidence: []string{"cloudtrail"}},
				{Kind: TransferSnapshotShare, Source: "snap-0a1b2c3d4e5f60718", Destination: "444455556666", SourceRegion: "eu-west-1", DestinationRegion: "eu-west-1", Account: "444455556666", Bytes: 0, Time: ts("2026-11-14T04:02:19Z"), Evidence: []string{"cloudtrail"}},
			},
			NetworkEgress: []Egress{
				{Interface: "eni-0f1e2d3c4b5a69788", SrcIP: "10.20.1.15", DstIP: "198.51.100.23", DstPort: 443, Bytes: 2254857830, FirstSeen: ts("2026-11-14T03:41:00Z"), LastSeen: ts("2026-11-14T05:47:00Z")},
			},
			Totals: Totals{Objects: 3, BytesRead: 3593928704, BytesTransferred: 1446445056, BytesEgress: 2254857830},
		},
		Findings: []Finding{
			{FindingID: "f-01", DetectionID: "ls-ai-001", Title: "AI agent role used from outside AWS", Severity: "high", EventTime: ts("2026-11-14T02:04:11Z"), ActorARN: agent, SourceIP: "203.0.113.66", Operation: "AssumeRole", Resource: agent, AttackIDs: []string{"T1078.004"}, Evidence: json.RawMessage(`{"user_agent":"python-requests/2.32","expected":"bedrock.amazonaws.com"}`)},
			{FindingID: "f-02", DetectionID: "ls-s3-004", Title: "Bulk GetObject on training data", Severity: "critical", EventTime: ts("2026-11-14T02:10:00Z"), ActorARN: agent, SourceIP: "203.0.113.66", Operation: "GetObject", Resource: "s3://acme-training-data", AttackIDs: []string{"T1530"}, Evidence: json.RawMessage(`{"objects":2,"bytes":1446445056}`)},
			{FindingID: "f-03", DetectionID: "ls-ec2-010", Title: "EBS snapshot shared with external account", Severity: "high", EventTime: ts("2026-11-14T04:02:19Z"), ActorARN: user, SourceIP: "10.20.1.15", Operation: "ModifySnapshotAttribute", Resource: "snap-0a1b2c3d4e5f60718", AttackIDs: []string{"T1537"}},
			{FindingID: "f-04", DetectionID: "ls-net-002", Title: "Large egress to rare destination", Severity: "medium", EventTime: ts("2026-11-14T03:41:00Z"), SourceIP: "10.20.1.15", Operation: "ACCEPT", Resource: "198.51.100.23:443", AttackIDs: []string{"T1048"}},
		},
		Timeline: []TimelineEvent{
			{Time: ts("2026-11-14T02:04:11Z"), Source: "cloudtrail", Actor: agent, SourceIP: "203.0.113.66", Action: "AssumeRole", Resource: agent, Note: "first use from 203.0.113.66"},
			{Time: ts("2026-11-14T02:10:00Z"), Source: "s3_access", Actor: agent, SourceIP: "203.0.113.66", Action: "REST.GET.OBJECT", Resource: "s3://acme-training-data/customers/2026/part-0001.parquet", Bytes: 734003200},
			{Time: ts("2026-11-14T02:30:00Z"), Source: "cloudtrail", Actor: agent, SourceIP: "203.0.113.66", Action: "CopyObject", Resource: "s3://acme-tmp-sa-east-1/dump/", Bytes: 1446445056, Note: "cross-region copy"},
			{Time: ts("2026-11-14T04:02:19Z"), Source: "cloudtrail", Actor: user, SourceIP: "10.20.1.15", Action: "ModifySnapshotAttribute", Resource: "snap-0a1b2c3d4e5f60718", Note: "shared with 444455556666"},
			{Time: ts("2026-11-14T05:47:00Z"), Source: "vpc_flow", SourceIP: "10.20.1.15", Action: "ACCEPT 443/tcp", Resource: "198.51.100.23", Bytes: 2254857830},
		},
		Charts: Charts{
			Activity: []Series{
				{Name: "cloudtrail", Points: []Point{{ts("2026-11-14T02:00:00Z"), 412}, {ts("2026-11-14T03:00:00Z"), 1330}, {ts("2026-11-14T04:00:00Z"), 610}, {ts("2026-11-14T05:00:00Z"), 95}}},
				{Name: "s3_access", Points: []Point{{ts("2026-11-14T02:00:00Z"), 980}, {ts("2026-11-14T03:00:00Z"), 2210}, {ts("2026-11-14T04:00:00Z"), 340}, {ts("2026-11-14T05:00:00Z"), 20}}},
				{Name: "vpc_flow", Points: []Point{{ts("2026-11-14T02:00:00Z"), 3200}, {ts("2026-11-14T03:00:00Z"), 3900}, {ts("2026-11-14T04:00:00Z"), 4100}, {ts("2026-11-14T05:00:00Z"), 3650}}},
			},
			Egress: []Series{
				{Name: "198.51.100.23", Points: []Point{{ts("2026-11-14T03:00:00Z"), 400000000}, {ts("2026-11-14T04:00:00Z"), 1200000000}, {ts("2026-11-14T05:00:00Z"), 654857830}}},
				{Name: "s3://acme-tmp-sa-east-1", Points: []Point{{ts("2026-11-14T02:00:00Z"), 1446445056}, {ts("2026-11-14T03:00:00Z"), 0}}},
			},
			Paths: []Path{
				{Identity: agent, Session: "ASIAEXAMPLEAGENT0001", Data: "s3://acme-training-data", Destination: "s3://acme-tmp-sa-east-1 (sa-east-1)", Bytes: 1446445056},
				{Identity: agent, Session: "ASIAEXAMPLEAGENT0001", Data: "s3://acme-model-artifacts", Destination: "198.51.100.23:443", Bytes: 2147483648},
				{Identity: user, Session: "AKIAEXAMPLECIDEPLOY1", Data: "snap-0a1b2c3d4e5f60718", Destination: "account 444455556666", Bytes: 0},
			},
		},
		Coverage: Coverage{
			Notes:                    []string{"S3 data events are enabled for acme-training-data only; reads of other buckets are visible in S3 server access logs alone.", "VPC Flow Logs cover vpc-0abc only."},
			Sources:                  []SourceCoverage{{Source: "cloudtrail", Objects: 288, Rows: 51234, First: ts("2026-11-14T00:00:12Z"), Last: ts("2026-11-14T23:59:58Z")}, {Source: "s3_access", Objects: 1440, Rows: 80211, First: ts("2026-11-14T00:00:40Z"), Last: ts("2026-11-14T23:59:59Z")}, {Source: "vpc_flow", Objects: 96, Rows: 402118, First: ts("2026-11-14T00:00:00Z"), Last: ts("2026-11-14T23:55:00Z")}},
			BucketsWithoutDataEvents: []string{"acme-model-artifacts"},
			Gaps:                     []Gap{{Source: "vpc_flow", Start: ts("2026-11-14T06:00:00Z"), End: ts("2026-11-14T07:00:00Z")}},
			Quarantined:              3,
		},
		Evidence: Evidence{
			Objects: []EvidenceObject{
				{URI: "/cases/ir-117/logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/14/111122223333_CloudTrail_eu-west-1_20261114T0210Z_a1B2c3D4e5F6g7H8.json.gz", Table: "cloudtrail", Size: 48211, SHA256: "3c5d8f9a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbc", ETag: "\"5d41402abc4b2a76b9719d911017c592\"", RecordsRead: 214, RowsWritten: 212, Quarantined: 1, Duplicates: 1, Status: "ok"},
				{URI: "/cases/ir-117/logs/s3-access/acme-training-data/2026-11-14-02-10-00-ABCDEF0123456789", Table: "s3_access", Size: 9120, SHA256: "aa5d8f9a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbc", RecordsRead: 31, RowsWritten: 29, Quarantined: 2, Status: "ok"},
			},
			Commands: []string{"leakscope verify --lake /cases/ir-117/lake --public-keys keys.json /cases/ir-117/logs", "leakscope scope --lake /cases/ir-117/lake --principal " + agent + " --format json"},
			Queries:  []Query{{Name: "objects read by the agent role", SQL: "SELECT bucket, object_key, sum(bytes_out)\nFROM cloudtrail\nWHERE actor_arn = '" + agent + "' AND event_name = 'GetObject'\nGROUP BY ALL ORDER BY 3 DESC"}},
		},
		Verification: &Verification{Verdict: "invalid", Sources: []string{"/cases/ir-117/logs"},
			Summary:  integrity.Summary{Digests: 24, DigestsValid: 24, LogFiles: 288, LogsValid: 287, LogsMissing: 1, Objects: 1824, ObjectsUnchanged: 1824},
			Problems: []string{"log file s3://acme-trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/14/111122223333_CloudTrail_eu-west-1_20261114T0415Z_Zz9.json.gz is missing: listed in the digest but not found in the sources"}},
	}
	d.Summarize()
	return d
}

// hostile is what an attacker can put in log fields.
const hostile = "<script>document.title='pwned'</script>\"'><img src=x onerror=alert(1)>|*_`[x](javascript:alert(1))\x1b]0;t\x07\u202e=cmd|' /C calc'!A0\n# heading"

func hostileDocument() *Document {
	d := sampleDocument()
	d.Title = "Report " + hostile
	d.Summary.Headline = hostile
	d.Summary.Notes = []string{hostile}
	d.Scope.Principals[0].ARN = hostile
	d.Scope.AccessKeys = append(d.Scope.AccessKeys, hostile)
	d.Scope.Objects[0].URI = "s3://b/" + hostile
	d.Scope.Transfers[0].Destination = hostile
	d.Scope.NetworkEgress[0].DstIP = hostile
	d.Findings[0].Title = hostile
	d.Findings[0].DetectionID = "=HYPERLINK(\"http://evil\")"
	d.Findings[0].Resource = "+SUM(A1)"
	d.Findings[1].ActorARN = "@cmd " + hostile
	d.Findings[0].Evidence = json.RawMessage(`{"x":"</code><script>document.title='pwned'</script>"}`)
	d.Findings[2].Evidence = json.RawMessage(`not json </script><script>alert(1)</script>`)
	d.Timeline[0].Note = hostile
	d.Timeline[1].Action = hostile
	d.Charts.Activity[0].Name = hostile
	d.Charts.Egress[0].Name = hostile
	d.Charts.Paths[0].Identity = hostile
	d.Charts.Paths[1].Destination = "</svg><script>document.title='pwned'</script>"
	d.Coverage.Notes = append(d.Coverage.Notes, hostile)
	d.Evidence.Objects[0].URI = hostile
	d.Evidence.Commands = append(d.Evidence.Commands, "echo ```\n"+hostile)
	d.Evidence.Queries[0].SQL += "\n-- " + hostile
	d.Verification.Problems = append(d.Verification.Problems, hostile)
	d.Provenance.Seeds = append(d.Provenance.Seeds, Seed{Kind: "bucket", Value: hostile})
	return d
}

func render(t *testing.T, fn func(*bytes.Buffer, *Document) error, d *Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var renderers = map[string]func(*bytes.Buffer, *Document) error{
	"json": func(b *bytes.Buffer, d *Document) error { return RenderJSON(b, d) },
	"md":   func(b *bytes.Buffer, d *Document) error { return RenderMarkdown(b, d) },
	"html": func(b *bytes.Buffer, d *Document) error { return RenderHTML(b, d) },
	"csv":  func(b *bytes.Buffer, d *Document) error { return RenderFindingsCSV(b, d) },
}

func TestGolden(t *testing.T) {
	for ext, fn := range renderers {
		t.Run(ext, func(t *testing.T) {
			got := render(t, fn, sampleDocument())
			if again := render(t, fn, sampleDocument()); again != got {
				t.Fatal("rendering is not deterministic")
			}
			path := filepath.Join("testdata", "sample."+ext)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; run go test ./report -update and review the diff", path)
			}
		})
	}
}

func TestKeyNumbersInEveryFormat(t *testing.T) {
	d := sampleDocument()
	for _, ext := range []string{"md", "html"} {
		out := render(t, renderers[ext], d)
		for _, want := range []string{"3.3 GiB", "3,593,928,704", "2,254,857,830", "4 findings", "1 critical", "2 principals (1 of them an AI workload)", "Log integrity did NOT verify"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing", ext, want)
			}
		}
	}
	var back Document
	if err := json.Unmarshal([]byte(render(t, renderers["json"], d)), &back); err != nil {
		t.Fatal(err)
	}
	if back.Scope.Totals.BytesEgress != 2254857830 || back.Summary.Findings != 4 || back.Scope.Principals[0].AIService != AIBedrock || back.Scope.Principals[1].AIService != "" {
		t.Errorf("JSON round trip: %+v", back.Summary)
	}
}

// The scope JSON has exactly the SPEC §6 keys, with null ai_service and
// [] for empty lists.
func TestScopeJSONShape(t *testing.T) {
	b, err := json.Marshal(Scope{Principals: []Principal{{ARN: "arn:aws:iam::1:user/a", Type: PrincipalIAMUser}}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"window", "principals", "access_keys", "source_ips", "objects", "transfers", "network_egress", "totals"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing: %s", k, b)
		}
	}
	if len(m) != 8 {
		t.Errorf("extra keys: %s", b)
	}
	s := string(b)
	for _, want := range []string{`"ai_service":null`, `"access_keys":[]`, `"network_egress":[]`, `"totals":{"objects":0,"bytes_read":0,"bytes_transferred":0,"bytes_egress":0}`, `"window":{"start":"0001-01-01T00:00:00Z"`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s missing in %s", want, s)
		}
	}
	full, _ := json.Marshal(sampleDocument().Scope)
	for _, k := range []string{`"first_seen"`, `"last_seen"`, `"evidence":["cloudtrail","s3_access"]`, `"kind":"cross_region_copy"`, `"source_region"`, `"destination_region"`, `"dst_port":443`, `"interface":"eni-`, `"src_ip"`, `"dst_ip"`, `"uri":"s3://`} {
		if !strings.Contains(string(full), k) {
			t.Errorf("%s missing in scope JSON", k)
		}
	}
	var back Scope
	if err := json.Unmarshal(full, &back); err != nil || back.Totals.BytesRead != 3593928704 {
		t.Errorf("round trip: %v", err)
	}
}

func TestHostileHTML(t *testing.T) {
	out := render(t, renderers["html"], hostileDocument())
	for _, bad := range []string{"<script", "<img", "\x1b", "\x07", "\u202e", "</svg><script", "onerror=alert(1)>"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") {
		t.Error("hostile text not shown escaped")
	}
	// The CSP allows exactly the stylesheet that is there.
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(out)
	if m == nil || m[1] != css || !strings.Contains(out, `content="default-src &#39;none&#39;; style-src &#39;sha256-`) {
		t.Error("stylesheet or CSP missing")
	}
	if n := strings.Count(out, "<style>"); n != 1 {
		t.Errorf("%d style elements", n)
	}
	for _, ext := range []string{"http://", "https://", "src=\"", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, ""), ext) && ext != "http://" {
			t.Errorf("external reference %q in HTML", ext)
		}
	}
}

func TestHostileMarkdown(t *testing.T) {
	out := render(t, renderers["md"], hostileDocument())
	// Outside code fences (whose content is literal text) nothing may
	// form HTML or Markdown structure.
	prose := stripFences(out)
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\x07") || strings.Contains(out, "\u202e") {
		t.Error("control characters in Markdown")
	}
	for _, bad := range []string{"<script", "<img", "\n# heading", "```sh"} {
		if strings.Contains(prose, bad) {
			t.Errorf("Markdown contains %q", bad)
		}
	}
	// Every table row keeps its column count: no unescaped | from logs.
	cols := -1
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| ") {
			cols = -1
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1))
		if cols == -1 {
			cols = n
		} else if n != cols {
			t.Errorf("row has %d cells, header %d: %s", n, cols, line)
		}
	}
	if !strings.Contains(out, `&lt;script&gt;document.title='pwned'&lt;/script&gt;`) {
		t.Error("hostile text not shown escaped")
	}
	// Fenced blocks survive backticks in commands.
	if !strings.Contains(out, "````sh\necho ```") {
		t.Error("fence not lengthened")
	}
}

func TestHostileJSONAndCSV(t *testing.T) {
	out := render(t, renderers["json"], hostileDocument())
	if strings.Contains(out, "<script") || strings.Contains(out, "\x1b") {
		t.Error("JSON carries raw < or ESC")
	}
	var back Document
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("hostile JSON does not parse: %v", err)
	}
	if back.Scope.Principals[0].ARN != hostile {
		t.Error("JSON must keep log values exactly")
	}
	rows, err := csv.NewReader(strings.NewReader(render(t, renderers["csv"], hostileDocument()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("formula cell %q", c)
			}
			if strings.ContainsAny(c, "\x1b\x07\n") {
				t.Errorf("control character in cell %q", c)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	d := sampleDocument()
	s := d.Summary
	if s.Principals != 2 || s.AIPrincipals != 1 || s.Buckets != 2 || s.Objects != 3 || s.Severity != "critical" || s.BySeverity["high"] != 2 || len(s.Destinations) != 3 {
		t.Errorf("summary %+v", s)
	}
	empty := &Document{}
	empty.Summarize()
	if got := strings.Join(empty.Sentences(), " "); !strings.Contains(got, "0 principals read 0 objects") || !strings.Contains(got, "no findings") {
		t.Errorf("empty sentences: %s", got)
	}
	if HumanBytes(1023) != "1023 B" || HumanBytes(1536) != "1.5 KiB" || groupDigits(-1234567) != "-1,234,567" {
		t.Error("number formatting")
	}
}

func TestDerivePaths(t *testing.T) {
	s := sampleDocument().Scope
	if p := DerivePaths(s); p != nil {
		t.Errorf("two principals gave paths %v", p)
	}
	s.Principals = s.Principals[:1]
	p := DerivePaths(s)
	if len(p) != 3 || p[0].Destination != "s3://acme-tmp-sa-east-1/dump/" || p[2].Destination != "198.51.100.23:443" || p[2].Identity != s.Principals[0].ARN {
		t.Errorf("paths %+v", p)
	}
	s.Transfers, s.NetworkEgress = nil, nil
	if p := DerivePaths(s); len(p) != 2 || p[0].Data != "s3://acme-training-data" || p[0].Bytes != 1446445056 {
		t.Errorf("bucket-only paths %+v", p)
	}
}

func TestVerificationFrom(t *testing.T) {
	r := &integrity.Result{Verdict: "invalid", Sources: []string{"x"}, Summary: integrity.Summary{Digests: 1},
		ChainBreaks: []integrity.ChainBreak{{Digest: "s3://b/d", Kind: integrity.BreakMissingPrevious, Reason: "gone"}}}
	v := VerificationFrom(r)
	if v.Verdict != "invalid" || len(v.Problems) != 1 || VerificationFrom(nil) != nil {
		t.Errorf("%+v", v)
	}
}

// stripFences drops fenced code blocks (opened and closed by the same
// run of backticks).
func stripFences(s string) string {
	var b strings.Builder
	fence := ""
	for _, line := range strings.Split(s, "\n") {
		switch {
		case fence != "" && line == fence:
			fence = ""
		case fence != "":
		case strings.HasPrefix(line, "```"):
			fence = line[:len(line)-len(strings.TrimLeft(line, "`"))]
		default:
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
