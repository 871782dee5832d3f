package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/report"
)

// scopeLake ingests the small hostile incident of the timeline tests.
func scopeLake(t *testing.T) string {
	t.Helper()
	lake := filepath.Join(t.TempDir(), "lake")
	if code, _, errOut := runCLI("ingest", "--lake", lake, "-q", timelineLogs(t)); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	return lake
}

func TestScopeCommand(t *testing.T) {
	lake := scopeLake(t)
	seed := []string{"scope", "--lake", lake, "--access-key", "AKIAEXAMPLESTOLEN001", "--since", "2026-11-14", "--until", "2026-11-14"}

	code, out, errOut := runCLI(append(seed, "--format", "json")...)
	if code != 0 {
		t.Fatalf("scope json: exit %d: %s", code, errOut)
	}
	var sc report.Scope
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("scope json is not SPEC §6: %v\n%s", err, out)
	}
	if len(sc.Principals) != 2 || sc.Totals.Objects != 1 || sc.Totals.BytesRead != 1234567 {
		t.Errorf("scope = %+v", sc)
	}
	if o := sc.Objects[0]; strings.Join(o.Evidence, ",") != "cloudtrail,s3_access" || !strings.HasPrefix(o.URI, "s3://acme-ml-training-data/train/") {
		t.Errorf("object = %+v", o)
	}
	for _, k := range []string{`"window"`, `"principals"`, `"access_keys"`, `"source_ips"`, `"objects"`, `"transfers": []`, `"network_egress": []`, `"totals"`, `"ai_service": null`} {
		if !strings.Contains(out, k) {
			t.Errorf("json lacks %s", k)
		}
	}

	code, md, errOut := runCLI(append(seed, "--format", "md")...)
	if code != 0 {
		t.Fatalf("scope md: exit %d: %s", code, errOut)
	}
	if strings.ContainsAny(md, "\x1b\x07") {
		t.Errorf("markdown carries control characters from the logs")
	}
	for _, want := range []string{"# Leak scope", "leakscope timeline --lake", "leakscope query --lake", "FROM s3_reads", "1234567"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}

	code, table, errOut := runCLI(append(seed, "--format", "table")...)
	if code != 0 {
		t.Fatalf("scope table: exit %d: %s", code, errOut)
	}
	if strings.ContainsAny(table, "\x1b\x07") {
		t.Errorf("table carries control characters from the logs")
	}
	if !strings.Contains(table, `\x1b`) || !strings.Contains(table, "Objects read") {
		t.Errorf("table does not show the escaped key:\n%s", table)
	}

	out2 := filepath.Join(t.TempDir(), "scope.json")
	if code, _, errOut := runCLI(append(seed, "--format", "json", "--out", out2)...); code != 0 {
		t.Fatalf("scope --out: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(out2); err != nil || string(b) != out {
		t.Errorf("--out wrote %q (%v), want the stdout document", b, err)
	}
}

func TestScopeCommandErrors(t *testing.T) {
	lake := scopeLake(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"ai_principals":[{"match":"x","service":"gpt"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no seed", []string{"scope", "--lake", lake}, 2, "no seed"},
		{"object seed", []string{"scope", "--lake", lake, "--object", "s3://b/k"}, 2, "--object"},
		{"bad format", []string{"scope", "--lake", lake, "--ip", "203.0.113.66", "--format", "csv"}, 2, "format"},
		{"bad config", []string{"scope", "--lake", lake, "--ip", "203.0.113.66", "--config", bad}, 2, "service"},
		{"missing ranges", []string{"scope", "--lake", lake, "--ip", "203.0.113.66", "--aws-ip-ranges", bad + ".missing"}, 2, "aws-ip-ranges"},
		{"no lake", []string{"scope", "--lake", filepath.Join(t.TempDir(), "none"), "--ip", "203.0.113.66"}, 1, "not found"},
		{"no evidence", []string{"scope", "--lake", lake, "--ip", "192.0.2.1"}, 1, "no CloudTrail"},
		{"until before since", []string{"scope", "--lake", lake, "--ip", "203.0.113.66", "--since", "2026-11-15", "--until", "2026-11-14"}, 2, "before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tc.code, tc.msg)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 0 && tc.code != 2 {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
}
