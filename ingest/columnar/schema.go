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
	off      uintptr // field offset in the row struct
	kind     kind
	optional bool
	dict     bool // try dictionary encoding
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
// The "dict" option asks for dictionary encoding of a string column.
type Schema struct {
	name string
	cols []column
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
		tag, ok := f.Tag.Lookup("parquet")
		if !ok || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		c := column{name: parts[0], off: f.Offset, stats: true}
		if c.name == "" {
			c.name = f.Name
		}
		if seen[c.name] {
			return nil, fmt.Errorf("columnar: %s: column %q twice", t, c.name)
		}
		seen[c.name] = true
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
				return nil, fmt.Errorf("columnar: %s.%s: unsupported tag option %q", t, f.Name, opt)
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
			return nil, fmt.Errorf("columnar: %s.%s: unsupported type %s", t, f.Name, ft)
		}
		if c.optional && (c.kind == kInt64 || c.kind == kBool || c.kind == kTimestamp) {
			return nil, fmt.Errorf("columnar: %s.%s: a %s cannot be optional (use a pointer)", t, f.Name, f.Type)
		}
		if c.dict && c.kind != kString {
			return nil, fmt.Errorf("columnar: %s.%s: dict applies to strings only", t, f.Name)
		}
		s.cols = append(s.cols, c)
	}
	if len(s.cols) == 0 {
		return nil, fmt.Errorf("columnar: %s has no parquet columns", t)
	}
	return s, nil
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

// field returns a pointer to column c of the row at p.
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
