package cloudtrail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/leakscope/leakscope/ingest"
)

// MaxRecordBytes caps the bytes of one record held in memory. A longer
// record is skipped by streaming past it and quarantined.
const MaxRecordBytes = 8 << 20

const (
	batchSize = 512       // rows per sink.Rows call
	minBuf    = 256 << 10 // initial read buffer
	minRead   = 64 << 10  // smallest free space a read gets
	maxBuf    = MaxRecordBytes + 2*minRead
)

// errStop ends decoding after the rest of the object was quarantined.
var errStop = errors.New("stop")

type mode uint8

const (
	modeNone   mode = iota // nothing seen yet
	modeConcat             // objects (pretty or not) one after another
	modeLines              // JSON Lines: one record per line
)

// decoder holds the state of one Decode call. It reads through a sliding
// buffer: buf[mark:n] is kept across refills, everything before mark may
// be discarded.
type decoder struct {
	ctx  context.Context
	obj  ingest.ObjectInfo
	r    io.Reader
	sink ingest.Sink[Row]

	buf       []byte
	n         int   // buf[:n] holds data
	pos       int   // next byte to look at
	mark      int   // buf[mark:] must survive a refill
	base      int64 // stream offset of buf[0]
	eof       bool
	truncated bool // the reader reported io.ErrUnexpectedEOF
	zeroReads int

	line   int64 // 1-based line number at buf[lineAt]
	lineAt int
	lastNL int64 // stream offset of the last newline before buf[lineAt], or -1

	p       parser
	batch   []Row
	arena   arena
	strings strArena
	mode    mode
	nrec    int // records read so far (rows + quarantined)

	lastIdentity  identityCols // see identityCached
	usedPartition bool         // partition was called (see identityCached)
}

var pool = sync.Pool{New: func() any { return &decoder{buf: make([]byte, minBuf)} }}

// Decode streams one decompressed CloudTrail object into sink. See the
// package documentation for the accepted containers and the quarantine
// rules.
func Decode(ctx context.Context, obj ingest.ObjectInfo, r io.Reader, sink ingest.Sink[Row]) error {
	d := pool.Get().(*decoder)
	defer func() {
		// The arenas stay: the next object appends to their chunks
		// (never over the bytes handed out), so an object of a few
		// hundred kilobytes does not start a fresh megabyte chunk.
		d.ctx, d.r, d.sink, d.obj, d.batch = nil, nil, ingest.Sink[Row]{}, ingest.ObjectInfo{}, nil
		d.lastIdentity = identityCols{}
		d.p.in, d.p.out = nil, d.p.out[:0]
		if len(d.buf) > 1<<20 {
			d.buf = make([]byte, minBuf)
		}
		if cap(d.p.out) > 1<<20 {
			d.p.out = nil
		}
		pool.Put(d)
	}()
	*d = decoder{ctx: ctx, obj: obj, r: r, sink: sink, buf: d.buf, p: parser{out: d.p.out, extras: d.p.extras[:0], res: d.p.res[:0], keys: d.p.keys, lastUI: d.p.lastUI},
		// d.strings keeps its address, as a strings.Builder must.
		arena: d.arena, strings: d.strings, line: 1, lastNL: -1}
	err := d.run()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if modeHook != nil {
		modeHook(d.mode)
	}
	return err
}

// modeHook, when set by tests, learns the container mode Decode chose.
var modeHook func(mode)

func (d *decoder) run() error {
	if strings.Contains(d.obj.Key, "CloudTrail-Digest") {
		return fmt.Errorf("%s is a CloudTrail digest file: %w", d.obj.URI, ingest.ErrNotEvents)
	}
	if err := d.fill(3); err != nil {
		return err
	}
	if bytes.HasPrefix(d.buf[:d.n], []byte("\xEF\xBB\xBF")) {
		d.pos = 3
	}
	for {
		c, ok, err := d.nextNonWS()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case d.mode == modeLines:
			err = d.lines()
		case c == '{':
			err = d.topObject()
		case c == '[':
			err = d.array(false)
		default:
			line, col := d.lineCol(d.pos)
			err = d.rest(line, d.pos, fmt.Sprintf("invalid character %s looking for beginning of value at line %d column %d", quoteChar(c), line, col))
		}
		if err == errStop {
			break
		}
		if err != nil {
			return err
		}
	}
	return d.flush()
}

// fill reads more input, keeping buf[mark:], until buf[mark:n] holds at
// least want bytes (it always reads at least once unless at EOF).
func (d *decoder) fill(want int) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if d.eof {
		return nil
	}
	if d.mark > 0 {
		d.countLines(d.mark)
		k := copy(d.buf, d.buf[d.mark:d.n])
		d.n = k
		d.pos -= d.mark
		d.lineAt -= d.mark
		d.base += int64(d.mark)
		d.mark = 0
	}
	if need := max(want, d.n+minRead); need > len(d.buf) {
		nb := make([]byte, max(need, min(2*len(d.buf), maxBuf)))
		copy(nb, d.buf[:d.n])
		d.buf = nb
	}
	for {
		m, err := d.r.Read(d.buf[d.n:])
		d.n += m
		if err != nil {
			switch {
			case err == io.EOF:
			case errors.Is(err, io.ErrUnexpectedEOF):
				d.truncated = true
			default:
				if cerr := d.ctx.Err(); cerr != nil {
					return cerr
				}
				return fmt.Errorf("read %s: %w", d.obj.URI, err)
			}
			d.eof = true
			return nil
		}
		if m == 0 {
			if d.zeroReads++; d.zeroReads > 100 {
				return fmt.Errorf("read %s: %w", d.obj.URI, io.ErrNoProgress)
			}
			continue
		}
		if d.n-d.mark >= want || d.n == len(d.buf) {
			return nil
		}
	}
}

// grow asks for about twice the bytes of buf[mark:n], within the cap.
func (d *decoder) grow() error {
	return d.fill(min(max(2*(d.n-d.mark), minRead), MaxRecordBytes+1))
}

func (d *decoder) countLines(p int) {
	if p <= d.lineAt {
		return
	}
	seg := d.buf[d.lineAt:p]
	if c := bytes.Count(seg, []byte{'\n'}); c > 0 {
		d.line += int64(c)
		d.lastNL = d.base + int64(d.lineAt+bytes.LastIndexByte(seg, '\n'))
	}
	d.lineAt = p
}

// lineCol returns the 1-based line and column of buf[p]. Calls must come
// in non-decreasing order of position.
func (d *decoder) lineCol(p int) (line, col int64) {
	d.countLines(p)
	return d.line, d.base + int64(p) - d.lastNL
}

// nextNonWS skips whitespace between records and returns the next byte
// (at d.pos) or false at the end of input.
func (d *decoder) nextNonWS() (byte, bool, error) {
	for {
		for d.pos < d.n {
			c := d.buf[d.pos]
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				d.pos++
				continue
			}
			return c, true, nil
		}
		if d.eof {
			return 0, false, nil
		}
		d.mark = d.pos
		if err := d.fill(0); err != nil {
			return 0, false, err
		}
	}
}

type outcome uint8

const (
	oOK      outcome = iota
	oRecords         // a top-level "Records": [ (its '[' at mark+p.errPos)
	oSyntax
	oTrunc   // input ended inside the value
	oOverCap // the value is longer than MaxRecordBytes
)

// parseAt parses the value at d.pos, refilling as needed. Afterwards the
// value starts at d.mark.
func (d *decoder) parseAt(allowRecords, anyValue bool) (outcome, kind, error) {
	d.mark = d.pos
	for {
		in := d.buf[d.mark:min(d.n, d.mark+MaxRecordBytes)]
		var st status
		var k kind
		if anyValue {
			st = d.p.parseValue(in)
		} else {
			st, k = d.p.parseRecord(in, allowRecords)
		}
		switch st {
		case stOK:
			return oOK, k, nil
		case stRecords:
			return oRecords, kNone, nil
		case stSyntax:
			return oSyntax, kNone, nil
		}
		if d.eof {
			return oTrunc, kNone, nil
		}
		if d.n-d.mark > MaxRecordBytes {
			return oOverCap, kNone, nil
		}
		if err := d.grow(); err != nil {
			return 0, kNone, err
		}
	}
}

func (d *decoder) syntaxReason(start int) string {
	at := start + d.p.errPos
	if d.p.utf8At >= 0 {
		return fmt.Sprintf("invalid UTF-8 at byte %d", d.base+int64(at))
	}
	line, col := d.lineCol(at)
	return fmt.Sprintf("%s at line %d column %d", d.p.errMsg, line, col)
}

func (d *decoder) truncReason(what string) string {
	line, col := d.lineCol(d.n)
	if d.truncated {
		return fmt.Sprintf("truncated input (unexpected EOF): %s cut off at line %d column %d", what, line, col)
	}
	return fmt.Sprintf("unexpected end of input: %s cut off at line %d column %d", what, line, col)
}

func (d *decoder) snip(start, end int) []byte {
	return ingest.Snip(d.buf[start:min(end, d.n, start+ingest.MaxSnippet)])
}

func (d *decoder) quarantine(line, off int64, reason string, snip []byte) error {
	d.nrec++
	return d.sink.Bad(ingest.BadRecord{Line: line, Offset: off, Reason: reason, Snippet: snip})
}

// bad quarantines buf[start:end].
func (d *decoder) bad(start, end int, reason string) error {
	line, _ := d.lineCol(start)
	return d.quarantine(line, d.base+int64(start), reason, d.snip(start, end))
}

// rest quarantines everything from buf[start] to the end of the input as
// one record and stops decoding.
func (d *decoder) rest(line int64, start int, reason string) error {
	off, snip := d.base+int64(start), d.snip(start, d.n)
	if err := d.drain(); err != nil {
		return err
	}
	if err := d.quarantine(line, off, reason, snip); err != nil {
		return err
	}
	return errStop
}

// unclosed reports input that ends inside a container (between records).
func (d *decoder) unclosed(what string) error {
	line, _ := d.lineCol(d.n)
	reason := d.truncReason(what)
	if err := d.quarantine(line, d.base+int64(d.n), reason, nil); err != nil {
		return err
	}
	return errStop
}

func (d *decoder) drain() error {
	for {
		d.pos = d.n
		if d.eof {
			return nil
		}
		d.mark = d.pos
		if err := d.fill(0); err != nil {
			return err
		}
	}
}

// frameSkip streams past the object or array starting at buf[start]
// using bracket and string framing only (no validation). It reports
// whether the value's end was found; d.pos is then just past it.
func (d *decoder) frameSkip(start int) (bool, error) {
	if c := d.buf[start]; c != '{' && c != '[' {
		return false, nil
	}
	var depth int
	var inStr, esc bool
	d.pos = start
	for {
		b := d.buf[d.pos:d.n]
		for i, c := range b {
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					d.pos += i + 1
					return true, nil
				}
			}
		}
		d.pos = d.n
		if d.eof {
			return false, nil
		}
		d.mark = d.pos
		if err := d.fill(0); err != nil {
			return false, err
		}
	}
}

// record emits the successfully parsed object at buf[start:].
func (d *decoder) record(start int) error {
	comp := d.p.compact()
	if d.batch == nil {
		d.batch = make([]Row, 0, batchSize)
	}
	d.batch = d.batch[:len(d.batch)+1] // a zero Row, as build needs
	if reason := d.build(&d.batch[len(d.batch)-1], comp, d.base+int64(start)); reason != "" {
		d.batch[len(d.batch)-1] = Row{}
		d.batch = d.batch[:len(d.batch)-1]
		return d.bad(start, start+d.p.i, reason)
	}
	d.nrec++
	if len(d.batch) >= batchSize {
		return d.flush()
	}
	return nil
}

func (d *decoder) flush() error {
	if len(d.batch) == 0 {
		return nil
	}
	if err := d.ctx.Err(); err != nil {
		return err
	}
	b := d.batch
	d.batch = nil
	return d.sink.Rows(b)
}

// topObject handles an object at the top level of the stream.
func (d *decoder) topObject() error {
	if d.mode != modeNone {
		return d.element(true, true)
	}
	o, _, err := d.parseAt(true, false)
	if err != nil {
		return err
	}
	start := d.mark
	switch o {
	case oRecords:
		d.pos = start + d.p.errPos
		return d.array(true)
	case oOK:
		if d.p.digest && d.p.f[fEventTime].k == kNone && d.nrec == 0 {
			return fmt.Errorf("%s is a CloudTrail digest file: %w", d.obj.URI, ingest.ErrNotEvents)
		}
	}
	lines, err := d.detectLines(o)
	if err != nil {
		return err
	}
	d.pos = d.mark
	if lines {
		d.mode = modeLines
		return d.lines()
	}
	d.mode = modeConcat
	return d.element(true, true)
}

// detectLines decides from the first object (at d.mark) whether the input
// is JSON Lines: its first line holds exactly one complete object.
func (d *decoder) detectLines(o outcome) (bool, error) {
	from := d.mark
	objLen := d.p.i
	end := -1
	for end < 0 {
		if i := bytes.IndexByte(d.buf[from:d.n], '\n'); i >= 0 {
			end = from + i
			break
		}
		if d.eof {
			end = d.n
			break
		}
		if d.n-d.mark > MaxRecordBytes {
			return false, nil
		}
		rel := d.n - d.mark
		if err := d.grow(); err != nil {
			return false, err
		}
		from = d.mark + rel
	}
	line := d.buf[d.mark:end]
	for len(line) > 0 && isSpace(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	if len(line) < 2 || line[len(line)-1] != '}' {
		return false, nil
	}
	return o != oOK || objLen == len(line), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// element handles one record at d.pos: an element of an array (top false)
// or an object at the top level of a concatenated stream (top true).
func (d *decoder) element(allowRecords, top bool) error {
	o, k, err := d.parseAt(allowRecords, false)
	if err != nil {
		return err
	}
	start := d.mark
	switch o {
	case oRecords:
		d.pos = start + d.p.errPos
		return d.array(true)
	case oOK:
		d.pos = start + d.p.i
		if k != kObject {
			return d.bad(start, d.pos, fmt.Sprintf("record is %s, want an object", k))
		}
		return d.record(start)
	case oTrunc:
		line, _ := d.lineCol(start)
		return d.rest(line, start, d.truncReason("record"))
	case oOverCap:
		line, _ := d.lineCol(start)
		off, snip := d.base+int64(start), d.snip(start, d.n)
		found, err := d.frameSkip(start)
		if err != nil {
			return err
		}
		if !found {
			if err := d.quarantine(line, off, "record exceeds 8 MiB cap and the input ends inside it", snip); err != nil {
				return err
			}
			return errStop
		}
		return d.quarantine(line, off, "record exceeds 8 MiB cap", snip)
	}
	// Syntax error: resync at the end of the element when bracket framing
	// finds it and what follows is what may follow a record.
	line, _ := d.lineCol(start)
	reason := d.syntaxReason(start)
	off, snip := d.base+int64(start), d.snip(start, d.n)
	found, err := d.frameSkip(start)
	if err != nil {
		return err
	}
	if found {
		c, ok, err := d.nextNonWS()
		if err != nil {
			return err
		}
		if top && (!ok || c == '{' || c == '[') || !top && ok && (c == ',' || c == ']') {
			return d.quarantine(line, off, reason, snip)
		}
	}
	if err := d.drain(); err != nil {
		return err
	}
	if err := d.quarantine(line, off, reason+" (rest of object skipped)", snip); err != nil {
		return err
	}
	return errStop
}

// array streams the elements of an array at d.pos == '['. inRecords says
// it is the value of a top-level "Records" key.
func (d *decoder) array(inRecords bool) error {
	d.pos++
	c, ok, err := d.nextNonWS()
	if err != nil {
		return err
	}
	if !ok {
		return d.unclosed("array")
	}
	if c == ']' {
		d.pos++
		return d.afterArray(inRecords)
	}
	for {
		if err := d.element(false, false); err != nil {
			return err
		}
		if c, ok, err = d.nextNonWS(); err != nil {
			return err
		} else if !ok {
			return d.unclosed("array")
		}
		switch c {
		case ',':
			d.pos++
			if c, ok, err = d.nextNonWS(); err != nil {
				return err
			} else if !ok {
				return d.unclosed("array")
			}
			if c == ']' {
				line, col := d.lineCol(d.pos)
				return d.rest(line, d.pos, fmt.Sprintf("invalid character ']' looking for beginning of value at line %d column %d", line, col))
			}
		case ']':
			d.pos++
			return d.afterArray(inRecords)
		default:
			line, col := d.lineCol(d.pos)
			return d.rest(line, d.pos, fmt.Sprintf("invalid character %s after array element at line %d column %d", quoteChar(c), line, col))
		}
	}
}

// afterArray consumes the rest of a {"Records": [...], ...} object:
// other keys are validated and ignored.
func (d *decoder) afterArray(inRecords bool) error {
	if !inRecords {
		return nil
	}
	expect := func(want byte, ctx string) (bool, error) {
		c, ok, err := d.nextNonWS()
		if err != nil {
			return false, err
		}
		if !ok {
			return false, d.unclosed("object")
		}
		if c != want {
			line, col := d.lineCol(d.pos)
			return false, d.rest(line, d.pos, fmt.Sprintf("invalid character %s %s at line %d column %d", quoteChar(c), ctx, line, col))
		}
		return true, nil
	}
	for {
		c, ok, err := d.nextNonWS()
		if err != nil {
			return err
		}
		if !ok {
			return d.unclosed("object")
		}
		if c == '}' {
			d.pos++
			return nil
		}
		if c != ',' {
			line, col := d.lineCol(d.pos)
			return d.rest(line, d.pos, fmt.Sprintf("invalid character %s after object key:value pair at line %d column %d", quoteChar(c), line, col))
		}
		d.pos++
		if _, err := expect('"', "looking for beginning of object key string"); err != nil {
			return err
		}
		if err := d.skipValue(); err != nil {
			return err
		}
		if _, err := expect(':', "after object key"); err != nil {
			return err
		}
		d.pos++
		if _, ok, err := d.nextNonWS(); err != nil {
			return err
		} else if !ok {
			return d.unclosed("object")
		}
		if err := d.skipValue(); err != nil {
			return err
		}
	}
}

// skipValue validates and discards the value at d.pos.
func (d *decoder) skipValue() error {
	o, _, err := d.parseAt(false, true)
	if err != nil {
		return err
	}
	start := d.mark
	switch o {
	case oOK:
		d.pos = start + d.p.i
		return nil
	case oOverCap:
		found, err := d.frameSkip(start)
		if err != nil {
			return err
		}
		if !found {
			return d.unclosed("object")
		}
		return nil
	case oTrunc:
		return d.unclosed("object")
	}
	line, _ := d.lineCol(start)
	return d.rest(line, start, d.syntaxReason(start))
}

// lines decodes JSON Lines from d.pos to the end of the input.
func (d *decoder) lines() error {
	for {
		d.mark = d.pos
		searched := d.pos
		end, hasNL := -1, false
		for end < 0 {
			if i := bytes.IndexByte(d.buf[searched:d.n], '\n'); i >= 0 {
				end, hasNL = searched+i, true
				break
			}
			if d.eof {
				end = d.n
				break
			}
			if d.n-d.mark > MaxRecordBytes {
				if err := d.longLine(); err != nil {
					return err
				}
				break
			}
			rel := d.n - d.mark
			if err := d.grow(); err != nil {
				return err
			}
			searched = d.mark + rel
		}
		if end < 0 { // an over-long line was skipped
			continue
		}
		start := d.mark
		rs := start
		for rs < end && isSpace(d.buf[rs]) {
			rs++
		}
		if end-rs > MaxRecordBytes {
			if err := d.bad(rs, end, "record exceeds 8 MiB cap"); err != nil {
				return err
			}
		} else if rs < end {
			if err := d.line1(rs, end, hasNL); err != nil {
				return err
			}
		}
		if !hasNL {
			d.pos = end
			return nil
		}
		d.pos = end + 1
	}
}

// line1 decodes the record in buf[rs:end], one JSON line.
func (d *decoder) line1(rs, end int, hasNL bool) error {
	st, k := d.p.parseRecord(d.buf[rs:end], false)
	switch st {
	case stOK:
		tail := rs + d.p.i
		for tail < end && isSpace(d.buf[tail]) {
			tail++
		}
		if tail < end {
			line, _ := d.lineCol(rs)
			_, col := d.lineCol(tail)
			return d.quarantine(line, d.base+int64(rs), fmt.Sprintf("invalid character %s after top-level value at line %d column %d", quoteChar(d.buf[tail]), line, col), d.snip(rs, end))
		}
		if k != kObject {
			return d.bad(rs, end, fmt.Sprintf("record is %s, want an object", k))
		}
		return d.record(rs)
	case stSyntax:
		line, _ := d.lineCol(rs)
		return d.quarantine(line, d.base+int64(rs), d.syntaxReason(rs), d.snip(rs, end))
	}
	line, _ := d.lineCol(rs)
	if !hasNL {
		return d.quarantine(line, d.base+int64(rs), d.truncReason("record"), d.snip(rs, end))
	}
	_, col := d.lineCol(end)
	return d.quarantine(line, d.base+int64(rs), fmt.Sprintf("unexpected end of JSON input at line %d column %d", line, col), d.snip(rs, end))
}

// longLine skips a JSON line longer than MaxRecordBytes starting at
// d.mark and quarantines it.
func (d *decoder) longLine() error {
	start := d.mark
	for start < d.n && isSpace(d.buf[start]) {
		start++
	}
	line, _ := d.lineCol(start)
	off, snip := d.base+int64(start), d.snip(start, d.n)
	d.pos = d.n
	for {
		if i := bytes.IndexByte(d.buf[d.pos:d.n], '\n'); i >= 0 {
			d.pos += i + 1
			break
		}
		d.pos = d.n
		if d.eof {
			break
		}
		d.mark = d.pos
		if err := d.fill(0); err != nil {
			return err
		}
	}
	return d.quarantine(line, off, "record exceeds 8 MiB cap", snip)
}

func hashBytes(b []byte) ingest.Hash { return ingest.HashBytes(b) }
