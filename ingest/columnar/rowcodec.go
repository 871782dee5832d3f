package columnar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"unsafe"
)

// Codec turns rows of R into bytes and back, column by column as the
// schema lists them: the compact form in which the lake writer spills
// sorted rows to disk and later reads them back to write one big file.
// Only the schema's columns survive the round trip; other fields of R
// are zero in a decoded row.
//
// The form, per row: each column of the row struct in schema order
// (strings as a uvarint length and the bytes; int64 and timestamps as 8
// bytes little endian; a pointer as a presence byte and, when present,
// its value; bool as one byte), then per inline struct a presence byte
// and, when present, its columns the same way.
type Codec[R any] struct {
	s     *Schema
	outer []int   // columns of the row struct itself
	inner [][]int // columns of each inline struct
	types []reflect.Type
}

// NewCodec returns the codec of R's schema.
func NewCodec[R any]() (*Codec[R], error) {
	s, err := SchemaOf[R]()
	if err != nil {
		return nil, err
	}
	c := &Codec[R]{s: s, inner: make([][]int, len(s.inlines))}
	for i := range s.cols {
		if v := s.cols[i].via; v > 0 {
			c.inner[v-1] = append(c.inner[v-1], i)
		} else {
			c.outer = append(c.outer, i)
		}
	}
	rt := reflect.TypeFor[R]()
	for _, in := range s.inlines {
		for i := range rt.NumField() {
			if f := rt.Field(i); f.Offset == in.off {
				c.types = append(c.types, f.Type.Elem())
				break
			}
		}
	}
	return c, nil
}

// Append appends the encoding of r to dst.
func (c *Codec[R]) Append(dst []byte, r *R) []byte {
	p := unsafe.Pointer(r)
	dst = c.appendCols(dst, p, c.outer)
	for k, in := range c.s.inlines {
		q := *(*unsafe.Pointer)(unsafe.Add(p, in.off))
		if q == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = c.appendCols(dst, q, c.inner[k])
	}
	return dst
}

func (c *Codec[R]) appendCols(dst []byte, p unsafe.Pointer, cols []int) []byte {
	for _, i := range cols {
		col := &c.s.cols[i]
		f := field(p, col)
		switch col.kind {
		case kString:
			s := *(*string)(f)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		case kInt64, kTimestamp:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(*(*int64)(f)))
		case kInt64Ptr, kTimestampPtr:
			if v := *(**int64)(f); v != nil {
				dst = binary.LittleEndian.AppendUint64(append(dst, 1), uint64(*v))
			} else {
				dst = append(dst, 0)
			}
		case kInt32Ptr:
			if v := *(**int32)(f); v != nil {
				dst = binary.LittleEndian.AppendUint32(append(dst, 1), uint32(*v))
			} else {
				dst = append(dst, 0)
			}
		case kBool:
			dst = append(dst, boolByte(*(*bool)(f)))
		case kBoolPtr:
			if v := *(**bool)(f); v != nil {
				dst = append(dst, 1, boolByte(*v))
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// errShort is returned for an encoding cut short.
var errShort = errors.New("columnar: row encoding cut short")

// Decoder decodes rows encoded by a Codec. Strings of the rows it decodes
// point into the source bytes, which must outlive the rows; pointed-to
// numbers come from slabs it allocates.
type Decoder[R any] struct {
	c    *Codec[R]
	i64  []int64
	i32  []int32
	bool []bool
}

// NewDecoder returns a decoder of c's encoding.
func (c *Codec[R]) NewDecoder() *Decoder[R] { return &Decoder[R]{c: c} }

// Decode decodes one row from src into r, which must be the zero R, and
// returns the bytes it used.
func (d *Decoder[R]) Decode(src []byte, r *R) (int, error) {
	p := unsafe.Pointer(r)
	n, err := d.decodeCols(src, 0, p, d.c.outer)
	if err != nil {
		return n, err
	}
	for k, in := range d.c.s.inlines {
		if n >= len(src) {
			return n, errShort
		}
		present := src[n]
		n++
		if present == 0 {
			continue
		}
		q := reflect.New(d.c.types[k]).UnsafePointer()
		*(*unsafe.Pointer)(unsafe.Add(p, in.off)) = q
		if n, err = d.decodeCols(src, n, q, d.c.inner[k]); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (d *Decoder[R]) decodeCols(src []byte, n int, p unsafe.Pointer, cols []int) (int, error) {
	for _, i := range cols {
		col := &d.c.s.cols[i]
		f := field(p, col)
		switch col.kind {
		case kString:
			l, k := binary.Uvarint(src[n:])
			if k <= 0 || uint64(len(src)-n-k) < l {
				return n, errShort
			}
			n += k
			if l > 0 {
				*(*string)(f) = unsafe.String(&src[n], int(l))
			}
			n += int(l)
		case kInt64, kTimestamp:
			if len(src)-n < 8 {
				return n, errShort
			}
			*(*int64)(f) = int64(binary.LittleEndian.Uint64(src[n:]))
			n += 8
		case kInt64Ptr, kTimestampPtr:
			if n >= len(src) {
				return n, errShort
			}
			n++
			if src[n-1] == 0 {
				continue
			}
			if len(src)-n < 8 {
				return n, errShort
			}
			if len(d.i64) == 0 {
				d.i64 = make([]int64, 1024)
			}
			v := &d.i64[0]
			d.i64 = d.i64[1:]
			*v = int64(binary.LittleEndian.Uint64(src[n:]))
			*(**int64)(f) = v
			n += 8
		case kInt32Ptr:
			if n >= len(src) {
				return n, errShort
			}
			n++
			if src[n-1] == 0 {
				continue
			}
			if len(src)-n < 4 {
				return n, errShort
			}
			if len(d.i32) == 0 {
				d.i32 = make([]int32, 1024)
			}
			v := &d.i32[0]
			d.i32 = d.i32[1:]
			*v = int32(binary.LittleEndian.Uint32(src[n:]))
			*(**int32)(f) = v
			n += 4
		case kBool:
			if n >= len(src) {
				return n, errShort
			}
			*(*bool)(f) = src[n] != 0
			n++
		case kBoolPtr:
			if n >= len(src) {
				return n, errShort
			}
			n++
			if src[n-1] == 0 {
				continue
			}
			if n >= len(src) {
				return n, errShort
			}
			if len(d.bool) == 0 {
				d.bool = make([]bool, 1024)
			}
			v := &d.bool[0]
			d.bool = d.bool[1:]
			*v = src[n] != 0
			*(**bool)(f) = v
			n++
		default:
			return n, fmt.Errorf("columnar: column %s of unknown kind %d", col.name, col.kind)
		}
	}
	return n, nil
}
