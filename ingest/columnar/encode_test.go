package columnar

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// decodeHybrid is a reference decoder of the RLE/bit-packed hybrid.
func decodeHybrid(t *testing.T, b []byte, width, n int) []uint32 {
	t.Helper()
	var out []uint32
	for len(out) < n {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			t.Fatalf("bad header after %d values", len(out))
		}
		b = b[k:]
		if h&1 == 0 {
			var v uint32
			vb := (width + 7) / 8
			for i := range vb {
				v |= uint32(b[i]) << (8 * i)
			}
			b = b[vb:]
			for range h >> 1 {
				out = append(out, v)
			}
			continue
		}
		count := int(h>>1) * 8
		var acc uint64
		nbits := 0
		for range count {
			for nbits < width {
				acc |= uint64(b[0]) << nbits
				b = b[1:]
				nbits += 8
			}
			out = append(out, uint32(acc&(1<<width-1)))
			acc >>= width
			nbits -= width
		}
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left over", len(b))
	}
	return out[:n]
}

func TestHybridRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		width := 1 + r.IntN(20)
		n := r.IntN(3000)
		vs := make([]uint32, n)
		for i := 0; i < n; {
			run := 1 + r.IntN(30)
			if r.IntN(3) == 0 {
				run = 1
			}
			v := r.Uint32() & (1<<width - 1)
			for k := 0; k < run && i < n; k++ {
				vs[i] = v
				i++
			}
		}
		enc := appendHybrid(nil, vs, width)
		if got := decodeHybrid(t, enc, width, n); !slices.Equal(got, vs) {
			t.Fatalf("trial %d (width %d, n %d): round trip differs", trial, width, n)
		}
	}
}

func TestLevelsRoundTrip(t *testing.T) {
	for _, defs := range [][]uint8{{1, 1, 1}, {0, 0}, {1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}} {
		nulls := 0
		for _, d := range defs {
			nulls += int(1 - d)
		}
		enc := appendLevels(nil, defs, nulls)
		got := decodeHybrid(t, enc, 1, len(defs))
		for i := range defs {
			if got[i] != uint32(defs[i]) {
				t.Fatalf("levels %v decoded as %v", defs, got)
			}
		}
	}
}

// decodeDelta is a reference decoder of DELTA_BINARY_PACKED.
func decodeDelta(t *testing.T, b []byte) []int64 {
	t.Helper()
	uv := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			t.Fatal("bad uvarint")
		}
		b = b[k:]
		return v
	}
	sv := func() int64 {
		v, k := binary.Varint(b)
		if k <= 0 {
			t.Fatal("bad varint")
		}
		b = b[k:]
		return v
	}
	block, minis, total := int(uv()), int(uv()), int(uv())
	first := sv()
	if total == 0 {
		return nil
	}
	out := []int64{first}
	per := block / minis
	for len(out) < total {
		minDelta := sv()
		widths := b[:minis]
		b = b[minis:]
		for m := 0; m < minis && len(out) < total; m++ {
			w := int(widths[m])
			var acc uint64
			nbits := 0
			pos := 0
			for range per {
				var v uint64
				got := 0
				for got < w {
					if nbits == 0 {
						acc = uint64(b[pos])
						pos++
						nbits = 8
					}
					take := min(w-got, nbits)
					v |= (acc & (1<<take - 1)) << got
					acc >>= take
					nbits -= take
					got += take
				}
				if len(out) < total {
					out = append(out, out[len(out)-1]+minDelta+int64(v))
				}
			}
			b = b[per*w/8:]
		}
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left over", len(b))
	}
	return out
}

func TestDeltaRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := [][]int64{nil, {7}, {math.MinInt64, math.MaxInt64, 0, -1, math.MaxInt64}}
	for range 500 {
		n := r.IntN(1000)
		vs := make([]int64, n)
		x := r.Int64()
		for i := range vs {
			switch r.IntN(4) {
			case 0:
				x = r.Int64() - r.Int64()
			default:
				x += r.Int64N(1 << r.IntN(40))
			}
			vs[i] = x
		}
		cases = append(cases, vs)
	}
	for i, vs := range cases {
		if got := decodeDelta(t, appendDelta(nil, vs)); !slices.Equal(got, vs) {
			t.Fatalf("case %d (%d values): round trip differs", i, len(vs))
		}
	}
}
