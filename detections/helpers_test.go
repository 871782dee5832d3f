package detections

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
	"github.com/leakscope/leakscope/query"
)

// buildLake ingests files into a fresh lake and opens it with the
// findings table.
func buildLake(t testing.TB, files []string) *query.Engine {
	t.Helper()
	ctx := context.Background()
	lake := t.TempDir()
	if len(files) > 0 {
		_, err := ingest.Run(ctx, ingest.Config{
			Lake: lake, Sources: sources.All(), Workers: 2,
			Account: "111122223333", Region: "us-east-1",
		}, files)
		if err != nil {
			t.Fatalf("ingest %s: %v", strings.Join(files, ", "), err)
		}
	}
	eng, err := query.Open(ctx, lake, append(query.LakeTables(), FindingsTable()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// caseFiles lists a rule folder's fire.* or nofire.* files.
func caseFiles(t testing.TB, dir, kind string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), kind+".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
