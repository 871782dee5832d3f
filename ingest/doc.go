// Package ingest streams AWS log objects into the leakscope Parquet lake.
//
// It holds the plumbing shared by every log source: listing objects
// (local files and directories, s3:// prefixes narrowed to the days asked
// for, shards of either), detecting their type,
// decoding them concurrently with bounded memory, writing Hive-partitioned
// (to a local folder or an S3 prefix),
// zstd-compressed Parquet files sorted by time, the manifest that makes runs
// idempotent and resumable, and the quarantine of records that cannot be
// decoded. Each log source is a package below this one (ingest/cloudtrail,
// ingest/s3access, ingest/vpcflow) that provides a streaming decoder and a
// row type; ingest/sources lists them. The Parquet encoding itself is
// ingest/columnar.
//
// Decompression sniffs gzip (multi-member), zstd and plain objects; gzip
// is inflated by klauspost/compress, or by Intel's ISA-L in a build with
// the isal tag (GunzipEngine names the one built in). Decoders hand the
// lake writer batches of rows together with what it needs of each row
// (fingerprint, origin, sort key, partition), taken while the rows are
// still in the decoding core's cache; one goroutine owns the duplicate
// index and the buffers, and commits write their files in the background.
// When the buffered rows reach their budget before a commit is due, the
// biggest partitions are spilled: sorted and encoded as row groups onto
// Parquet files in progress (piles that each stay sorted by time), which
// the next commit finishes and publishes, so a partition gets a file or
// a few per commit rather than one per budget's worth of rows.
// The duplicate index holds at most Config.DedupEntries fingerprints in
// memory: what a busy partition holds beyond that spills to sorted runs
// in a temporary folder (TMPDIR), behind a Bloom filter, so memory stays
// bounded whatever the size of a partition.
//
// Guarantees: for every object, records read = rows written + records
// quarantined + duplicates dropped, and the manifest records those counts.
// A run killed at any moment and re-run yields exactly the rows of one
// uninterrupted run: data files, dedup index and manifest entries are
// published together by a single atomic commit record.
package ingest
