package detections_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leakscope/leakscope/detections"
	"github.com/leakscope/leakscope/fixtures"
	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
	"github.com/leakscope/leakscope/query"
)

// TestFixtureDetections: the catalog raises no high or critical finding on
// the benign background of the synthetic incident, and raises every rule
// the truth of each planted incident expects.
func TestFixtureDetections(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and ingests fixture trees")
	}
	rules, err := detections.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, scenario := range []string{"benign", "sagemaker", "bedrock-lambda", "snapshot"} {
		t.Run(scenario, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			logs, lake := filepath.Join(dir, "logs"), filepath.Join(dir, "lake")
			truth, err := fixtures.Generate(logs, fixtures.Options{Scenario: scenario, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ingest.Run(ctx, ingest.Config{Lake: lake, Sources: sources.All(), ToolVersion: "test"}, []string{logs}); err != nil {
				t.Fatal(err)
			}
			eng, err := query.Open(ctx, lake, append(query.LakeTables(), detections.FindingsTable()))
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			day := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)
			fs, errs, err := detections.RunAll(ctx, eng.DB(), rules, detections.Window{Start: day, End: day.Add(48 * time.Hour)})
			if err != nil || len(errs) > 0 {
				t.Fatalf("run: %v %v", err, errs)
			}
			fired := map[string]bool{}
			for _, f := range fs {
				fired[f.DetectionID] = true
				if scenario == "benign" && detections.SeverityRank(f.Severity) >= detections.SeverityRank("high") {
					t.Errorf("benign background raised %s finding %s: %s %s %s", f.Severity, f.DetectionID, f.ActorARN, f.Operation, f.Resource)
				}
			}
			if scenario == "benign" && len(truth.ExpectedDetections) != 0 {
				t.Errorf("benign truth expects detections %v", truth.ExpectedDetections)
			}
			for _, id := range truth.ExpectedDetections {
				if !fired[id] {
					t.Errorf("expected detection %s did not fire", id)
				}
				if !slices.ContainsFunc(rules, func(r detections.Rule) bool { return r.Meta.ID == id }) {
					t.Errorf("truth names unknown rule %s", id)
				}
			}
		})
	}
}
