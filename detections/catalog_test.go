package detections

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/leakscope/leakscope/query"
)

const minCatalog = 40

// TestCatalogInvariants: every rule folder has strict metadata, SQL and
// both test cases, and the embedded catalog matches the folders.
func TestCatalogInvariants(t *testing.T) {
	rules, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < minCatalog {
		t.Errorf("catalog has %d rules, want at least %d", len(rules), minCatalog)
	}
	dirs, err := os.ReadDir("rules")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(rules) {
		t.Errorf("%d rule folders but %d rules", len(dirs), len(rules))
	}
	for _, d := range dirs {
		dir := filepath.Join("rules", d.Name())
		for _, f := range []string{"rule.json", "rule.sql"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
		}
		for _, kind := range []string{"fire", "nofire"} {
			if len(caseFiles(t, dir, kind)) == 0 {
				t.Errorf("%s has no %s.* test case", dir, kind)
			}
		}
	}
	for _, r := range rules {
		if !strings.Contains(r.SQL, "params") {
			t.Errorf("rule %s does not read the params table (window bounds)", r.ID)
		}
	}
}

// TestCatalogCases ingests each rule's fire and nofire case into lakes
// and asserts the rule finds something in the first and nothing in the
// second. All fire cases share one lake and all nofire cases another; a
// rule's findings are attributed by source_uri, and the benign lake must
// stay quiet for every rule.
func TestCatalogCases(t *testing.T) {
	rules, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var fire, nofire []string
	for _, r := range rules {
		dir := filepath.Join("rules", r.ID)
		fire = append(fire, caseFiles(t, dir, "fire")...)
		nofire = append(nofire, caseFiles(t, dir, "nofire")...)
	}
	fireEng, quietEng := buildLakes(t, fire, nofire)
	ctx := context.Background()
	w := Window{}
	for i := range rules {
		r := &rules[i]
		t.Run(r.ID, func(t *testing.T) {
			got, err := RunRule(ctx, fireEng.DB(), r, w)
			if err != nil {
				t.Fatalf("fire lake: %v", err)
			}
			own := 0
			for _, f := range got {
				if strings.Contains(f.SourceURI, "/"+r.ID+"/fire.") {
					own++
				}
				if f.DetectionID != r.ID || f.Severity != r.Severity || f.Title != r.Title {
					t.Errorf("finding carries %s/%s/%s, want the rule's metadata", f.DetectionID, f.Severity, f.Title)
				}
			}
			if own == 0 {
				t.Errorf("no finding from its fire case (%d findings from other cases)", len(got))
			}
			got, err = RunRule(ctx, quietEng.DB(), r, w)
			if err != nil {
				t.Fatalf("nofire lake: %v", err)
			}
			for _, f := range got {
				t.Errorf("benign lake finding: %s %s %s %s (%s)", f.Operation, f.ActorARN, f.Resource, f.Evidence, f.SourceURI)
			}
		})
	}
}

func buildLakes(t *testing.T, fire, nofire []string) (a, b *query.Engine) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a = buildLake(t, fire) }()
	b = buildLake(t, nofire)
	wg.Wait()
	if a == nil {
		t.FailNow()
	}
	return a, b
}
