package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Object statuses recorded in the manifest.
const (
	StatusOK      = "ok"      // every record written, quarantined or dropped as a duplicate
	StatusPartial = "partial" // the object could not be read to its end; what was read is accounted
	StatusSkipped = "skipped" // recognised but holds no events (CloudTrail digest) or unrecognised
	StatusFailed  = "failed"  // could not be opened or decoded at all
)

// Entry is the manifest record of one ingested object.
type Entry struct {
	URI         string    `json:"uri"`
	Type        string    `json:"type,omitempty"`
	Table       string    `json:"table,omitempty"`
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"mtime,omitzero"`
	ETag        string    `json:"etag,omitempty"`
	VersionID   string    `json:"version_id,omitempty"`
	SHA256      string    `json:"sha256,omitempty"`
	BytesRead   int64     `json:"bytes_decompressed"`
	RecordsRead int64     `json:"records_read"`
	RowsWritten int64     `json:"rows_written"`
	Quarantined int64     `json:"quarantined"`
	Duplicates  int64     `json:"duplicates"`
	Resumed     int64     `json:"resumed,omitempty"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Run         string    `json:"run"`
	Commit      string    `json:"commit"`
}

// committedFile is one file published by a commit: staged at Staged
// (relative to the lake root), renamed to Path.
type committedFile struct {
	Path   string `json:"path"`
	Staged string `json:"staged"`
	Table  string `json:"table,omitempty"`
	Rows   int64  `json:"rows,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// commitRecord is written atomically into ManifestDir; its presence is the
// commit point. Recovery rolls its renames forward.
type commitRecord struct {
	Commit      string          `json:"commit"`
	Run         string          `json:"run"`
	Seq         int             `json:"seq"`
	Shard       string          `json:"shard,omitempty"`
	ToolVersion string          `json:"tool_version"`
	Files       []committedFile `json:"files"`
	Objects     []Entry         `json:"objects"`
}

// Manifest is the set of objects the lake already holds.
type Manifest struct {
	byURI map[string]Entry
}

// Lookup returns the latest entry for uri.
func (m *Manifest) Lookup(uri string) (Entry, bool) {
	e, ok := m.byURI[uri]
	return e, ok
}

// Len is the number of objects known.
func (m *Manifest) Len() int { return len(m.byURI) }

// Entries returns every entry, sorted by URI.
func (m *Manifest) Entries() []Entry {
	out := make([]Entry, 0, len(m.byURI))
	for _, e := range m.byURI {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}

// commitNames lists commit record files in commit order.
func commitNames(ctx context.Context, fsys lakeFS) ([]string, error) {
	all, err := fsys.List(ctx, manifestDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if strings.HasSuffix(n, ".json") && !isHidden(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

func readCommit(ctx context.Context, fsys lakeFS, name string) (*commitRecord, error) {
	b, err := fsys.ReadFile(ctx, path.Join(manifestDir, name))
	if err != nil {
		return nil, err
	}
	var c commitRecord
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("manifest record %s is corrupt: %w", name, err)
	}
	return &c, nil
}

// readCommits reads every commit record, in commit order, a few at a time
// (on S3 each is one GET).
func readCommits(ctx context.Context, fsys lakeFS) ([]*commitRecord, error) {
	names, err := commitNames(ctx, fsys)
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", fsys.Root(), err)
	}
	out := make([]*commitRecord, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i, n := range names {
		g.Go(func() error {
			c, err := readCommit(gctx, fsys, n)
			out[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// recoverLake rolls every commit forward (publishes staged files still
// waiting) and deletes what uncommitted runs left in staging below scope.
// It lists staging once and touches only the commits with files there.
func recoverLake(ctx context.Context, fsys lakeFS, commits []*commitRecord, scope string) error {
	staged, err := fsys.ListAll(ctx, stagingDir)
	if err != nil {
		return fmt.Errorf("list staging of %s: %w", fsys.Root(), err)
	}
	if len(staged) == 0 {
		return nil
	}
	waiting := map[string]bool{}
	for _, f := range staged {
		waiting[f] = true
	}
	for _, c := range commits {
		if err := applyCommit(ctx, fsys, c, waiting); err != nil {
			return fmt.Errorf("recover commit %s: %w", c.Commit, err)
		}
	}
	if err := fsys.RemoveAll(ctx, scope); err != nil {
		return fmt.Errorf("clean staging of %s: %w", fsys.Root(), err)
	}
	return nil
}

// applyCommit publishes the staged files of a commit; with waiting, only
// those still in staging. Already-published files are left alone, so it
// is idempotent.
func applyCommit(ctx context.Context, fsys lakeFS, c *commitRecord, waiting map[string]bool) error {
	for _, f := range c.Files {
		staged, final := filepath.ToSlash(f.Staged), filepath.ToSlash(f.Path)
		if waiting != nil && !waiting[staged] {
			continue
		}
		if err := fsys.Publish(ctx, staged, final); err != nil {
			return err
		}
		crashHook("renamed-one", c.Seq)
	}
	// No directory fsync: after a power loss the commit record is still
	// there and recovery publishes again whatever was lost.
	return nil
}

// LoadManifest reads the manifest of the local lake at root (no
// recovery).
func LoadManifest(root string) (*Manifest, error) {
	// A local lake's reads take no context.
	return loadManifest(context.TODO(), localFS{root: root})
}

func loadManifest(ctx context.Context, fsys lakeFS) (*Manifest, error) {
	commits, err := readCommits(ctx, fsys)
	if err != nil {
		return nil, err
	}
	return manifestOf(commits), nil
}

func manifestOf(commits []*commitRecord) *Manifest {
	m := &Manifest{byURI: map[string]Entry{}}
	for _, c := range commits {
		for _, e := range c.Objects {
			m.byURI[e.URI] = e
		}
	}
	return m
}
