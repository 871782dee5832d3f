package columnar

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// kind is how a column's value is laid out in the row struct.
type kind uint8

const (
	kString       kind = iota // string; "" is NULL when the column is optional
	kInt64                    // int64, required
	kInt64Ptr                 // *int64, nil is NULL
	kInt32Ptr                 // *int32, nil is NULL
	kBool                     // bool, required
	kBoolPtr                  // *bool, nil is NULL
	kTimestamp                // int64 Unix microseconds, required
	kTimestampPtr             // *int64 Unix microseconds, nil is NULL
)

// Parquet physical types (parquet.thrift Type).
const (
	typeBoolean   = 0
	typeInt32     = 1
	typeInt64     = 2
	typeByteArray = 6
)

// column is one leaf column of a schema.
type column struct {
	name     string
	off      uintptr // field offset in the row struct, or in the inline struct (via > 0)
	via      int     // 0: a field of the row; k > 0: a field of the struct Schema.inlines[k-1] points to
	kind     kind
	optional bool
	dict     bool // expected to repeat: keep the dictionary up to its size limits
	bloom    bool // write a bloom filter
	stats    bool // write min/max statistics
}

// physical is the column's Parquet physical type.
func (c *column) physical() int32 {
	switch c.kind {
	case kString:
		return typeByteArray
	case kInt32Ptr:
		return typeInt32
	case kBool, kBoolPtr:
		return typeBoolean
	default:
		return typeInt64
	}
}

// Schema is the flat Parquet schema of a row struct type.
//
// A field's tag is `parquet:"name[,option...]"`; "-" leaves it out.
// Supported fields and how they are stored:
//
//	string                      BYTE_ARRAY (UTF8); with "optional", "" is NULL
//	int64                       INT64 (INT_64), required
//	*int64                      INT64 (INT_64), optional
//	*int32                      INT32 (INT_32), optional
//	bool / *bool                BOOLEAN, required / optional
//	int64 / *int64 + "timestamp(microsecond:local)"
//	                            INT64 TIMESTAMP(MICROS, not UTC-adjusted)
//
// Every string column is dictionary-encoded on trial: it falls back to
// PLAIN when the dictionary outgrows its size limits or holds more than
// nine in ten of the first 1024 values or more than half of the first
// 16 Ki. The "dict" option marks a column expected to repeat, which skips
// the distinct-value tests.
//
// A field of type *S, S a struct, tagged `columnar:"inline"` (and with no
// parquet tag) contributes the tagged fields of S as top-level columns,
// in S's field order, at the field's place in the row: the file is the
// same as for the row struct with S's fields written out in place. It
// lets a row keep rarely filled columns out of line. When the pointer is
// nil every one of those columns is NULL, so each must be optional (an
// optional string or a pointer); S may not itself hold an inline field.
// (The tag is not a parquet option because parquet-go rejects options it
// does not know; to parquet-go the field is an optional group.)
type Schema struct {
	name    string
	cols    []column
	inlines []inline
}

// inline is a `columnar:"inline"` field of the row struct: a pointer to a
// struct whose fields are columns of the row.
type inline struct {
	off  uintptr        // offset of the pointer in the row struct
	zero unsafe.Pointer // a zero struct, read in place of a nil pointer (every column NULL); never written
}

// resolve appends to dst, for each row of blk, the row's inline struct,
// or the zero struct when the pointer is nil.
func (in *inline) resolve(dst, blk []unsafe.Pointer) []unsafe.Pointer {
	for _, p := range blk {
		q := *(*unsafe.Pointer)(unsafe.Add(p, in.off))
		if q == nil {
			q = in.zero
		}
		dst = append(dst, q)
	}
	return dst
}

// Columns returns the column names in schema order.
func (s *Schema) Columns() []string {
	out := make([]string, len(s.cols))
	for i := range s.cols {
		out[i] = s.cols[i].name
	}
	return out
}

// SchemaOf derives the schema of the struct type R from its parquet tags.
func SchemaOf[R any]() (*Schema, error) {
	t := reflect.TypeFor[R]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("columnar: %s is not a struct", t)
	}
	s := &Schema{name: t.Name()}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, ok := f.Tag.Lookup("columnar"); ok {
			if err := s.addInline(t, f, tag, seen); err != nil {
				return nil, err
			}
			continue
		}
		c, ok, err := fieldColumn(t, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if seen[c.name] {
			return nil, fmt.Errorf("columnar: %s: column %q twice", t, c.name)
		}
		seen[c.name] = true
		s.cols = append(s.cols, c)
	}
	if len(s.cols) == 0 {
		return nil, fmt.Errorf("columnar: %s has no parquet columns", t)
	}
	return s, nil
}

// addInline appends the columns of the `columnar:"inline"` field f of the
// row struct t.
func (s *Schema) addInline(t reflect.Type, f reflect.StructField, tag string, seen map[string]bool) error {
	if tag != "inline" {
		return fmt.Errorf("columnar: %s.%s: unsupported columnar tag %q", t, f.Name, tag)
	}
	if _, ok := f.Tag.Lookup("parquet"); ok {
		return fmt.Errorf("columnar: %s.%s: an inline field takes no parquet tag", t, f.Name)
	}
	if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("columnar: %s.%s: inline needs a pointer to a struct, not %s", t, f.Name, f.Type)
	}
	st := f.Type.Elem()
	s.inlines = append(s.inlines, inline{off: f.Offset, zero: reflect.New(st).UnsafePointer()})
	n := 0
	for i := range st.NumField() {
		sf := st.Field(i)
		if _, ok := sf.Tag.Lookup("columnar"); ok {
			return fmt.Errorf("columnar: %s.%s: inline fields do not nest", st, sf.Name)
		}
		c, ok, err := fieldColumn(st, sf)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if !c.optional {
			return fmt.Errorf("columnar: %s.%s: column %q of inline %s.%s must be optional (it is NULL when %s.%s is nil)",
				st, sf.Name, c.name, t, f.Name, t, f.Name)
		}
		if seen[c.name] {
			return fmt.Errorf("columnar: %s: column %q twice", t, c.name)
		}
		seen[c.name] = true
		c.via = len(s.inlines)
		s.cols = append(s.cols, c)
		n++
	}
	if n == 0 {
		return fmt.Errorf("columnar: %s.%s: inline %s has no parquet columns", t, f.Name, st)
	}
	return nil
}

// fieldColumn returns the column of field f of struct t; ok is false when
// f has no parquet tag or "-".
func fieldColumn(t reflect.Type, f reflect.StructField) (c column, ok bool, err error) {
	tag, ok := f.Tag.Lookup("parquet")
	if !ok || tag == "-" {
		return column{}, false, nil
	}
	parts := strings.Split(tag, ",")
	c = column{name: parts[0], off: f.Offset, stats: true}
	if c.name == "" {
		c.name = f.Name
	}
	timestamp := false
	for _, opt := range parts[1:] {
		switch opt {
		case "optional":
			c.optional = true
		case "dict":
			c.dict = true
		case "timestamp(microsecond:local)":
			timestamp = true
		default:
			return c, false, fmt.Errorf("columnar: %s.%s: unsupported tag option %q", t, f.Name, opt)
		}
	}
	switch ft := f.Type; {
	case ft.Kind() == reflect.String:
		c.kind = kString
	case ft.Kind() == reflect.Int64 && timestamp:
		c.kind = kTimestamp
	case ft.Kind() == reflect.Int64:
		c.kind = kInt64
	case ft.Kind() == reflect.Bool:
		c.kind = kBool
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int64 && timestamp:
		c.kind, c.optional = kTimestampPtr, true
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int64:
		c.kind, c.optional = kInt64Ptr, true
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int32:
		c.kind, c.optional = kInt32Ptr, true
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
		c.kind, c.optional = kBoolPtr, true
	default:
		return c, false, fmt.Errorf("columnar: %s.%s: unsupported type %s", t, f.Name, ft)
	}
	if c.optional && (c.kind == kInt64 || c.kind == kBool || c.kind == kTimestamp) {
		return c, false, fmt.Errorf("columnar: %s.%s: a %s cannot be optional (use a pointer)", t, f.Name, f.Type)
	}
	if c.dict && c.kind != kString {
		return c, false, fmt.Errorf("columnar: %s.%s: dict applies to strings only", t, f.Name)
	}
	return c, true, nil
}

// index returns the position of the named column, or -1.
func (s *Schema) index(name string) int {
	for i := range s.cols {
		if s.cols[i].name == name {
			return i
		}
	}
	return -1
}

// field returns a pointer to column c of the struct at p: the row, or for
// a column of an inline struct (c.via > 0) that struct (see inline.resolve).
func field(p unsafe.Pointer, c *column) unsafe.Pointer { return unsafe.Add(p, c.off) }

// ColumnSet is a set of a schema's columns.
type ColumnSet struct{ bits []uint64 }

// Has reports whether column i is in the set.
func (cs *ColumnSet) has(i int) bool { return cs.bits[i/64]&(1<<(i%64)) != 0 }

// Set returns the set of the named columns plus every required column
// (a required column is never NULL, so it is always filled).
func (s *Schema) Set(names ...string) (*ColumnSet, error) {
	cs := &ColumnSet{bits: make([]uint64, (len(s.cols)+63)/64)}
	for i := range s.cols {
		if !s.cols[i].optional {
			cs.bits[i/64] |= 1 << (i % 64)
		}
	}
	for _, n := range names {
		i := s.index(n)
		if i < 0 {
			return nil, fmt.Errorf("columnar: %s has no column %q", s.name, n)
		}
		cs.bits[i/64] |= 1 << (i % 64)
	}
	return cs, nil
}

// Sparse is implemented by row types whose rows leave whole groups of
// columns NULL by construction (a flow-log record fills only the fields
// of its format). Columns returns the set of columns the row may fill, or
// nil for all of them; rows of the same shape should share one set. The
// writer then skips the other columns of a block without reading the
// rows: they must be NULL in the row.
type Sparse interface {
	Columns() *ColumnSet
}
