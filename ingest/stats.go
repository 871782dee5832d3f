package ingest

import "time"

// Counts are the accounting of a set of objects.
type Counts struct {
	Objects        int64 `json:"objects"`
	ObjectsSkipped int64 `json:"objects_skipped"`
	ObjectsFailed  int64 `json:"objects_failed"`
	RecordsRead    int64 `json:"records_read"`
	RowsWritten    int64 `json:"rows_written"`
	Quarantined    int64 `json:"quarantined"`
	Duplicates     int64 `json:"duplicates"`
	Resumed        int64 `json:"resumed"`
	BytesRead      int64 `json:"bytes_read"`
	BytesDecoded   int64 `json:"bytes_decompressed"`
	// Seconds, per table, is the time workers spent reading and decoding
	// the table's objects, summed over workers; the run's wall time is
	// Stats.Seconds.
	Seconds float64 `json:"seconds"`
}

func (c *Counts) add(o Counts) {
	c.Objects += o.Objects
	c.ObjectsSkipped += o.ObjectsSkipped
	c.ObjectsFailed += o.ObjectsFailed
	c.RecordsRead += o.RecordsRead
	c.RowsWritten += o.RowsWritten
	c.Quarantined += o.Quarantined
	c.Duplicates += o.Duplicates
	c.Resumed += o.Resumed
	c.BytesRead += o.BytesRead
	c.BytesDecoded += o.BytesDecoded
	c.Seconds += o.Seconds
}

// Stats is the accounting of one ingest run (written by --stats).
type Stats struct {
	Run     string  `json:"run"`
	Lake    string  `json:"lake"`
	Seconds float64 `json:"seconds"`
	// Shard is "K-of-N" for a sharded run.
	Shard string `json:"shard,omitempty"`
	// ObjectsListed counts the objects listed before the selection
	// (--from/--to, filters, --shard) and the manifest were applied.
	ObjectsListed int64 `json:"objects_listed"`
	Counts
	// SkippedUnchanged counts objects already in the manifest, unchanged.
	SkippedUnchanged int64 `json:"skipped_unchanged"`
	// SkippedNotEvents counts recognised objects without events (digests).
	SkippedNotEvents int64 `json:"skipped_not_events"`
	// SkippedUnknown counts objects no source recognised.
	SkippedUnknown int64 `json:"skipped_unrecognised"`
	Commits        int   `json:"commits"`
	FilesWritten   int   `json:"files_written"`
	// Spills counts the times buffered rows were spilled: sorted and
	// appended as row groups to the files in progress that the next
	// commit publishes.
	Spills   int               `json:"spills"`
	Tables   map[string]Counts `json:"tables"`
	Failures []Failure         `json:"failures,omitempty"`
}

// Failure is an object that could not be read in full.
type Failure struct {
	URI    string `json:"uri"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// RecordsPerSecond and MBPerSecond summarise throughput.
func (s *Stats) RecordsPerSecond() float64 { return rate(float64(s.RecordsRead), s.Seconds) }

// MBPerSecond is decompressed megabytes per second.
func (s *Stats) MBPerSecond() float64 { return rate(float64(s.BytesDecoded)/1e6, s.Seconds) }

func rate(n, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return n / secs
}

// Progress is a snapshot of a running ingest for progress displays.
type Progress struct {
	ObjectsTotal int64
	ObjectsDone  int64
	BytesTotal   int64
	BytesDone    int64
	Records      int64
	Elapsed      time.Duration
}
