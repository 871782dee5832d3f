package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecode(f *testing.F) {
	if _, err := os.Stat(corpusDir); err == nil {
		for _, sub := range []string{"", "malformed", "digest"} {
			ents, _ := os.ReadDir(filepath.Join(corpusDir, sub))
			for _, e := range ents {
				if e.IsDir() || filepath.Ext(e.Name()) == ".tsv" {
					continue
				}
				f.Add(readSample(f, filepath.Join(corpusDir, sub, e.Name())))
			}
		}
	}
	f.Add([]byte(ev("1", "A") + "\n" + ev("2", "B") + "\n"))
	f.Add([]byte(`{"Records":[` + ev("1", "A") + `,` + ev("2", "B") + `]}`))
	f.Add([]byte("[" + ev("1", "A") + ",{\"a\":\"\\u00e9\\ud83d\\ude00\"}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m mode
		modeHook = func(got mode) { m = got }
		res := decodeWith(context.Background(), objInfo(), bytes.NewReader(data))
		modeHook = nil
		if res.err != nil {
			if isNotEvents(res.err) && res.records() == 0 {
				return
			}
			t.Fatalf("Decode: %v", res.err)
		}
		last := int64(-1)
		for i, r := range res.rows {
			if r.SourceOffset <= last || r.SourceOffset >= int64(len(data)) || data[r.SourceOffset] != '{' {
				t.Fatalf("row %d: offset %d after %d (input %d bytes)", i, r.SourceOffset, last, len(data))
			}
			last = r.SourceOffset
			for _, s := range []string{r.UserIdentity, r.RequestParameters, r.ResponseElements, r.AdditionalEventData, r.Resources, r.ExtraFields} {
				if s != "" && !json.Valid([]byte(s)) {
					t.Fatalf("row %d: invalid JSON column %q", i, s)
				}
			}
		}
		last = -1
		for i, b := range res.bad {
			if b.Offset <= last || b.Offset > int64(len(data)) || b.Line < 1 || len(b.Snippet) > 512 || b.Reason == "" {
				t.Fatalf("bad %d: %+v after offset %d", i, b, last)
			}
			if !bytes.HasPrefix(data[b.Offset:], b.Snippet) {
				t.Fatalf("bad %d: snippet is not the input at its offset", i)
			}
			last = b.Offset
		}
		if m == modeLines {
			lines := 0
			for _, l := range bytes.Split(data, []byte{'\n'}) {
				if len(bytes.Trim(l, " \t\r\n")) > 0 {
					lines++
				}
			}
			if lines != res.records() {
				t.Fatalf("JSON Lines: %d non-blank lines, %d rows + %d quarantined", lines, len(res.rows), len(res.bad))
			}
		}
		// Reading byte by byte must not change anything.
		slow := decodeWith(context.Background(), objInfo(), &oneByteReader{b: data})
		if slow.err != nil || len(slow.rows) != len(res.rows) || len(slow.bad) != len(res.bad) {
			t.Fatalf("one-byte reads: err %v rows %d bad %d; want rows %d bad %d", slow.err, len(slow.rows), len(slow.bad), len(res.rows), len(res.bad))
		}
		for i := range res.rows {
			if slow.rows[i].Hash != res.rows[i].Hash || slow.rows[i].SourceOffset != res.rows[i].SourceOffset {
				t.Fatalf("one-byte reads: row %d differs", i)
			}
		}
		for i := range res.bad {
			if slow.bad[i].Reason != res.bad[i].Reason || slow.bad[i].Offset != res.bad[i].Offset || slow.bad[i].Line != res.bad[i].Line {
				t.Fatalf("one-byte reads: bad %d differs: %+v vs %+v", i, slow.bad[i], res.bad[i])
			}
		}
	})
}
