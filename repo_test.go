// Repository invariants: formatting, vet, tidy modules, and the doc.go
// every package carries.
package leakscope_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGofmt(t *testing.T) {
	out, err := exec.Command("gofmt", "-l", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("files need gofmt:\n%s", s)
	}
}

func TestVet(t *testing.T) {
	if testing.Short() {
		t.Skip("vet compiles everything")
	}
	goCmd(t, "vet", "./...")
}

func TestModTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the module cache")
	}
	goCmd(t, "mod", "tidy", "-diff")
}

func TestEveryPackageHasDocGo(t *testing.T) {
	dirs := map[string]bool{}
	filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin" || d.Name() == "demo") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			dirs[filepath.Dir(p)] = true
		}
		return nil
	})
	for dir := range dirs {
		if dir == filepath.Join("cmd", "leakscope") {
			continue // the command's doc is in main.go
		}
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s has no doc.go saying what the package is for", dir)
		}
	}
}
