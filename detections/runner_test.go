package detections

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/query"
)

func openLake(t testing.TB, lake string) *query.Engine {
	t.Helper()
	eng, err := query.Open(context.Background(), lake, append(query.LakeTables(), FindingsTable()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// TestDetectIdempotent: a second run over the same lake records nothing
// new, the findings view reads what the first run wrote, and the
// watermark advances to the latest event.
func TestDetectIdempotent(t *testing.T) {
	rules, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	eng := buildLake(t, append(caseFiles(t, "rules/cloudtrail-stop-logging", "fire"), caseFiles(t, "rules/s3-public-acl", "fire")...))
	lake := eng.Lake()
	ctx := context.Background()
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rep, err := Detect(ctx, eng, Config{Rules: rules, Lookback: 24 * time.Hour, ToolVersion: "test", Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	if rep.New < 3 || rep.New != len(rep.Findings) || !rep.Incremental {
		t.Fatalf("first run: %d new of %d (incremental %v)", rep.New, len(rep.Findings), rep.Incremental)
	}
	files, _ := filepath.Glob(filepath.Join(lake, "findings", "date=*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no findings file written")
	}
	wm, ok, err := LoadWatermark(lake)
	if err != nil || !ok {
		t.Fatalf("watermark: %v %v", ok, err)
	}
	if want := time.Date(2026, 11, 14, 2, 4, 0, 0, time.UTC); !wm.Through.Equal(want) {
		t.Errorf("watermark %s, want %s", wm.Through, want)
	}

	eng2 := openLake(t, lake)
	var n int
	if err := eng2.DB().QueryRow("SELECT count(*) FROM findings WHERE date = DATE '2026-11-14'").Scan(&n); err != nil || n != rep.New {
		t.Fatalf("findings view holds %d rows (%v), want %d", n, err, rep.New)
	}
	rep2, err := Detect(ctx, eng2, Config{Rules: rules, Lookback: 24 * time.Hour, ToolVersion: "test", Start: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.New != 0 || len(rep2.Findings) != len(rep.Findings) {
		t.Errorf("second run: %d new, %d findings; want 0 new and %d", rep2.New, len(rep2.Findings), len(rep.Findings))
	}
	if !rep2.Window.Start.Equal(wm.Through.Add(-24 * time.Hour)) {
		t.Errorf("incremental window starts %s", rep2.Window.Start)
	}
	// An explicit window after the events finds nothing.
	rep3, err := Detect(ctx, eng2, Config{Rules: rules, Since: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), ToolVersion: "test", Start: start})
	if err != nil || len(rep3.Findings) != 0 {
		t.Errorf("window after the events: %d findings, %v", len(rep3.Findings), err)
	}
	if !AtOrAbove(rep.Findings, "critical") || AtOrAbove(rep3.Findings, "info") {
		t.Error("AtOrAbove")
	}
	s := Summarize(rep.Findings, rules)
	if s.BySeverity["critical"] == 0 || s.ByTactic["defense-evasion"] == 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestParamsAreBound: a hostile string parameter is data, not SQL.
func TestParamsAreBound(t *testing.T) {
	eng := buildLake(t, nil)
	r := Rule{Meta: Meta{ID: "param-check", Title: "t", Severity: "low", Attack: Attack{Techniques: []string{"T1530"}},
		Params: map[string]any{"evil": "x'); DROP VIEW cloudtrail; --", "n": 3, "f": 1.5, "names": []any{"a", "b'c"}, "on": true}},
		SQL: `SELECT md5(p.evil) AS finding_id, p.detection_id, p.title, p.severity, p.window_start AS event_time,
			p.evil AS actor_arn, CAST(p.n AS VARCHAR) AS source_ip, CAST(p.f AS VARCHAR) AS account_id, p.names[2] AS region,
			CAST(p.on AS VARCHAR) AS operation, NULL AS resource, p.attack_ids, '{}' AS evidence, NULL AS source_uri FROM params p`}
	fs, err := RunRule(context.Background(), eng.DB(), &r, Window{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ActorARN != "x'); DROP VIEW cloudtrail; --" || fs[0].SourceIP != "3" || fs[0].AccountID != "1.5" ||
		fs[0].Region != "b'c" || fs[0].Operation != "true" || fs[0].AttackIDs != "T1530" {
		t.Fatalf("%+v", fs)
	}
	if _, err := eng.DB().Exec("SELECT count(*) FROM cloudtrail"); err != nil {
		t.Fatal(err)
	}
}

func TestRuleErrors(t *testing.T) {
	eng := buildLake(t, nil)
	bad := Rule{Meta: Meta{ID: "bad-columns", Severity: "low"}, SQL: "SELECT 1 AS x FROM params"}
	if _, err := RunRule(context.Background(), eng.DB(), &bad, Window{}); err == nil || !strings.Contains(err.Error(), "exactly") {
		t.Errorf("wrong columns: %v", err)
	}
	_, errs, err := RunAll(context.Background(), eng.DB(), []Rule{bad}, Window{})
	if err != nil || len(errs) != 1 || errs[0].Rule != "bad-columns" {
		t.Errorf("RunAll: %v %v", errs, err)
	}
}

func TestDecodeMetaStrict(t *testing.T) {
	good, err := os.ReadFile("rules/cloudtrail-stop-logging/rule.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeMeta(good); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(string) string{
		"unknown field": func(s string) string { return strings.Replace(s, `"title"`, `"titel": "x", "title"`, 1) },
		"severity":      func(s string) string { return strings.Replace(s, `"critical"`, `"urgent"`, 1) },
		"param name":    func(s string) string { return strings.Replace(s, `"params": {}`, `"params": {"Bad Name": 1}`, 1) },
		"param value":   func(s string) string { return strings.Replace(s, `"params": {}`, `"params": {"x": {"y": 1}}`, 1) },
		"reserved":      func(s string) string { return strings.Replace(s, `"params": {}`, `"params": {"window_start": 1}`, 1) },
		"trailing":      func(s string) string { return s + "{}" },
	} {
		if _, err := DecodeMeta([]byte(mut(string(good)))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoadDirAndMerge(t *testing.T) {
	dir := t.TempDir()
	src := "rules/cloudtrail-stop-logging"
	dst := filepath.Join(dir, "my-rule")
	os.MkdirAll(dst, 0o755)
	meta, _ := os.ReadFile(filepath.Join(src, "rule.json"))
	os.WriteFile(filepath.Join(dst, "rule.json"), []byte(strings.Replace(string(meta), `"cloudtrail-stop-logging"`, `"my-rule"`, 1)), 0o644)
	q, _ := os.ReadFile(filepath.Join(src, "rule.sql"))
	os.WriteFile(filepath.Join(dst, "rule.sql"), q, 0o644)
	rs, err := LoadDir(dir)
	if err != nil || len(rs) != 1 || rs[0].ID != "my-rule" {
		t.Fatalf("%v %v", rs, err)
	}
	cat, _ := Catalog()
	if _, err := Merge(cat, rs); err != nil {
		t.Error(err)
	}
	if _, err := Merge(cat, cat[:1]); err == nil {
		t.Error("duplicate id merged")
	}
	if _, err := LoadDir(t.TempDir()); err == nil {
		t.Error("empty rules folder accepted")
	}
}

func TestConcurrentDetectIsRefused(t *testing.T) {
	rules, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	eng := buildLake(t, caseFiles(t, "rules/cloudtrail-stop-logging", "fire"))
	release, err := ingest.LockLocal(eng.Lake(), "detect.lock")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Detect(context.Background(), eng, Config{Rules: rules, ToolVersion: "test"})
	release()
	if err == nil || !strings.Contains(err.Error(), "in use by another leakscope detect") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Detect(context.Background(), eng, Config{Rules: rules, ToolVersion: "test"}); err != nil {
		t.Fatalf("after release: %v", err)
	}
}
