package vpcflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/leakscope/leakscope/ingest"
)

var parquetMagic = []byte("PAR1")

var errNoColumns = errors.New("no VPC flow log columns")

// maxParquetInMemory bounds a Parquet object that arrives as a plain
// stream (content sniffed as Parquet under a non-.parquet key) and so
// must be buffered for random access.
const maxParquetInMemory = 256 << 20

// parquetColumn says how one leaf column of a Parquet flow-log object
// maps to a flow-log field.
type parquetColumn struct {
	name    string // AWS field name ("" for nested columns, which are skipped)
	pad     bool   // an account id stored as an integer: zero-pad to 12 digits
	perSec  int64  // a TIMESTAMP column: units per second, else 0
	skipped bool
}

// parquet decodes a Parquet-delivered flow-log object. r is the object;
// when it is not an io.ReaderAt (or its size is unknown) it is buffered
// in memory up to maxParquetInMemory. orig, when not nil, is the reader
// Decode was given (r then replays its first bytes): if it is an
// io.ReaderAt, it is read directly.
func (d *decoder) parquet(r io.Reader, orig io.Reader) error {
	ra, size, err := d.readerAt(r, orig)
	if err != nil {
		return err
	}
	f, err := parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return &ingest.ParseError{Object: d.obj.URI, Err: fmt.Errorf("open parquet: %w", err)}
	}
	cols, lay, err := parquetLayout(f.Schema())
	if err != nil {
		return &ingest.ParseError{Object: d.obj.URI, Err: fmt.Errorf("parquet schema: %w", err)}
	}
	d.lay = lay
	var (
		index int64 // row index in the file
		rows  = make([]parquet.Row, 128)
		vals  = make([]parquet.Value, len(cols))
		buf   []byte // arena for record text; never written below len
		toks  = make([]span, len(cols))
	)
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			if err := d.ctx.Err(); err != nil {
				rr.Close()
				return err
			}
			n, rerr := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				for i := range vals {
					vals[i] = parquet.Value{}
				}
				for _, v := range row {
					if c := v.Column(); c >= 0 && c < len(vals) && !v.IsNull() {
						vals[c] = v
					}
				}
				// Join the values with spaces, as a text record; fields
				// are delimited by toks, so values may hold spaces.
				if cap(buf)-len(buf) < 4096 {
					buf = make([]byte, 0, 64<<10)
				}
				start := len(buf)
				for i, v := range vals {
					if i > 0 {
						buf = append(buf, ' ')
					}
					s := len(buf)
					buf = appendValue(buf, v, cols[i])
					toks[i] = span{int32(s - start), int32(len(buf) - start)}
				}
				line := buf[start:len(buf):len(buf)]
				index++
				if len(line) > maxLine {
					err = d.quarantine(index, index-1, line, fmt.Sprintf("row longer than %d bytes", maxLine))
				} else {
					err = d.record(unsafeString(line), toks, index, index-1, line)
				}
				if err != nil {
					rr.Close()
					return err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return &ingest.ParseError{Object: d.obj.URI, Line: index + 1, Err: fmt.Errorf("read parquet: %w", rerr)}
			}
		}
		if err := rr.Close(); err != nil {
			return &ingest.ParseError{Object: d.obj.URI, Err: fmt.Errorf("read parquet: %w", err)}
		}
	}
	return d.flush()
}

// readerAt returns random access to the object.
func (d *decoder) readerAt(r, orig io.Reader) (io.ReaderAt, int64, error) {
	for _, c := range []io.Reader{orig, r} {
		if c == nil {
			continue
		}
		ra, ok := c.(io.ReaderAt)
		if !ok {
			continue
		}
		size := d.obj.Size
		if s, ok := c.(interface{ Size() int64 }); ok && size <= 0 {
			size = s.Size()
		}
		if size <= 0 {
			if sk, ok := c.(io.Seeker); ok {
				if n, err := sk.Seek(0, io.SeekEnd); err == nil {
					size = n
				}
			}
		}
		if size > 0 {
			return ra, size, nil
		}
	}
	// r replays what was already read from orig, then the rest.
	b, err := io.ReadAll(io.LimitReader(r, maxParquetInMemory+1))
	if err != nil {
		if cerr := d.ctx.Err(); cerr != nil {
			return nil, 0, cerr
		}
		return nil, 0, &ingest.ParseError{Object: d.obj.URI, Err: fmt.Errorf("read parquet: %w", err)}
	}
	if len(b) > maxParquetInMemory {
		return nil, 0, &ingest.ParseError{Object: d.obj.URI, Err: fmt.Errorf(
			"parquet object larger than %d MiB without random access; name it .parquet", maxParquetInMemory>>20)}
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// parquetLayout maps the leaf columns of a Parquet flow-log schema to
// flow-log fields: AWS names with '_' for '-' (AWS Parquet delivery), or
// lake column names. Unknown top-level columns go to extra_fields.
func parquetLayout(schema *parquet.Schema) ([]parquetColumn, *layout, error) {
	paths := schema.Columns()
	cols := make([]parquetColumn, len(paths))
	names := make([]string, len(paths))
	known := 0
	for i, p := range paths {
		leaf, ok := schema.Lookup(p...)
		if len(p) != 1 || !ok || leaf.MaxRepetitionLevel > 0 {
			cols[i].skipped = true
			names[i] = "." + strings.Join(p, ".") // unique, never a field name
			continue
		}
		name := p[0]
		if aws, ok := byColumnAlias[strings.ToLower(name)]; ok {
			name = aws
			known++
		}
		cols[i].name = name
		names[i] = name
		if id, ok := byName[name]; ok {
			t := leaf.Node.Type()
			switch {
			case fields[id].kind == kAccount && (t.Kind() == parquet.Int32 || t.Kind() == parquet.Int64):
				cols[i].pad = true
			case fields[id].kind == kTime:
				if lt := t.LogicalType(); lt != nil {
					if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
						cols[i].perSec = int64(1e9 / ts.Unit.Value.Duration())
					}
				}
			}
		}
	}
	if known == 0 {
		return nil, nil, errNoColumns
	}
	lay, err := newLayout(names, "parquet schema")
	if err != nil {
		return nil, nil, err
	}
	for i := range cols {
		if cols[i].skipped {
			lay.cols[i] = noField
		}
	}
	lay.plan()
	return cols, lay, nil
}

// appendValue appends the text of one Parquet value as it would appear in
// a text record: "-" for NULL (and for "None" and "" that pandas writes).
func appendValue(b []byte, v parquet.Value, c parquetColumn) []byte {
	if c.skipped || v.IsNull() {
		return append(b, '-')
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(b, v.Boolean())
	case parquet.Int32:
		return appendInt(b, int64(v.Int32()), c)
	case parquet.Int64:
		return appendInt(b, v.Int64(), c)
	case parquet.Float:
		return appendFloat(b, float64(v.Float()), c)
	case parquet.Double:
		return appendFloat(b, v.Double(), c)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		s := v.ByteArray()
		if len(s) == 0 || string(s) == "None" || string(s) == "null" || string(s) == "NaN" {
			return append(b, '-')
		}
		return append(b, s...)
	default:
		return append(b, v.String()...)
	}
}

func appendInt(b []byte, n int64, c parquetColumn) []byte {
	if c.perSec > 0 {
		// floor to whole seconds, as the text format has them
		s := n / c.perSec
		if n < 0 && n%c.perSec != 0 {
			s--
		}
		n = s
	}
	if c.pad && n >= 0 {
		for d := digits(n); d < 12; d++ {
			b = append(b, '0')
		}
	}
	return strconv.AppendInt(b, n, 10)
}

func appendFloat(b []byte, f float64, c parquetColumn) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, '-')
	case f == math.Trunc(f) && math.Abs(f) < 1<<62:
		return appendInt(b, int64(f), c)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func digits(n int64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}
