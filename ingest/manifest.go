package ingest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
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
func commitNames(root string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(root, manifestDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".json") && !isHidden(de.Name()) {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func readCommit(root, name string) (*commitRecord, error) {
	b, err := os.ReadFile(filepath.Join(root, manifestDir, name))
	if err != nil {
		return nil, err
	}
	var c commitRecord
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("manifest record %s is corrupt: %w", name, err)
	}
	return &c, nil
}

// recover rolls every commit forward (renames staged files still waiting)
// and deletes what uncommitted runs left in staging.
func recoverLake(root string) error {
	names, err := commitNames(root)
	if err != nil {
		return fmt.Errorf("read manifest of %s: %w", root, err)
	}
	for _, n := range names {
		c, err := readCommit(root, n)
		if err != nil {
			return err
		}
		if err := applyCommit(root, c); err != nil {
			return fmt.Errorf("recover commit %s: %w", c.Commit, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(root, stagingDir)); err != nil {
		return fmt.Errorf("clean staging of %s: %w", root, err)
	}
	return nil
}

// applyCommit renames staged files into place; already-applied files are
// left alone, so it is idempotent.
func applyCommit(root string, c *commitRecord) error {
	for _, f := range c.Files {
		src := filepath.Join(root, f.Staged)
		dst := filepath.Join(root, f.Path)
		if _, err := os.Stat(src); os.IsNotExist(err) {
			continue // applied before
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(src, dst); err != nil {
			return err
		}
		crashHook("renamed-one", c.Seq)
	}
	// No directory fsync: after a power loss the commit record is still
	// there and recovery renames again whatever was lost.
	return nil
}

// LoadManifest reads the manifest of the lake at root (no recovery).
func LoadManifest(root string) (*Manifest, error) {
	m := &Manifest{byURI: map[string]Entry{}}
	names, err := commitNames(root)
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", root, err)
	}
	for _, n := range names {
		c, err := readCommit(root, n)
		if err != nil {
			return nil, err
		}
		for _, e := range c.Objects {
			m.byURI[e.URI] = e
		}
	}
	return m, nil
}
