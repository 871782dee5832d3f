// Package sources lists the log sources leakscope ingests, in the order
// they are tried when an object's type is detected, and holds the
// end-to-end ingest benchmarks that compare leakscope with DuckDB's own
// readers on the same files.
package sources
