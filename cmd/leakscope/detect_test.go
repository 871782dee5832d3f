package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectCommand(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	rules := filepath.Join("..", "..", "detections", "rules")
	_, stderr, code := cli(t, "ingest", "--lake", lake,
		filepath.Join(rules, "cloudtrail-stop-logging", "fire.jsonl"),
		filepath.Join(rules, "s3-access-logging-disabled", "fire.jsonl"))
	if code != 0 {
		t.Fatalf("ingest: %d %s", code, stderr)
	}

	stdout, stderr, code := cli(t, "detect", "--lake", lake, "--format", "jsonl", "--fail-on", "high")
	if code != 3 {
		t.Fatalf("detect --fail-on high: exit %d, want 3\n%s", code, stderr)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		ids = append(ids, f["detection_id"].(string))
		for _, col := range []string{"finding_id", "severity", "event_time", "evidence", "source_uri", "attack_ids"} {
			if _, ok := f[col]; !ok {
				t.Errorf("finding lacks %s", col)
			}
		}
	}
	if strings.Join(ids, ",") != "s3-access-logging-disabled,cloudtrail-stop-logging" {
		t.Errorf("findings %v", ids)
	}
	if !strings.Contains(stderr, "2 findings (2 new)") || !strings.Contains(stderr, "by severity: critical 1, medium 1") ||
		!strings.Contains(stderr, "by ATT&CK tactic: defense-evasion 2") || !strings.Contains(stderr, "findings at or above severity high") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(lake, "_leakscope", "detect", "watermark.json")); err != nil {
		t.Error(err)
	}

	// Re-run: nothing new; below the --fail-on threshold exits 0.
	_, stderr, code = cli(t, "detect", "--lake", lake, "--format", "json", "--fail-on", "critical", "--since", "2026-11-15")
	if code != 0 || !strings.Contains(stderr, "0 findings (0 new)") {
		t.Errorf("window without events: exit %d\n%s", code, stderr)
	}
	_, stderr, code = cli(t, "detect", "--lake", lake, "--format", "csv")
	if code != 0 || !strings.Contains(stderr, "2 findings (0 new)") {
		t.Errorf("re-run: exit %d\n%s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(lake, "findings", "date=2026-11-14", "*.parquet"))
	if len(files) != 1 {
		t.Errorf("findings files %v, want one", files)
	}

	// The table format prints the summary after the findings.
	stdout, _, code = cli(t, "detect", "--lake", lake, "--format", "table", "--since", "2026-11-14", "--until", "2026-11-14")
	if code != 0 || !strings.Contains(stdout, "StopLogging") || !strings.Contains(stdout, "by severity:") {
		t.Errorf("table: exit %d\n%s", code, stdout)
	}
}

func TestDetectList(t *testing.T) {
	stdout, stderr, code := cli(t, "detect", "--list", "--format", "csv")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[0] != "id,severity,title,tactics,techniques,data_sources,status,origin" || len(lines) < 41 {
		t.Errorf("catalog listing: %d lines, header %q", len(lines), lines[0])
	}
}

func TestDetectSigma(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "sigma")
	stdout, stderr, code := cli(t, "detect", "--list", "--format", "csv", "--sigma", dir)
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	if !strings.Contains(stdout, "sigma-") || !strings.Contains(stderr, "not compiled") || !strings.Contains(stderr, "rules compiled") {
		t.Errorf("sigma listing:\n%s", stderr)
	}
}

func TestDetectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"detect", "--fail-on", "urgent"},
		{"detect", "--since", "yesterday"},
		{"detect", "--since", "2026-11-15", "--until", "2026-11-14"},
		{"detect", "extra"},
	} {
		if _, _, code := cli(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, stderr, code := cli(t, "detect", "--lake", filepath.Join(t.TempDir(), "none")); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("missing lake: %d %s", code, stderr)
	}
}
