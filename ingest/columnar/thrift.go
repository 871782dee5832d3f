package columnar

import "encoding/binary"

// Thrift compact protocol types (the Parquet metadata encoding).
const (
	ctTrue   = 1
	ctFalse  = 2
	ctI16    = 4
	ctI32    = 5
	ctI64    = 6
	ctBinary = 8
	ctList   = 9
	ctStruct = 12
)

// thrift appends Thrift compact-protocol structs to a buffer. Structs
// nest: begin/end keep the last field id of each open struct.
type thrift struct {
	b     []byte
	last  int16
	stack []int16
}

func (t *thrift) fieldHeader(id int16, typ byte) {
	if d := id - t.last; d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.b = binary.AppendVarint(t.b, int64(id))
	}
	t.last = id
}

func (t *thrift) i32(id int16, v int32) {
	t.fieldHeader(id, ctI32)
	t.b = binary.AppendVarint(t.b, int64(v))
}

func (t *thrift) i16(id int16, v int16) {
	t.fieldHeader(id, ctI16)
	t.b = binary.AppendVarint(t.b, int64(v))
}

func (t *thrift) i64(id int16, v int64) {
	t.fieldHeader(id, ctI64)
	t.b = binary.AppendVarint(t.b, v)
}

func (t *thrift) bool(id int16, v bool) {
	if v {
		t.fieldHeader(id, ctTrue)
	} else {
		t.fieldHeader(id, ctFalse)
	}
}

func (t *thrift) binary(id int16, v []byte) {
	t.fieldHeader(id, ctBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

func (t *thrift) string(id int16, v string) {
	t.fieldHeader(id, ctBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

// begin opens a struct-valued field; end closes it.
func (t *thrift) begin(id int16) {
	t.fieldHeader(id, ctStruct)
	t.push()
}

func (t *thrift) push() {
	t.stack = append(t.stack, t.last)
	t.last = 0
}

func (t *thrift) end() {
	t.b = append(t.b, 0) // stop
	t.last = t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
}

// list opens a list-valued field of n elements of type elem. Struct
// elements are written between elemBegin (push) and end.
func (t *thrift) list(id int16, elem byte, n int) {
	t.fieldHeader(id, ctList)
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|elem)
	} else {
		t.b = append(t.b, 0xf0|elem)
		t.b = binary.AppendUvarint(t.b, uint64(n))
	}
}

// listI32 writes a list of i32 values.
func (t *thrift) listI32(id int16, vs []int32) {
	t.list(id, ctI32, len(vs))
	for _, v := range vs {
		t.b = binary.AppendVarint(t.b, int64(v))
	}
}

// listString writes a list of strings.
func (t *thrift) listString(id int16, vs []string) {
	t.list(id, ctBinary, len(vs))
	for _, v := range vs {
		t.b = binary.AppendUvarint(t.b, uint64(len(v)))
		t.b = append(t.b, v...)
	}
}

// endTop ends a top-level struct (one not opened by begin or push).
func (t *thrift) endTop() { t.b = append(t.b, 0) }

// i8 writes a byte field (compact type 3: the raw byte, not a varint).
func (t *thrift) i8(id int16, v int8) {
	t.fieldHeader(id, 3)
	t.b = append(t.b, byte(v))
}
