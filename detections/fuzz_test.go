package detections

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCompileSigma: Sigma files are input from outside; compiling any of
// them never panics, and what compiles is one statement whose values are
// bound, never pasted (the SQL holds no quote the rule brought in).
func FuzzCompileSigma(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "sigma", "*.yml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: \"x'; DROP TABLE cloudtrail; --\"\n  condition: sel\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := CompileSigma(data, "fuzz.yml")
		if err != nil {
			return
		}
		if strings.Contains(r.SQL, "DROP TABLE") {
			t.Fatalf("a rule value reached the SQL text:\n%s", r.SQL)
		}
	})
}
