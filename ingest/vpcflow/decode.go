package vpcflow

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/leakscope/leakscope/ingest"
)

// OptionFormat is the ObjectInfo.Options key for the flow-log format of
// header-less objects, written as AWS shows it: "${version} ${account-id} ...".
const OptionFormat = "flow-format"

const (
	// maxFields bounds the fields of one record (AWS has 58 in all).
	maxFields = 128
	// Rows go to the sink in batches that start small and grow to maxBatch.
	minBatch = 64
	maxBatch = 1024
	// arena is how many nullable numbers one allocation holds.
	arena = 4096
	// extArena is how many RowExt one allocation holds at most (the
	// first holds few: most objects have none or a handful).
	extArena = 128
	// maxUnixSeconds is 9999-12-31T23:59:59Z: later start/end values are
	// not times (and would overflow in microseconds).
	maxUnixSeconds = 253402300799
)

// Spec describes VPC Flow Logs for the ingester.
func Spec() ingest.Spec[Row] {
	return ingest.Spec[Row]{
		Name:       "vpcflow",
		Table:      "vpc_flow",
		Sniff:      Sniff,
		Decode:     Decode,
		Bloom:      []string{"src_addr", "dst_addr", "interface_id", "instance_id", "pkt_srcaddr", "pkt_dstaddr"},
		RawParquet: RawParquet,
		Layout:     KeyLayout,
	}
}

// RawParquet reports whether key names a Parquet-delivered flow-log
// object, which Decode reads with random access.
func RawParquet(key string) bool {
	return len(key) >= 8 && strings.EqualFold(key[len(key)-8:], ".parquet")
}

// Decode streams one flow-log object into sink: text (with or without a
// header line, headers repeated where files were concatenated, CloudWatch
// JSON {"message": ...} lines) or Parquet (a .parquet key, or content that
// starts with the Parquet magic).
//
// Lines that do not fit the current layout are quarantined with the
// reason; blank lines and header lines are not records. A record with
// neither start nor end time is quarantined too: it has no place in the
// time-partitioned lake. Decode returns a ParseError when the flow-format
// option is invalid or the object cannot be read, and ctx.Err() when
// cancelled; errors from the sink are returned as they are.
func Decode(ctx context.Context, obj ingest.ObjectInfo, r io.Reader, sink ingest.Sink[Row]) error {
	d, err := newDecoder(ctx, obj, sink)
	if err != nil {
		return err
	}
	return d.decode(r)
}

// decoder holds the state of one Decode call.
type decoder struct {
	ctx  context.Context
	obj  ingest.ObjectInfo
	sink ingest.Sink[Row]

	lay      *layout // current layout; nil: pick a default by field count
	batch    []Row
	batchCap int
	a32      []int32
	a64      []int64
	exts     []RowExt
	toks     [maxFields]span

	// timeless, when set (by tests), sees the records quarantined for
	// having no time, as they were decoded.
	timeless func(*Row)

	// Accounting, for tests: every line is exactly one of these.
	blanks, headers, rows, bad int64
}

// span is one field of a record: line[s:e].
type span struct{ s, e int32 }

func newDecoder(ctx context.Context, obj ingest.ObjectInfo, sink ingest.Sink[Row]) (*decoder, error) {
	d := &decoder{ctx: ctx, obj: obj, sink: sink, batchCap: minBatch}
	if f := obj.Options[OptionFormat]; f != "" {
		names, err := ParseFormat(f)
		if err != nil {
			return nil, &ingest.ParseError{Object: obj.URI, Err: fmt.Errorf("%s option: %w", OptionFormat, err)}
		}
		d.lay, _ = newLayout(names, OptionFormat+" option")
	}
	return d, nil
}

func (d *decoder) decode(r io.Reader) error {
	if RawParquet(d.obj.Key) {
		return d.parquet(r, nil)
	}
	lr := newLineReader(r)
	if bytes.HasPrefix(lr.peek(4), parquetMagic) {
		return d.parquet(lr.rest(), r)
	}
	for n := 0; ; n++ {
		line, no, off, long, ok := lr.next()
		if !ok {
			break
		}
		if n&1023 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		var err error
		if long {
			err = d.quarantine(no, off, line, fmt.Sprintf("line longer than %d bytes", maxLine))
		} else {
			err = d.line(line, no, off)
		}
		if err != nil {
			return err
		}
	}
	if lr.err != io.EOF {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		return &ingest.ParseError{Object: d.obj.URI, Line: lr.line + 1, Err: fmt.Errorf("read: %w", lr.err)}
	}
	return d.flush()
}

// tokenize splits line on runs of spaces into d.toks. It returns the
// number of fields, or -1 when there are more than maxFields.
func (d *decoder) tokenize(line []byte) int {
	const ones, spaces, highs = 0x0101010101010101, 0x2020202020202020, 0x8080808080808080
	n, i := 0, 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			return n
		}
		if n == maxFields {
			return -1
		}
		s := i
		// Find the next space eight bytes at a time: the lowest byte
		// flagged by the has-zero-byte trick is always a real match.
		for i+8 <= len(line) {
			w := binary.LittleEndian.Uint64(line[i:]) ^ spaces
			if m := (w - ones) &^ w & highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto end
			}
			i += 8
		}
		for i < len(line) && line[i] != ' ' {
			i++
		}
	end:
		d.toks[n] = span{int32(s), int32(i)}
		n++
	}
}

// line handles one text line (without "\n").
func (d *decoder) line(b []byte, no, off int64) error {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	n := d.tokenize(b)
	switch {
	case n == 0:
		d.blanks++
		return nil
	case n < 0:
		return d.quarantine(no, off, b, fmt.Sprintf("line has more than %d fields", maxFields))
	}
	switch c := b[d.toks[0].s]; {
	case c >= 'a' && c <= 'z':
		if names := headerNames(b, d.toks[:n]); names != nil {
			lay, err := newLayout(names, fmt.Sprintf("header at line %d", no))
			if err != nil {
				return d.quarantine(no, off, b, "header line: "+err.Error())
			}
			d.lay = lay
			d.headers++
			return nil
		}
	case c == '{':
		return d.jsonLine(b, no, off)
	}
	return d.record(unsafeString(b), d.toks[:n], no, off, b)
}

// headerNames returns the field names of a header line: every field is
// name-shaped and most are fields this package knows (unknown ones are
// newer AWS fields, kept in extra_fields). It returns nil otherwise.
func headerNames(b []byte, toks []span) []string {
	known := 0
	for _, t := range toks {
		f := b[t.s:t.e]
		if !isFieldName(unsafeString(f)) {
			return nil
		}
		if _, ok := byName[unsafeString(f)]; ok {
			known++
		}
	}
	if 2*known <= len(toks) {
		return nil
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		names[i] = string(b[t.s:t.e])
	}
	return names
}

// isHeader reports whether line would be taken as a header line.
func isHeader(line []byte) bool {
	var d decoder
	n := d.tokenize(bytes.TrimSuffix(line, []byte("\r")))
	if n <= 0 {
		return false
	}
	names := headerNames(line, d.toks[:n])
	if names == nil {
		return false
	}
	_, err := newLayout(names, "")
	return err == nil
}

// jsonLine unwraps a CloudWatch Logs / Firehose {"message": "<record>"}
// line and decodes the record. The row's hash is that of the record, so
// the same record delivered as text and wrapped is one record.
func (d *decoder) jsonLine(b []byte, no, off int64) error {
	var w struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return d.quarantine(no, off, b, "json line: "+err.Error())
	}
	if w.Message == nil {
		return d.quarantine(no, off, b, `json line has no "message" field`)
	}
	msg := *w.Message
	n := d.tokenize(unsafe.Slice(unsafe.StringData(msg), len(msg)))
	switch {
	case n == 0:
		return d.quarantine(no, off, b, "json line has an empty message")
	case n < 0:
		return d.quarantine(no, off, b, fmt.Sprintf("message has more than %d fields", maxFields))
	}
	return d.record(msg, d.toks[:n], no, off, b)
}

// record decodes one record whose fields are toks in s, and emits it as a
// row or quarantines it. raw is what goes into the quarantine snippet; the
// row's hash is that of s from the first field to the end.
func (d *decoder) record(s string, toks []span, no, off int64, raw []byte) error {
	lay := d.lay
	if lay == nil {
		lay = defaults[len(toks)]
	}
	if lay == nil || len(toks) != len(lay.cols) {
		// CloudWatch Logs exports prefix each record with its ingestion
		// time ("2024-01-02T03:04:05.678Z 2 123456789012 ...").
		if len(toks) > 1 && isISOTime(s[toks[0].s:toks[0].e]) {
			toks = toks[1:]
			if lay = d.lay; lay == nil {
				lay = defaults[len(toks)]
			}
		}
		if lay == nil || len(toks) != len(lay.cols) {
			return d.quarantine(no, off, raw, d.countReason(len(toks)))
		}
	}
	r := d.newRow()
	if reason := d.fill(r, lay, s, toks); reason != "" {
		d.dropRow()
		return d.quarantine(no, off, raw, reason)
	}
	if r.StartTime == nil && r.EndTime == nil {
		if d.timeless != nil {
			d.timeless(r)
		}
		d.dropRow()
		return d.quarantine(no, off, raw, "record has no start or end time")
	}
	r.Hash = ingest.HashBytes(unsafe.Slice(unsafe.StringData(s[toks[0].s:]), len(s)-int(toks[0].s)))
	r.SourceOffset = off
	r.SourceLine = no
	r.cols = lay.set
	r.PartAcc = r.AccountID
	if r.PartAcc == "" {
		r.PartAcc = d.obj.Account
	}
	r.PartReg = r.Region
	if r.PartReg == "" {
		r.PartReg = d.obj.Region
	}
	d.rows++
	if len(d.batch) == cap(d.batch) {
		return d.flush()
	}
	return nil
}

func (d *decoder) countReason(n int) string {
	if d.lay != nil {
		return fmt.Sprintf("record has %d fields, %s names %d", n, d.lay.source, len(d.lay.cols))
	}
	return fmt.Sprintf("record has %d fields: no header line or %s option, and no default format has %d fields (14, 21, 25, 29, 36, 39, 40)", n, OptionFormat, n)
}

// fill sets r's columns from the fields of one record. It returns why the
// record is bad, or "".
//
// It fills the columns kind by kind (see layout.plan), which keeps the
// loops free of a per-field switch, first those of Row, then, when the
// layout has any, those of a new RowExt. When a number is bad,
// fillOrdered fills the record again in field order so that the reason
// names the first bad field, as it always has; the row is dropped either
// way.
func (d *decoder) fill(r *Row, lay *layout, s string, toks []span) string {
	if !d.fillCols(unsafe.Pointer(r), &lay.row, s, toks) {
		return d.fillOrdered(r, lay, s, toks)
	}
	if !lay.hasExt {
		return ""
	}
	x := d.newExt()
	r.Ext = x
	if !d.fillCols(unsafe.Pointer(x), &lay.ext, s, toks) {
		return d.fillOrdered(r, lay, s, toks)
	}
	if lay.extra {
		x.ExtraFields = extraJSON(lay, s, toks)
	}
	return ""
}

// fillCols sets the columns k of the struct at p (a Row or a RowExt)
// from the fields of one record. It reports false when a number is bad.
func (d *decoder) fillCols(p unsafe.Pointer, k *kindCols, s string, toks []span) bool {
	for _, c := range k.strs {
		if v := s[toks[c.pos].s:toks[c.pos].e]; v != "-" {
			*(*string)(unsafe.Add(p, c.off)) = v
		}
	}
	for _, c := range k.int32s {
		t := toks[c.pos]
		if isDash(s, t) {
			continue
		}
		n, ok := parseUintAt(s, int(t.s), int(t.e))
		if !ok || n > math.MaxInt32 {
			return false
		}
		*(**int32)(unsafe.Add(p, c.off)) = d.int32(int32(n))
	}
	for _, c := range k.int64s {
		t := toks[c.pos]
		if isDash(s, t) {
			continue
		}
		n, ok := parseUintAt(s, int(t.s), int(t.e))
		if !ok || n > math.MaxInt64 {
			return false
		}
		*(**int64)(unsafe.Add(p, c.off)) = d.int64(int64(n))
	}
	for _, c := range k.times {
		t := toks[c.pos]
		if isDash(s, t) {
			continue
		}
		n, ok := parseUintAt(s, int(t.s), int(t.e))
		if !ok || n > maxUnixSeconds {
			return false
		}
		*(**int64)(unsafe.Add(p, c.off)) = d.int64(int64(n) * 1e6)
	}
	return true
}

// isDash reports whether field t of s is "-" (no value).
func isDash(s string, t span) bool {
	return t.e-t.s == 1 && s[t.s] == '-'
}

// fillOrdered is fill going through the fields in record order; it
// returns the reason of the first bad field.
func (d *decoder) fillOrdered(r *Row, lay *layout, s string, toks []span) string {
	if lay.hasExt && r.Ext == nil {
		r.Ext = d.newExt()
	}
	row, ext := unsafe.Pointer(r), unsafe.Pointer(r.Ext)
	for i, t := range toks {
		v := s[t.s:t.e]
		id := lay.cols[i]
		if id == noField || v == "-" {
			continue
		}
		f := &fields[id]
		p := row
		if f.ext {
			p = ext
		}
		switch f.kind {
		case kString, kAccount:
			*(*string)(unsafe.Add(p, f.off)) = v
		case kInt32:
			n, ok := parseUint(v)
			if !ok || n > math.MaxInt32 {
				return badNumber(f.name, v)
			}
			*(**int32)(unsafe.Add(p, f.off)) = d.int32(int32(n))
		case kInt64:
			n, ok := parseUint(v)
			if !ok || n > math.MaxInt64 {
				return badNumber(f.name, v)
			}
			*(**int64)(unsafe.Add(p, f.off)) = d.int64(int64(n))
		case kTime:
			n, ok := parseUint(v)
			if !ok || n > maxUnixSeconds {
				return fmt.Sprintf("field %s: %q is not a Unix time in seconds", f.name, snipField(v))
			}
			*(**int64)(unsafe.Add(p, f.off)) = d.int64(int64(n) * 1e6)
		}
	}
	if lay.extra {
		r.Ext.ExtraFields = extraJSON(lay, s, toks)
	}
	return ""
}

func badNumber(name, v string) string {
	return fmt.Sprintf("field %s: %q is not a number", name, snipField(v))
}

func snipField(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// extraJSON renders the fields of unknown names as a JSON object.
func extraJSON(lay *layout, s string, toks []span) string {
	var b []byte
	for i, t := range toks {
		v := s[t.s:t.e]
		if lay.cols[i] != noField || v == "-" {
			continue
		}
		if b == nil {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		k, _ := json.Marshal(lay.names[i])
		b = append(b, k...)
		b = append(b, ':')
		val, _ := json.Marshal(v)
		b = append(b, val...)
	}
	if b == nil {
		return ""
	}
	return string(append(b, '}'))
}

// parseUint parses a decimal number of at most 19 digits.
func parseUint(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	return n, true
}

// parseUintAt is parseUint(s[st:e]). Numbers of up to 16 digits that do
// not start the line are read eight bytes at a time (see digits8), with
// no loop over their digits.
func parseUintAt(s string, st, e int) (uint64, bool) {
	switch n := e - st; {
	case n >= 1 && n <= 8 && e >= 8:
		return digits8(load64(s, e-8), n)
	case n > 8 && n <= 16 && e >= 16:
		hi, ok1 := digits8(load64(s, e-16), n-8)
		lo, ok2 := digits8(load64(s, e-8), 8)
		return hi*1e8 + lo, ok1 && ok2
	}
	return parseUint(s[st:e])
}

// digits8 parses the last n (1 to 8) bytes of the little-endian word w
// as a decimal number; ok is false unless they are all digits. The bytes
// before them are replaced by '0' (leading zeros), then all eight digits
// are combined in three multiplications, pairs, quads, then the eight.
func digits8(w uint64, n int) (v uint64, ok bool) {
	const zeros, highs = 0x3030303030303030, 0xf0f0f0f0f0f0f0f0
	keep := ^uint64(0) << (uint(8-n) * 8)
	w = w&keep | zeros&^keep
	// Every byte must be 0x30-0x3f, and stay so with 6 added (no
	// carry between bytes can occur): '0' to '9'.
	if w&highs != zeros || (w+0x0606060606060606)&highs != zeros {
		return 0, false
	}
	w &= 0x0f0f0f0f0f0f0f0f
	w = w * (10<<8 + 1) >> 8
	w = (w & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	w = (w & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32
	return w, true
}

// load64 returns the eight bytes of s at i as a little-endian number; the
// compiler makes it one load.
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// isISOTime reports whether s looks like "2024-01-02T03:04:05Z" or with
// fractional seconds.
func isISOTime(s string) bool {
	return len(s) >= 20 && len(s) <= 35 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
		s[13] == ':' && s[len(s)-1] == 'Z' && s[0] >= '0' && s[0] <= '9'
}

func (d *decoder) int32(v int32) *int32 {
	if len(d.a32) == cap(d.a32) {
		d.a32 = make([]int32, 0, arena)
	}
	d.a32 = append(d.a32, v)
	return &d.a32[len(d.a32)-1]
}

func (d *decoder) int64(v int64) *int64 {
	if len(d.a64) == cap(d.a64) {
		d.a64 = make([]int64, 0, arena)
	}
	d.a64 = append(d.a64, v)
	return &d.a64[len(d.a64)-1]
}

// newExt returns a zero RowExt from the arena.
func (d *decoder) newExt() *RowExt {
	if len(d.exts) == cap(d.exts) {
		d.exts = make([]RowExt, 0, min(max(2*cap(d.exts), 8), extArena))
	}
	d.exts = d.exts[:len(d.exts)+1]
	return &d.exts[len(d.exts)-1]
}

// newRow returns a zero row appended to the batch.
func (d *decoder) newRow() *Row {
	if d.batch == nil {
		d.batch = make([]Row, 0, d.batchCap)
		d.batchCap = min(2*d.batchCap, maxBatch)
	}
	d.batch = d.batch[:len(d.batch)+1]
	return &d.batch[len(d.batch)-1]
}

// dropRow takes back the row newRow returned, and its RowExt (the last
// newExt returned), zeroing them for reuse.
func (d *decoder) dropRow() {
	r := &d.batch[len(d.batch)-1]
	if n := len(d.exts); r.Ext != nil && n > 0 && r.Ext == &d.exts[n-1] {
		d.exts[n-1] = RowExt{}
		d.exts = d.exts[:n-1]
	}
	*r = Row{}
	d.batch = d.batch[:len(d.batch)-1]
}

// flush hands the batch to the sink.
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

func (d *decoder) quarantine(no, off int64, raw []byte, reason string) error {
	d.bad++
	return d.sink.Bad(ingest.BadRecord{Line: no, Offset: off, Reason: reason, Snippet: ingest.Snip(raw)})
}

// unsafeString returns b as a string without copying. The decoder only
// passes it bytes that are never written again (see lineReader), so the
// string is immutable as Go requires.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
