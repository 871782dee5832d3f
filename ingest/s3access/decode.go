package s3access

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/leakscope/leakscope/ingest"
)

// MaxLine caps the length of one log line. A longer line is quarantined
// (with a snippet of its start) and skipped up to the next newline without
// being buffered.
const MaxLine = 1 << 20

// batchSize is the number of rows handed to the sink at a time. The first
// batches of an object are smaller so that small objects stay cheap.
const (
	batchSize      = 1024
	firstBatchSize = 32
)

// readBuffer is the size of the bufio buffer; lines up to this length are
// decoded without an intermediate copy.
const readBuffer = 64 << 10

// Lines are copied into arena chunks of these sizes (see
// lineDecoder.lineString): small for the first batch of an object, so
// that small objects stay cheap. A line longer than a quarter of a chunk
// gets a string of its own.
const (
	firstArenaChunk = 4 << 10
	arenaChunk      = 32 << 10
)

// Spec describes the S3 server access log source.
func Spec() ingest.Spec[Row] {
	return ingest.Spec[Row]{
		Name:   "s3access",
		Table:  "s3_access",
		Sniff:  Sniff,
		Decode: Decode,
		Bloom: []string{
			"requester", "requester_arn", "remote_ip", "request_id",
			"bucket", "key", "version_id",
		},
		// Opaque or free text: nobody filters these by range.
		Unindexed: []string{"request_uri", "host_id", "raw_key", "extra_fields"},
	}
}

// Decode streams one decompressed access log object into sink, line by
// line. Every non-blank line becomes one row or one quarantined record;
// blank lines are skipped. Row partitions take the account and region of
// obj (or of its key layout); when the region is unknown it comes from a
// regional S3 endpoint in the row's Host header, then from the row's
// source_region, else it stays empty. Decode returns ctx.Err() when
// cancelled, the sink's errors as they are, and a *ingest.ParseError when
// reading the object fails.
func Decode(ctx context.Context, obj ingest.ObjectInfo, r io.Reader, sink ingest.Sink[Row]) error {
	return decode(ctx, obj, r, sink, MaxLine)
}

func decode(ctx context.Context, obj ingest.ObjectInfo, r io.Reader, sink ingest.Sink[Row], maxLine int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := lineDecoder{obj: obj, sink: sink}
	d.acc, d.reg = obj.Account, obj.Region
	if d.acc == "" && d.reg == "" {
		if acc, reg, _, ok := KeyLayout(obj.Key); ok {
			d.acc, d.reg = acc, reg
		}
	}
	d.newBatch()

	br := bufio.NewReaderSize(r, min(readBuffer, max(maxLine+2, 1024)))
	var (
		long     []byte // a line longer than the bufio buffer, up to maxLine+1
		size     int64  // bytes of the current line read so far
		skipping bool   // the current line is over maxLine: drop the rest
		snippet  []byte // start of a skipped line
	)
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			size += int64(len(frag))
			if skipping {
				continue
			}
			if len(long)+len(frag) > maxLine+1 { // +1: a trailing \r
				skipping = true
				head := long
				if len(head) < ingest.MaxSnippet {
					head = append(head, frag[:min(len(frag), ingest.MaxSnippet-len(head))]...)
				}
				snippet = ingest.Snip(head)
				long = long[:0]
				continue
			}
			long = append(long, frag...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if ferr := d.flush(); ferr != nil {
				return ferr
			}
			return &ingest.ParseError{Object: obj.URI, Line: d.line + 1, Err: fmt.Errorf("read: %w", err)}
		}
		size += int64(len(frag))
		if size > 0 {
			var ferr error
			switch {
			case skipping:
				d.line++
				ferr = d.bad(fmt.Sprintf("line longer than %d bytes", maxLine), snippet)
			case len(long) > 0:
				long = append(long, frag...)
				ferr = d.decodeLine(long, maxLine)
			default:
				ferr = d.decodeLine(frag, maxLine) // no copy: frag is in br's buffer
			}
			if ferr != nil {
				return ferr
			}
			d.off += size
		}
		if err != nil { // io.EOF
			return d.flush()
		}
		size, skipping, long, snippet = 0, false, long[:0], nil
		if d.line&1023 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
		}
	}
}

// lineDecoder is the per-object state of Decode.
type lineDecoder struct {
	obj      ingest.ObjectInfo
	sink     ingest.Sink[Row]
	acc, reg string // partition from the object
	p        parser
	line     int64 // 1-based number of the current line
	off      int64 // byte offset of the current line
	batch    []Row
	nums     []nums // backing store of the batch's nullable numbers
	// arena holds the text of the batch's lines; the rows' strings are
	// substrings of its String. A strings.Builder only ever appends (and
	// does not zero what it allocates), so those strings stay immutable.
	// Each batch starts a fresh chunk: a batch's rows share chunks with no
	// other batch.
	arena strings.Builder
}

func (d *lineDecoder) newBatch() {
	n := firstBatchSize
	if d.batch != nil {
		n = min(2*cap(d.batch), batchSize)
	}
	d.batch = make([]Row, 0, n)
	d.nums = make([]nums, n)
	d.arena = strings.Builder{}
}

// lineString returns a string holding a copy of line, the line whose
// columns a row will hold. Copying lines into a shared chunk costs one
// allocation per chunk instead of one per line.
func (d *lineDecoder) lineString(line []byte) string {
	if len(line) > d.arena.Cap()-d.arena.Len() {
		size := arenaChunk
		if cap(d.batch) <= firstBatchSize {
			size = firstArenaChunk
		}
		if len(line) > size/4 {
			return string(line)
		}
		d.arena = strings.Builder{}
		d.arena.Grow(size)
	}
	start := d.arena.Len()
	d.arena.Write(line)
	return d.arena.String()[start:]
}

func (d *lineDecoder) flush() error {
	if len(d.batch) == 0 {
		return nil
	}
	b := d.batch
	d.newBatch()
	return d.sink.Rows(b)
}

func (d *lineDecoder) bad(reason string, snippet []byte) error {
	return d.sink.Bad(ingest.BadRecord{Line: d.line, Offset: d.off, Reason: reason, Snippet: snippet})
}

// decodeLine decodes one raw line, with its line ending if any.
func (d *lineDecoder) decodeLine(raw []byte, maxLine int) error {
	d.line++
	n := len(raw)
	if n > 0 && raw[n-1] == '\n' {
		n--
	}
	if n > 0 && raw[n-1] == '\r' {
		n--
	}
	raw = raw[:n]
	if isBlank(raw) {
		return nil
	}
	if len(raw) > maxLine {
		return d.bad(fmt.Sprintf("line longer than %d bytes", maxLine), ingest.Snip(raw))
	}
	if !utf8.Valid(raw) {
		return d.bad("invalid utf-8", ingest.Snip(raw))
	}
	// The batch's free rows are zero (newBatch makes them, a dropped row
	// is zeroed), so the row is taken without writing a zero Row, which
	// would cost GC write barriers.
	d.batch = d.batch[:len(d.batch)+1]
	r := &d.batch[len(d.batch)-1]
	s := d.lineString(raw) // columns are substrings of s
	if reason := d.p.decodeLine(s, r, &d.nums[len(d.batch)-1]); reason != "" {
		*r = Row{}
		d.batch = d.batch[:len(d.batch)-1]
		d.nums[len(d.batch)] = nums{}
		return d.bad(reason, ingest.Snip(raw))
	}
	r.Hash = ingest.HashBytes(raw)
	r.SourceURI = d.obj.URI
	r.SourceOffset = d.off
	r.SourceLine = d.line
	r.PartAcc, r.PartReg = d.acc, d.reg
	if r.PartReg == "" {
		r.PartReg = d.rowRegion(r)
	}
	if len(d.batch) == cap(d.batch) {
		return d.flush()
	}
	return nil
}

// rowRegion is the partition region of a row whose object gave none: the
// region of a regional S3 endpoint in its Host header, else its
// source_region, else "" (unknown).
func (d *lineDecoder) rowRegion(r *Row) string {
	if r.HostHeader != "" {
		if reg := d.p.hostRegion(r.HostHeader); reg != "" {
			return reg
		}
	}
	if isRegion(r.SourceRegion) {
		return r.SourceRegion
	}
	return ""
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}
