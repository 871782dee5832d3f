package ingest

import (
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// Lake directory names. Bookkeeping lives under StateDir, which Hive-style
// engines ignore because it starts with an underscore.
const (
	StateDir      = "_leakscope"
	manifestDir   = StateDir + "/manifest"
	stagingDir    = StateDir + "/staging"
	dedupDir      = StateDir + "/dedup"
	quarantineDir = StateDir + "/quarantine"
	lockFile      = StateDir + "/lock"
)

// ManifestDir is the folder (relative to the lake root) holding one JSON
// commit record per commit; together they are the ingest manifest.
const ManifestDir = manifestDir

// QuarantineDir is the folder (relative to the lake root) holding the
// quarantined records as JSON Lines, one file per table and commit.
const QuarantineDir = quarantineDir

// Unknown is the partition value used when a log does not say its
// account, region or date.
const Unknown = "unknown"

// partitionValue returns v when it is safe as a single path element of a
// Hive partition, else Unknown. Log fields are attacker-controlled: they
// never become "..", a separator or anything outside [A-Za-z0-9._-].
func partitionValue(v string) string {
	if v == "" || len(v) > 64 || v == "." || v == ".." {
		return Unknown
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.' && i > 0:
		default:
			return Unknown
		}
	}
	return v
}

// partitionDir is the Hive partition path of p below a table, relative to
// the lake root.
func partitionDir(table string, p Partition) string {
	return path.Join(table,
		"account="+partitionValue(p.Account),
		"region="+partitionValue(p.Region),
		"date="+partitionValue(p.Date))
}

// lockLake takes the ingest lock of a local lake (see localFS.Lock).
func lockLake(root string) (release func(), err error) {
	return localFS{root: root}.lock("lock")
}

// LockLocal takes the exclusive lock called name (for example
// "detect.lock") of a local lake, so that two runs of the same command
// never write the lake at once.
func LockLocal(root, name string) (release func(), err error) {
	return localFS{root: root}.lock(name)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and renames it into place; with durable it fsyncs the file
// first and the directory after.
func writeFileAtomic(path string, data []byte, durable bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isHidden reports whether a path element is bookkeeping or temporary.
func isHidden(name string) bool {
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
}

// TuneRuntime sets the Go runtime for an ingest process whose rows are
// bounded by budget bytes (Config.MemoryBudget): the heap is held under a
// soft limit of four budgets plus 128 MiB, and below that limit the
// collector runs at a quarter of its default frequency. Buffered rows are
// pointer-rich and long-lived, so each collection rescans them; running
// fewer collections is a large part of ingest speed, and the limit keeps
// peak memory where the budget says.
func TuneRuntime(budget int64) {
	if budget <= 0 {
		budget = 64 << 20
	}
	debug.SetMemoryLimit(budget*4 + 128<<20)
	debug.SetGCPercent(400)
}
