package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// lakeFS is where a lake lives: a local folder or an S3 prefix. Paths are
// relative to the lake root and use forward slashes.
//
// The commit protocol needs only these operations: files are created in
// staging (invisible to readers of the lake), a commit record is written
// atomically, and staged files are then published to their final paths.
// Publishing is a rename on a local disk and a server-side copy followed
// by a delete on S3; it is idempotent, so recovery can roll any commit
// forward again.
type lakeFS interface {
	// Root is the lake as the user named it.
	Root() string
	// Create starts writing a new file at rel. Nothing is visible at rel
	// until Commit of the returned writer succeeds.
	Create(ctx context.Context, rel string) (lakeWriter, error)
	// WriteFile writes data to rel atomically and durably.
	WriteFile(ctx context.Context, rel string, data []byte) error
	// ReadFile reads the whole file at rel.
	ReadFile(ctx context.Context, rel string) ([]byte, error)
	// Open streams the file at rel.
	Open(ctx context.Context, rel string) (io.ReadCloser, error)
	// List returns the names of the files directly below dir, sorted; no
	// error when dir does not exist.
	List(ctx context.Context, dir string) ([]string, error)
	// ListAll returns the paths (relative to the lake root) of every file
	// below dir; no error when dir does not exist.
	ListAll(ctx context.Context, dir string) ([]string, error)
	// Exists reports whether the file rel exists.
	Exists(ctx context.Context, rel string) (bool, error)
	// Publish moves the staged file src to dst. When src is gone and dst
	// exists it was published before and Publish does nothing.
	Publish(ctx context.Context, src, dst string) error
	// RemoveAll deletes dir and everything below it.
	RemoveAll(ctx context.Context, dir string) error
	// Lock takes the ingest lock called name (a file below StateDir) for
	// run, or fails when another ingest holds it.
	Lock(ctx context.Context, name, run string) (release func(), err error)
}

// lakeWriter is a file being written into a lake.
type lakeWriter interface {
	io.Writer
	// Commit makes the file durable and visible and returns its size.
	Commit() (int64, error)
	// Abort discards the file.
	Abort()
}

// openLake returns the file system of the lake named by root: an S3
// prefix for s3://bucket/prefix, else a local folder.
func openLake(ctx context.Context, root string, clients *s3Clients, log *slog.Logger) (lakeFS, error) {
	if IsS3(root) {
		return openS3Lake(ctx, root, clients, log)
	}
	return localFS{root: root}, nil
}

// IsS3 reports whether uri names an S3 location (s3://bucket/prefix).
func IsS3(uri string) bool { return strings.HasPrefix(uri, "s3://") }

// ErrS3Lake is returned by commands that read only local lakes when given
// an s3:// lake.
var ErrS3Lake = errors.New("this command reads local lakes only: query a lake on S3 with Athena (leakscope athena-ddl prints the tables) or copy it to disk first (aws s3 sync s3://bucket/prefix ./lake)")

// CheckLocalLake returns a clear error when root is an S3 lake, for
// commands that read the lake with the embedded DuckDB (which cannot read
// S3 offline: its httpfs extension is not bundled).
func CheckLocalLake(root string) error {
	if IsS3(root) {
		return fmt.Errorf("lake %s: %w", root, ErrS3Lake)
	}
	return nil
}

// localFS is a lake in a local folder.
type localFS struct{ root string }

func (l localFS) Root() string { return l.root }

func (l localFS) abs(rel string) string { return filepath.Join(l.root, filepath.FromSlash(rel)) }

func (l localFS) Create(_ context.Context, rel string) (lakeWriter, error) {
	full := l.abs(rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(full)
	if err != nil {
		return nil, err
	}
	return &localWriter{f: f}, nil
}

type localWriter struct {
	f *os.File
	n int64
}

func (w *localWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// Commit fsyncs the file. No directory fsync is needed: the file lives in
// staging and recovery publishes it again after a power loss.
func (w *localWriter) Commit() (int64, error) {
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return 0, err
	}
	return w.n, w.f.Close()
}

func (w *localWriter) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

func (l localFS) WriteFile(_ context.Context, rel string, data []byte) error {
	return writeFileAtomic(l.abs(rel), data, true)
}

func (l localFS) ReadFile(_ context.Context, rel string) ([]byte, error) {
	return os.ReadFile(l.abs(rel))
}

func (l localFS) Open(_ context.Context, rel string) (io.ReadCloser, error) {
	return os.Open(l.abs(rel))
}

func (l localFS) List(_ context.Context, dir string) ([]string, error) {
	des, err := os.ReadDir(l.abs(dir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if !de.IsDir() {
			names = append(names, de.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (l localFS) ListAll(_ context.Context, dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(l.abs(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(l.root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

func (l localFS) Exists(_ context.Context, rel string) (bool, error) {
	_, err := os.Stat(l.abs(rel))
	if os.IsNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

func (l localFS) Publish(_ context.Context, src, dst string) error {
	s, d := l.abs(src), l.abs(dst)
	if _, err := os.Stat(s); os.IsNotExist(err) {
		return nil // published before
	}
	if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
		return err
	}
	err := os.Rename(s, d)
	if os.IsNotExist(err) {
		// Another process (a concurrent shard recovering) published it
		// between the Stat and the Rename.
		if _, serr := os.Stat(d); serr == nil {
			return nil
		}
	}
	return err
}

func (l localFS) RemoveAll(_ context.Context, dir string) error {
	return os.RemoveAll(l.abs(dir))
}

// Lock takes an exclusive advisory lock (flock) on a file of the lake, so
// that two ingests never write it at once; the kernel releases it when the
// process dies.
func (l localFS) Lock(_ context.Context, name, _ string) (func(), error) { return l.lock(name) }

// lockOwner names the command that holds a lock file, for messages:
// "detect.lock" is detect's, every other lock (lock, lock-shard-K-of-N)
// an ingest's.
func lockOwner(name string) string {
	if cmd, ok := strings.CutSuffix(name, ".lock"); ok {
		return cmd
	}
	return "ingest"
}

func (l localFS) lock(name string) (func(), error) {
	root := l.root
	if err := os.MkdirAll(filepath.Join(root, StateDir), 0o755); err != nil {
		return nil, fmt.Errorf("create lake %s: %w", root, err)
	}
	f, err := os.OpenFile(l.abs(path.Join(StateDir, name)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock lake %s: %w", root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lake %s is in use by another leakscope %s; wait for it to finish", root, lockOwner(name))
		}
		return nil, fmt.Errorf("lock lake %s: %w", root, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
