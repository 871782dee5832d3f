package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// lineRow is the row of a minimal test source: lines of
// "RFC3339|account|region|id|text". It exercises the pipeline without
// depending on a real decoder.
type lineRow struct {
	EventTime    int64  `parquet:"event_time,timestamp(microsecond:local)"`
	ID           string `parquet:"id"`
	Text         string `parquet:"text,optional"`
	SourceURI    string `parquet:"source_uri"`
	SourceOffset int64  `parquet:"source_offset"`

	hash     Hash
	acc, reg string
}

func (r *lineRow) LakePartition() Partition {
	return Partition{Account: r.acc, Region: r.reg, Date: time.UnixMicro(r.EventTime).UTC().Format(time.DateOnly)}
}
func (r *lineRow) SortTime() int64         { return r.EventTime }
func (r *lineRow) Fingerprint() Hash       { return r.hash }
func (r *lineRow) Origin() (string, int64) { return r.SourceURI, r.SourceOffset }
func (r *lineRow) SetSourceURI(uri string) { r.SourceURI = uri }

func lineSpec() Spec[lineRow] {
	return Spec[lineRow]{
		Name:  "lines",
		Table: "lines",
		Sniff: func(key string, head []byte) int {
			if strings.HasSuffix(key, ".lines") || strings.HasSuffix(key, ".lines.gz") {
				return 100
			}
			return 0
		},
		Decode: decodeLines,
		Bloom:  []string{"id"},
	}
}

func decodeLines(ctx context.Context, obj ObjectInfo, r io.Reader, sink Sink[lineRow]) error {
	br := bufio.NewReader(r)
	var off, line int64
	var batch []lineRow
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := sink.Rows(batch)
		batch = nil
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			start := off
			off += int64(len(b))
			text := bytes.TrimRight(b, "\r\n")
			if len(text) > 0 {
				parts := strings.SplitN(string(text), "|", 5)
				var t time.Time
				var perr error
				if len(parts) != 5 {
					perr = fmt.Errorf("want 5 fields, got %d", len(parts))
				} else if t, perr = time.Parse(time.RFC3339, parts[0]); perr != nil {
					perr = fmt.Errorf("bad time: %v", perr)
				}
				if perr != nil {
					if err := sink.Bad(BadRecord{Line: line, Offset: start, Reason: perr.Error(), Snippet: Snip(text)}); err != nil {
						return err
					}
				} else {
					batch = append(batch, lineRow{EventTime: t.UnixMicro(), ID: parts[3], Text: parts[4], SourceOffset: start,
						hash: HashBytes(text), acc: parts[1], reg: parts[2]})
					if len(batch) == 64 {
						if err := flush(); err != nil {
							return err
						}
					}
				}
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
	}
}
