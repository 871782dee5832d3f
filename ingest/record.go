package ingest

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"
)

// Partition locates a row in the lake: LAKE/<table>/account=/region=/date=.
// Values are sanitised by the writer before they become path elements.
type Partition struct {
	Account string
	Region  string
	Date    string // YYYY-MM-DD
}

// Hash is a 128-bit content fingerprint of one raw record. Two records
// with the same Hash in the same partition are the same record delivered
// twice (an organisation trail beside an account trail, a re-delivered
// object); only the first is kept.
type Hash struct{ Hi, Lo uint64 }

// HashBytes fingerprints raw record bytes.
func HashBytes(b []byte) Hash {
	h := xxh3.Hash128(b)
	return Hash{Hi: h.Hi, Lo: h.Lo}
}

// Row is what every source's row type implements so the lake writer can
// place, order and de-duplicate it without knowing its columns.
type Row interface {
	// LakePartition returns the partition the row belongs to. Empty
	// values become "unknown".
	LakePartition() Partition
	// SortTime is the row's time in Unix microseconds (files are sorted
	// by it, then by source offset).
	SortTime() int64
	// Fingerprint is the content hash of the raw record.
	Fingerprint() Hash
	// Origin returns the row's provenance: source object URI and the byte
	// offset of the record in the decompressed object.
	Origin() (uri string, offset int64)
	// SetSourceURI stamps the object URI on the row.
	SetSourceURI(uri string)
}

// BadRecord is a record that could not be decoded. It is quarantined with
// its position, the reason and a bounded snippet of the raw bytes.
type BadRecord struct {
	Line    int64  // 1-based line of the record start in the decompressed object
	Offset  int64  // byte offset of the record start in the decompressed object
	Reason  string // one lower-case sentence: what is wrong
	Snippet []byte // at most MaxSnippet bytes of the raw record
}

// MaxSnippet bounds the raw bytes kept with a quarantined record.
const MaxSnippet = 512

// Snip returns at most MaxSnippet bytes of b, copied.
func Snip(b []byte) []byte {
	if len(b) > MaxSnippet {
		b = b[:MaxSnippet]
	}
	return append([]byte(nil), b...)
}

// Sink receives what a decoder makes of one object. Every record the
// decoder reads goes to exactly one of Rows or Bad, so that records read =
// rows emitted + records quarantined.
type Sink[R any] struct {
	// Rows takes ownership of the slice.
	Rows func([]R) error
	// Bad quarantines one record.
	Bad func(BadRecord) error
}

// ObjectInfo is what a decoder may know about the object it decodes.
type ObjectInfo struct {
	URI     string
	Key     string    // path or key, used for layout hints
	Size    int64     // bytes as stored (possibly compressed)
	ModTime time.Time // or S3 LastModified
	// Account and Region come from the object's key layout when it
	// follows an AWS layout, else from --account/--region, else empty.
	Account string
	Region  string
	// Options carries source-specific settings (for example the VPC flow
	// log format string); nil when none were given.
	Options map[string]string
}

// Spec describes one log source: how to recognise its objects and how to
// decode one. R is the source's row type.
type Spec[R any] struct {
	Name  string // the --type value, e.g. "cloudtrail"
	Table string // the lake table, e.g. "cloudtrail"
	// Sniff reports how sure it is (0 = not this type, 100 = certain)
	// that an object with this key and first bytes (decompressed) is of
	// this type.
	Sniff func(key string, head []byte) int
	// Decode streams one decompressed object into sink. It returns
	// ErrNotEvents (wrapped) for objects of this type that hold no events
	// (CloudTrail digest files), a ParseError when the object as a whole
	// cannot be read, and ctx.Err() when cancelled.
	Decode func(ctx context.Context, obj ObjectInfo, r io.Reader, sink Sink[R]) error
	// Bloom lists the columns that get Parquet bloom filters (equality
	// lookups on principals, keys, addresses).
	Bloom []string
	// RawParquet, when it reports true for a key, lets Decode receive the
	// raw (not decompressed) object, which is then an io.ReaderAt too
	// (for Parquet-delivered logs); ObjectInfo.Size is its size.
	RawParquet func(key string) bool
	// Unindexed lists columns nobody filters by range (long JSON text):
	// they get no page min/max statistics, which are costly to compute.
	Unindexed []string
	// Layout, when set, reads the account and region from an object key
	// that follows one of the source's AWS delivery layouts.
	Layout func(key string) (account, region string, ok bool)
}

// dayCache remembers the last day DateOf formatted: rows arrive in
// batches of the same day, so formatting is nearly always skipped.
type dayCache struct {
	day  int64
	text string
}

var lastDay atomic.Pointer[dayCache]

const microsPerDay = 24 * 60 * 60 * 1_000_000

// DateOf is the UTC date (YYYY-MM-DD) of a time in Unix microseconds, the
// date partition of a row. It allocates only when the day changes.
func DateOf(micros int64) string {
	day := micros / microsPerDay
	if micros < 0 && micros%microsPerDay != 0 {
		day--
	}
	if c := lastDay.Load(); c != nil && c.day == day {
		return c.text
	}
	text := time.UnixMicro(micros).UTC().Format(time.DateOnly)
	lastDay.Store(&dayCache{day: day, text: text})
	return text
}
