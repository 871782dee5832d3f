// Package columnar writes lake rows as Parquet files.
//
// It is the lake's own Parquet encoder, built for one job: turning a
// sorted buffer of flat row structs (the row types of the source packages,
// described by their `parquet:"..."` struct tags) into zstd-compressed
// Parquet as fast as the decoders produce them. Rows are walked in blocks
// small enough to stay in cache and appended column by column; every
// string column is dictionary-encoded while that pays (the dictionary
// stays small, and for columns not tagged dict, fewer than nine in ten
// of the first 1024 values and fewer than half of the first 16 Ki are
// distinct) and written plain after that,
// as DuckDB's and parquet-mr's writers do; every column chunk carries
// null counts and, unless the column is marked unindexed, min/max
// statistics; chosen columns get split-block bloom filters. Files
// follow the Parquet format specification (data page v1, RLE/bit-packed
// levels and dictionary indices, PLAIN values, Thrift compact metadata),
// so DuckDB, Athena and any other reader take them as written.
//
// A row struct may keep a group of rarely filled columns behind a pointer
// to a struct tagged `columnar:"inline"`: those columns are still
// top-level in the file, NULL when the pointer is nil, and the row stays
// small in memory.
//
// What it does not do: nested or repeated columns, page indexes, and any
// type the row structs do not use (see Schema for the list).
package columnar
