package query

import (
	"io"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
)

// LakeTables are the log tables every lake has: one per ingest source.
func LakeTables() []Table {
	var out []Table
	for _, s := range sources.All() {
		out = append(out, Table{
			Name:       s.Table(),
			Partitions: LakePartitions,
			Empty:      func(w io.Writer) error { return ingest.WriteEmpty(s, w) },
		})
	}
	return out
}
