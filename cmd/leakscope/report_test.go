package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReportOfTheSyntheticIncident renders the report of the planted
// sagemaker leak in every format and checks the numbers against the
// fixture's truth.
func TestReportOfTheSyntheticIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and ingests a fixture tree")
	}
	dir := t.TempDir()
	logs, lake := filepath.Join(dir, "logs"), filepath.Join(dir, "lake")
	if _, stderr, code := cli(t, "fixtures", logs); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := cli(t, "ingest", "--quiet", "--lake", lake, logs); code != 0 {
		t.Fatal(stderr)
	}
	var truth struct {
		Seeds struct {
			AccessKeys []string `json:"access_keys"`
		} `json:"seeds"`
		Expected struct {
			Totals struct {
				Objects     int   `json:"objects"`
				BytesRead   int64 `json:"bytes_read"`
				BytesEgress int64 `json:"bytes_egress"`
			} `json:"totals"`
		} `json:"expected"`
	}
	b, err := os.ReadFile(filepath.Join(logs, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	key := truth.Seeds.AccessKeys[0]
	for _, ext := range []string{"json", "md", "html"} {
		out := filepath.Join(dir, "report."+ext)
		stdout, stderr, code := cli(t, "report", "--lake", lake, "--access-key", key, "--since", "2026-11-14", "--until", "2026-11-14", "--out", out)
		if code != 0 || !strings.Contains(stdout, "report written to") {
			t.Fatalf("report %s: exit %d: %s", ext, code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		switch ext {
		case "json":
			var doc struct {
				Scope struct {
					Totals struct {
						Objects     int   `json:"objects"`
						BytesRead   int64 `json:"bytes_read"`
						BytesEgress int64 `json:"bytes_egress"`
					} `json:"totals"`
				} `json:"scope"`
				Findings []struct {
					DetectionID string `json:"detection_id"`
				} `json:"findings"`
				Evidence struct {
					Objects []struct {
						SHA256 string `json:"sha256"`
					} `json:"objects"`
				} `json:"evidence"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Scope.Totals != truth.Expected.Totals {
				t.Errorf("report totals %+v, truth %+v", doc.Scope.Totals, truth.Expected.Totals)
			}
			if len(doc.Findings) == 0 || len(doc.Evidence.Objects) == 0 || doc.Evidence.Objects[0].SHA256 == "" {
				t.Errorf("report has %d findings and %d evidence objects", len(doc.Findings), len(doc.Evidence.Objects))
			}
		case "md", "html":
			if !strings.Contains(string(data), strconv.Itoa(truth.Expected.Totals.Objects)) || !strings.Contains(string(data), key) {
				t.Errorf("%s report lacks the object count or the seed key", ext)
			}
		}
	}
	if _, stderr, code := cli(t, "report", "--lake", lake, "--access-key", key, "--out", filepath.Join(dir, "r.pdf")); code != 2 || !strings.Contains(stderr, ".html, .md or .json") {
		t.Errorf("unknown extension: exit %d: %s", code, stderr)
	}
}
