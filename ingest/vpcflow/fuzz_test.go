package vpcflow

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// FuzzDecode asserts that no input panics, that every line is a blank, a
// header, a row or a quarantined record, and that positions increase.
func FuzzDecode(f *testing.F) {
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".parquet") {
			continue
		}
		f.Add(corpusFile(f, e.Name()), "")
	}
	f.Add(corpusFile(f, "elastic_beats_vpcflow_custom-transit-gateway_no-header.log"), tgwFormat)
	f.Add([]byte("version start\n1 2\r\n\n{\"message\":\"2 3\"}\n2024-01-01T00:00:00Z 1 5\n"), "${version} ${start}")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		var opts map[string]string
		if format != "" {
			opts = map[string]string{OptionFormat: format}
		}
		res := run(t, ingest.ObjectInfo{URI: "fuzz", Options: opts}, bytes.NewReader(data))
		if res.err != nil {
			if _, ok := res.err.(*ingest.ParseError); ok && res.d == nil {
				return // invalid format option
			}
			t.Fatal(res.err)
		}
		checkAccounting(t, data, res)
		for _, r := range res.rows {
			if r.StartTime == nil && r.EndTime == nil {
				t.Fatal("row without time")
			}
		}
	})
}
