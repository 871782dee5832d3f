package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Scratch folders in the temporary folder (TMPDIR): the files in progress
// of a run whose lake is on S3 and the spilled runs of the duplicate index.
// A run removes its own when it ends; a run killed outright cannot, so
// their names carry the process id, and every run removes those of
// processes that are gone.

// scratchKinds are the kinds of scratch folder.
var scratchKinds = []string{"spill", "dedup"}

// newScratchDir makes a scratch folder of kind in the temporary folder.
func newScratchDir(kind string) (string, error) {
	return os.MkdirTemp("", fmt.Sprintf("leakscope-%s-%d-*", kind, os.Getpid()))
}

// scratchGrace spares folders so young that their process may not be
// visible yet to the liveness check.
const scratchGrace = time.Minute

// sweepScratch removes the scratch folders of processes that no longer
// run. It reports nothing: a folder it cannot remove stays for the next
// run.
func sweepScratch() {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := scratchPID(e.Name())
		if !ok || !e.IsDir() || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < scratchGrace {
			continue
		}
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}

// scratchPID returns the process id in a scratch folder's name.
func scratchPID(name string) (int, bool) {
	for _, kind := range scratchKinds {
		rest, ok := strings.CutPrefix(name, "leakscope-"+kind+"-")
		if !ok {
			continue
		}
		digits, _, ok := strings.Cut(rest, "-")
		if !ok {
			return 0, false
		}
		pid, err := strconv.Atoi(digits)
		return pid, err == nil && pid > 0
	}
	return 0, false
}
