//go:build unix

package ingest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A killed run's scratch folders are removed by the next run; those of
// live processes, young ones and anything else in TMPDIR stay.
func TestSweepScratchRemovesFoldersOfDeadProcesses(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1) to get a dead process id")
	}
	dead := cmd.Process.Pid
	old := time.Now().Add(-time.Hour)
	mk := func(name string, mtime time.Time) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	gone := []string{
		mk(fmt.Sprintf("leakscope-spill-%d-123", dead), old),
		mk(fmt.Sprintf("leakscope-dedup-%d-456", dead), old),
	}
	kept := []string{
		mk(fmt.Sprintf("leakscope-spill-%d-789", dead), time.Now()), // young
		mk(fmt.Sprintf("leakscope-dedup-%d-1", os.Getpid()), old),   // this process
		mk(fmt.Sprintf("leakscope-spill-%d-2", os.Getppid()), old),  // alive
		mk("leakscope-spill-notapid-3", old),
		mk(fmt.Sprintf("other-%d-4", dead), old),
	}
	sweepScratch()
	for _, d := range gone {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s stayed (err %v)", filepath.Base(d), err)
		}
	}
	for _, d := range kept {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s went: %v", filepath.Base(d), err)
		}
	}
	// The folders a run makes carry its process id, so the sweep knows them.
	dir, err := newScratchDir("spill")
	if err != nil {
		t.Fatal(err)
	}
	if pid, ok := scratchPID(filepath.Base(dir)); !ok || pid != os.Getpid() {
		t.Errorf("%s: pid %d, %v", dir, pid, ok)
	}
}
