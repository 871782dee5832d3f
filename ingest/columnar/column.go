package columnar

import (
	"encoding/binary"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// Parquet encodings and page types (parquet.thrift).
const (
	encPlain         = 0
	encRLE           = 3
	encDeltaBinary   = 5
	encRLEDictionary = 8
	pageData         = 0
	pageDictionary   = 2
	codecZstd        = 6
	pageTargetBytes  = 1 << 20  // a data page is cut at about this many value bytes
	pageMaxValues    = 64 << 10 // or this many values
	dictMaxEntries   = 64 << 10 // a dictionary beyond this falls back to plain
	dictMaxBytes     = 1 << 20  // or beyond this many value bytes
	// A string column without the dict option is dictionary-encoded on
	// trial: once dictProbe values are in, a dictionary holding more
	// than nine in ten of them as distinct values (a column of IDs) falls
	// back to plain, and once dictProbe2 are in, one holding more than
	// half of them. (Values such as principals repeat over a row group
	// yet are mostly distinct in a small sample: a strict first test
	// would drop their dictionary, which DuckDB filters on far faster.)
	dictProbe         = 1024
	dictProbe2        = 16 << 10
	statsMaxStringLen = 256 // longer string bounds are not recorded
)

// chunkMeta is what the footer needs of one written column chunk.
type chunkMeta struct {
	encodings      []int32
	numValues      int64
	uncompressed   int64
	compressed     int64
	dataPageOffset int64
	dictOffset     int64 // -1: none
	nullCount      int64
	min, max       []byte // nil: no statistics
}

// colWriter encodes one column of a row group: it collects the current
// page's definition levels and values, cuts pages into a chunk buffer
// and, at the end of the row group, assembles the chunk.
type colWriter struct {
	c *column

	// Current page.
	defs  []uint8  // 0 = NULL, 1 = present (optional columns only)
	vals  []byte   // PLAIN values (booleans: one byte each until the page is cut)
	idx   []uint32 // dictionary indices (dictionary mode)
	ints  []int64  // INT64 values (DELTA_BINARY_PACKED)
	count int      // values (NULLs included) in the page
	pnull int      // NULLs in the page

	// Current chunk.
	pages     []byte // page headers and compressed bodies
	useDict   bool   // still dictionary-encoding
	dict      map[string]uint32
	dictVals  []string
	dictBytes int
	lastS     string // the last value looked up, and its index
	lastI     uint32
	work      int64 // a measure of the work of this chunk: value bytes read, plus 8 a value
	plainUsed bool  // some page was written PLAIN
	deltaUsed bool  // some page was written DELTA_BINARY_PACKED
	dictUsed  bool  // some page was written with dictionary indices
	nulls     int64
	values    int64
	uncomp    int64
	hashes    []uint64
	hasMinMax bool
	minI      int64
	maxI      int64
	minS      string
	maxS      string
	boolSeen  [2]bool

	scratch  []byte // page body being built
	zbuf     []byte // its compressed form
	bloom    []byte // bloom filter (header and bitset) of the sealed chunk
	dictPage []byte // dictionary page (header and body) of the sealed chunk
	hdr      thrift // page header being built
}

// header returns the header builder, emptied.
func (cw *colWriter) header() *thrift {
	h := &cw.hdr
	h.b, h.last, h.stack = h.b[:0], 0, h.stack[:0]
	return h
}

// compress compresses body into the reusable buffer.
func (cw *colWriter) compress(enc *zstd.Encoder, body []byte) []byte {
	cw.zbuf = enc.EncodeAll(body, cw.zbuf[:0])
	return cw.zbuf
}

func (cw *colWriter) reset() {
	cw.defs, cw.vals, cw.idx, cw.ints = cw.defs[:0], cw.vals[:0], cw.idx[:0], cw.ints[:0]
	cw.count, cw.pnull = 0, 0
	cw.pages = cw.pages[:0]
	cw.useDict = cw.c.kind == kString
	if cw.useDict {
		if cw.dict == nil {
			cw.dict = make(map[string]uint32, 1024)
		} else {
			clear(cw.dict)
		}
	}
	cw.dictVals, cw.dictBytes = cw.dictVals[:0], 0
	cw.lastS, cw.lastI = "", 0
	cw.work = 0
	cw.plainUsed, cw.dictUsed, cw.deltaUsed = false, false, false
	cw.nulls, cw.values, cw.uncomp = 0, 0, 0
	cw.hashes = cw.hashes[:0]
	cw.hasMinMax = false
	cw.minS, cw.maxS = "", ""
	cw.boolSeen = [2]bool{}
}

// appendBlock appends the column's values of a block of rows. rows point
// to the structs that hold the column: the rows themselves, or for a
// column of an inline struct the rows' structs (see subBlock.rows), so
// reading a value is the same either way.
func (cw *colWriter) appendBlock(rows []unsafe.Pointer) {
	c := cw.c
	cw.work += 8 * int64(len(rows))
	switch c.kind {
	case kString:
		cw.appendStrings(rows)
	case kInt64, kTimestamp:
		for _, p := range rows {
			cw.int64Value(*(*int64)(field(p, c)))
		}
		cw.count += len(rows)
	case kInt64Ptr, kTimestampPtr:
		for _, p := range rows {
			v := *(**int64)(field(p, c))
			if v == nil {
				cw.defs = append(cw.defs, 0)
				cw.pnull++
				continue
			}
			cw.defs = append(cw.defs, 1)
			cw.int64Value(*v)
		}
		cw.count += len(rows)
	case kInt32Ptr:
		for _, p := range rows {
			v := *(**int32)(field(p, c))
			if v == nil {
				cw.defs = append(cw.defs, 0)
				cw.pnull++
				continue
			}
			cw.defs = append(cw.defs, 1)
			x := *v
			cw.vals = binary.LittleEndian.AppendUint32(cw.vals, uint32(x))
			cw.minMaxInt(int64(x))
		}
		cw.count += len(rows)
	case kBool:
		for _, p := range rows {
			cw.boolValue(*(*bool)(field(p, c)))
		}
		cw.count += len(rows)
	case kBoolPtr:
		for _, p := range rows {
			v := *(**bool)(field(p, c))
			if v == nil {
				cw.defs = append(cw.defs, 0)
				cw.pnull++
				continue
			}
			cw.defs = append(cw.defs, 1)
			cw.boolValue(*v)
		}
		cw.count += len(rows)
	}
}

// appendNulls appends n NULLs (the column is optional).
func (cw *colWriter) appendNulls(n int) {
	cw.work += int64(n)
	for range n {
		cw.defs = append(cw.defs, 0)
	}
	cw.pnull += n
	cw.count += n
}

func (cw *colWriter) int64Value(x int64) {
	cw.ints = append(cw.ints, x)
	cw.minMaxInt(x)
}

func (cw *colWriter) minMaxInt(x int64) {
	if !cw.hasMinMax {
		cw.minI, cw.maxI, cw.hasMinMax = x, x, true
		return
	}
	cw.minI = min(cw.minI, x)
	cw.maxI = max(cw.maxI, x)
}

func (cw *colWriter) boolValue(b bool) {
	v := *(*uint8)(unsafe.Pointer(&b))
	cw.vals = append(cw.vals, v)
	cw.boolSeen[v] = true
}

// appendStrings appends a block of a string column. In dictionary mode a
// value costs a map lookup; new values also update statistics and the
// bloom filter, so those costs are per distinct value.
func (cw *colWriter) appendStrings(rows []unsafe.Pointer) {
	c := cw.c
	optional := c.optional
	if cw.useDict {
		for _, p := range rows {
			s := *(*string)(field(p, c))
			cw.work += int64(len(s))
			if optional && s == "" {
				cw.defs = append(cw.defs, 0)
				cw.pnull++
				continue
			}
			if optional {
				cw.defs = append(cw.defs, 1)
			}
			// Neighbouring rows often repeat a value: skip the map.
			if s == cw.lastS && len(cw.dictVals) > 0 {
				cw.idx = append(cw.idx, cw.lastI)
				continue
			}
			i, ok := cw.dict[s]
			if !ok {
				i = uint32(len(cw.dictVals))
				cw.dict[s] = i
				cw.dictVals = append(cw.dictVals, s)
				cw.dictBytes += len(s)
				cw.observeString(s)
			}
			cw.idx = append(cw.idx, i)
			cw.lastS, cw.lastI = s, i
		}
		cw.count += len(rows)
		return
	}
	for _, p := range rows {
		s := *(*string)(field(p, c))
		cw.work += int64(len(s))
		if optional && s == "" {
			cw.defs = append(cw.defs, 0)
			cw.pnull++
			continue
		}
		if optional {
			cw.defs = append(cw.defs, 1)
		}
		cw.vals = binary.LittleEndian.AppendUint32(cw.vals, uint32(len(s)))
		cw.vals = append(cw.vals, s...)
		cw.observeString(s)
	}
	cw.count += len(rows)
}

// observeString updates min/max and the bloom filter with one value.
func (cw *colWriter) observeString(s string) {
	if cw.c.bloom {
		cw.hashes = append(cw.hashes, xxh64(unsafe.Slice(unsafe.StringData(s), len(s))))
	}
	if !cw.c.stats {
		return
	}
	if !cw.hasMinMax {
		cw.minS, cw.maxS, cw.hasMinMax = s, s, true
		return
	}
	if s < cw.minS {
		cw.minS = s
	} else if s > cw.maxS {
		cw.maxS = s
	}
}

// full reports whether the current page should be cut.
func (cw *colWriter) full() bool {
	return len(cw.vals) >= pageTargetBytes || cw.count >= pageMaxValues
}

// afterBlock cuts the page when it is full and leaves dictionary mode
// when the dictionary has grown too big (pages already written keep
// their indices; the rest of the chunk is PLAIN).
func (cw *colWriter) afterBlock(enc *zstd.Encoder) {
	if cw.useDict && (len(cw.dictVals) > dictMaxEntries || cw.dictBytes > dictMaxBytes || cw.dictFailing()) {
		cw.cutPage(enc)
		cw.useDict = false
		return
	}
	if cw.full() {
		cw.cutPage(enc)
	}
}

// dictFailing reports whether a column on dictionary trial (one without
// the dict option) has shown itself too varied for a dictionary.
func (cw *colWriter) dictFailing() bool {
	if cw.c.dict {
		return false
	}
	seen := cw.values - cw.nulls + int64(cw.count-cw.pnull)
	n := int64(len(cw.dictVals))
	return seen >= dictProbe && n*10 > seen*9 || seen >= dictProbe2 && n*2 > seen
}

// cutPage encodes, compresses and appends the current page.
func (cw *colWriter) cutPage(enc *zstd.Encoder) {
	if cw.count == 0 {
		return
	}
	body := cw.scratch[:0]
	if cw.c.optional {
		body = append(body, 0, 0, 0, 0)
		body = appendLevels(body, cw.defs, cw.pnull)
		binary.LittleEndian.PutUint32(body, uint32(len(body)-4))
	}
	encoding := int32(encPlain)
	switch {
	case cw.useDict:
		encoding = encRLEDictionary
		w := max(1, bitWidth(uint32(max(0, len(cw.dictVals)-1))))
		body = append(body, byte(w))
		body = appendHybrid(body, cw.idx, w)
		cw.dictUsed = true
	case cw.c.physical() == typeInt64:
		encoding = encDeltaBinary
		body = appendDelta(body, cw.ints)
		cw.deltaUsed = true
	case cw.c.kind == kBool || cw.c.kind == kBoolPtr:
		body = appendBools(body, cw.vals)
		cw.plainUsed = true
	default:
		body = append(body, cw.vals...)
		cw.plainUsed = true
	}
	cw.scratch = body
	compressed := cw.compress(enc, body)
	h := cw.header()
	h.i32(1, pageData)
	h.i32(2, int32(len(body)))
	h.i32(3, int32(len(compressed)))
	h.begin(5)
	h.i32(1, int32(cw.count))
	h.i32(2, encoding)
	h.i32(3, encRLE)
	h.i32(4, encRLE)
	h.end()
	h.endTop()
	cw.pages = append(cw.pages, h.b...)
	cw.pages = append(cw.pages, compressed...)
	cw.uncomp += int64(len(h.b) + len(body))
	cw.values += int64(cw.count)
	cw.nulls += int64(cw.pnull)
	cw.defs, cw.vals, cw.idx, cw.ints = cw.defs[:0], cw.vals[:0], cw.idx[:0], cw.ints[:0]
	cw.count, cw.pnull = 0, 0
}

// appendLevels appends definition levels (bit width 1) in the hybrid
// encoding; all-present and all-NULL pages are one RLE run.
func appendLevels(dst []byte, defs []uint8, nulls int) []byte {
	switch nulls {
	case 0:
		dst = binary.AppendUvarint(dst, uint64(len(defs))<<1)
		return append(dst, 1)
	case len(defs):
		dst = binary.AppendUvarint(dst, uint64(len(defs))<<1)
		return append(dst, 0)
	}
	return appendHybrid(dst, defs, 1)
}

// seal cuts the last page and prepares the rest of the chunk: the
// dictionary page (in cw.dictPage) and the bloom filter (in cw.bloom).
// It needs no output, so the columns of a row group can be sealed in
// parallel.
func (cw *colWriter) seal(enc *zstd.Encoder) {
	cw.cutPage(enc)
	cw.dictPage = cw.dictPage[:0]
	if cw.dictUsed {
		body := cw.scratch[:0]
		for _, s := range cw.dictVals {
			body = binary.LittleEndian.AppendUint32(body, uint32(len(s)))
			body = append(body, s...)
		}
		cw.scratch = body
		compressed := cw.compress(enc, body)
		h := cw.header()
		h.i32(1, pageDictionary)
		h.i32(2, int32(len(body)))
		h.i32(3, int32(len(compressed)))
		h.begin(7)
		h.i32(1, int32(len(cw.dictVals)))
		h.i32(2, encPlain)
		h.end()
		h.endTop()
		cw.dictPage = append(cw.dictPage, h.b...)
		cw.dictPage = append(cw.dictPage, compressed...)
		cw.uncomp += int64(len(h.b) + len(body))
	}
	cw.bloom = cw.bloom[:0]
	if cw.c.bloom && len(cw.hashes) > 0 {
		filter := appendBloom(cw.scratch[:0], cw.hashes)
		cw.scratch = filter
		h := cw.header()
		h.i32(1, int32(len(filter)))
		h.begin(2) // algorithm: BLOCK
		h.begin(1)
		h.end()
		h.end()
		h.begin(3) // hash: XXHASH
		h.begin(1)
		h.end()
		h.end()
		h.begin(4) // compression: UNCOMPRESSED
		h.begin(1)
		h.end()
		h.end()
		h.endTop()
		cw.bloom = append(cw.bloom, h.b...)
		cw.bloom = append(cw.bloom, filter...)
	}
}

// emit writes the sealed chunk (dictionary page, then data pages) to out
// and returns its metadata. The bloom filter stays in cw.bloom for the
// caller to place after the row group.
func (cw *colWriter) emit(out *countingWriter) (chunkMeta, error) {
	m := chunkMeta{dictOffset: -1, numValues: cw.values, nullCount: cw.nulls}
	start := out.n
	if len(cw.dictPage) > 0 {
		m.dictOffset = out.n
		if err := out.write(cw.dictPage); err != nil {
			return m, err
		}
	}
	m.dataPageOffset = out.n
	if err := out.write(cw.pages); err != nil {
		return m, err
	}
	m.compressed = out.n - start
	m.uncompressed = cw.uncomp
	m.encodings = []int32{encRLE}
	if cw.plainUsed || cw.dictUsed {
		m.encodings = append(m.encodings, encPlain)
	}
	if cw.deltaUsed {
		m.encodings = append(m.encodings, encDeltaBinary)
	}
	if cw.dictUsed {
		m.encodings = append(m.encodings, encRLEDictionary)
	}
	cw.statistics(&m)
	return m, nil
}

// statistics fills min and max in their PLAIN encodings.
func (cw *colWriter) statistics(m *chunkMeta) {
	c := cw.c
	switch c.kind {
	case kString:
		if cw.hasMinMax && len(cw.minS) <= statsMaxStringLen && len(cw.maxS) <= statsMaxStringLen {
			m.min, m.max = []byte(cw.minS), []byte(cw.maxS)
		}
	case kInt32Ptr:
		if cw.hasMinMax {
			m.min = binary.LittleEndian.AppendUint32(nil, uint32(cw.minI))
			m.max = binary.LittleEndian.AppendUint32(nil, uint32(cw.maxI))
		}
	case kBool, kBoolPtr:
		if cw.boolSeen[0] || cw.boolSeen[1] {
			lo, hi := byte(1), byte(0)
			if cw.boolSeen[0] {
				lo = 0
			}
			if cw.boolSeen[1] {
				hi = 1
			}
			m.min, m.max = []byte{lo}, []byte{hi}
		}
	default:
		if cw.hasMinMax {
			m.min = binary.LittleEndian.AppendUint64(nil, uint64(cw.minI))
			m.max = binary.LittleEndian.AppendUint64(nil, uint64(cw.maxI))
		}
	}
}
