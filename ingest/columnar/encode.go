package columnar

import (
	"encoding/binary"
	"math/bits"
)

// bitWidth is the number of bits needed for values up to max.
func bitWidth(max uint32) int { return bits.Len32(max) }

// appendHybrid appends vs in Parquet's RLE/bit-packed hybrid encoding
// with the given bit width (no length prefix): runs of 8 or more equal
// values become RLE runs, everything else bit-packed groups of 8 (the
// last group zero-padded; readers stop at the page's value count).
func appendHybrid[T uint8 | uint32](dst []byte, vs []T, width int) []byte {
	vbytes := (width + 7) / 8
	n := len(vs)
	// Pending bit-packed values start at lit and run to i.
	lit := 0
	flush := func(end int) {
		for lit < end {
			// A bit-packed run: at most 63 groups of 8 so the header is
			// one byte.
			groups := min((end-lit+7)/8, 63)
			dst = append(dst, byte(groups<<1|1))
			dst = packGroups(dst, vs[lit:min(lit+groups*8, n)], groups, width)
			lit += groups * 8
		}
	}
	for i := 0; i < n; {
		v := vs[i]
		j := i + 1
		for j < n && vs[j] == v {
			j++
		}
		// Only start an RLE run at a group boundary of the pending
		// literals, so literal groups never need padding mid-stream.
		if j-i >= 8 && (i-lit)%8 == 0 {
			flush(i)
			dst = binary.AppendUvarint(dst, uint64(j-i)<<1)
			for b := 0; b < vbytes; b++ {
				dst = append(dst, byte(uint32(v)>>(8*b)))
			}
			i, lit = j, j
			continue
		}
		if j-i >= 8 {
			// Fill the pending literal group up to a boundary, then
			// let the rest of the run be considered again.
			i += 8 - (i-lit)%8
			continue
		}
		i = j
	}
	flush(n)
	return dst
}

// packGroups bit-packs groups*8 values (vs may be shorter: zeros pad it),
// least significant bit first.
func packGroups[T uint8 | uint32](dst []byte, vs []T, groups, width int) []byte {
	var acc uint64
	nbits := 0
	for k := range groups * 8 {
		var v uint64
		if k < len(vs) {
			v = uint64(vs[k])
		}
		acc |= v << nbits
		nbits += width
		for nbits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nbits -= 8
		}
	}
	return dst
}

// appendBools appends PLAIN-encoded booleans: bit-packed, LSB first.
func appendBools(dst []byte, vs []byte) []byte {
	for i := 0; i < len(vs); i += 8 {
		var b byte
		for k, v := range vs[i:min(i+8, len(vs))] {
			b |= (v & 1) << k
		}
		dst = append(dst, b)
	}
	return dst
}

// XXH64 (seed 0): the hash Parquet bloom filters are defined over.
const (
	xxP1 uint64 = 11400714785074694791
	xxP2 uint64 = 14029467366897019727
	xxP3 uint64 = 1609587929392839161
	xxP4 uint64 = 9650029242287828579
	xxP5 uint64 = 2870177450012600261
)

func xxRound(acc, in uint64) uint64 {
	acc += in * xxP2
	return bits.RotateLeft64(acc, 31) * xxP1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*xxP1 + xxP4
}

// xxh64 hashes b with XXH64 and seed 0.
func xxh64(b []byte) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		p1, p2 := xxP1, xxP2 // variables: the seed sums wrap around
		v1, v2, v3, v4 := p1+p2, p2, uint64(0), -p1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = xxP5
	}
	h += uint64(n)
	for len(b) >= 8 {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*xxP1 + xxP4
		b = b[8:]
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * xxP1
		h = bits.RotateLeft64(h, 23)*xxP2 + xxP3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * xxP5
		h = bits.RotateLeft64(h, 11) * xxP1
	}
	h ^= h >> 33
	h *= xxP2
	h ^= h >> 29
	h *= xxP3
	h ^= h >> 32
	return h
}

// Split-block bloom filter (Parquet spec): 256-bit blocks of eight 32-bit
// words; a value sets one bit in each word of the block its hash picks.
var sbbfSalt = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

// bloomBitsPerValue sizes filters: about 1 % false positives.
const bloomBitsPerValue = 10

// appendBloom appends the filter holding hashes, sized for len(hashes)
// distinct values (a power of two number of bytes between 32 and 1 MiB),
// as little-endian words.
func appendBloom(dst []byte, hashes []uint64) []byte {
	size := 32
	for size < 1<<20 && size*8 < len(hashes)*bloomBitsPerValue {
		size <<= 1
	}
	blocks := uint64(size / 32)
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	words := dst[start:]
	for _, h := range hashes {
		blk := words[((h>>32)*blocks>>32)*32:]
		key := uint32(h)
		for i, salt := range sbbfSalt {
			w := blk[i*4 : i*4+4]
			binary.LittleEndian.PutUint32(w, binary.LittleEndian.Uint32(w)|1<<((key*salt)>>27))
		}
	}
	return dst
}

// DELTA_BINARY_PACKED layout: blocks of 128 values in 4 miniblocks of 32.
const (
	deltaBlock      = 128
	deltaMiniblocks = 4
	deltaMini       = deltaBlock / deltaMiniblocks
)

// appendDelta appends vs in the DELTA_BINARY_PACKED encoding: a header,
// then per block of 128 deltas the minimum delta and four miniblocks of
// 32 bit-packed (delta - minimum) values. Arithmetic wraps, as the format
// specifies, so any int64 sequence round-trips. Sorted times, offsets and
// line numbers shrink to a few bits per value.
func appendDelta(dst []byte, vs []int64) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaMiniblocks)
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	if len(vs) == 0 {
		return binary.AppendVarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, vs[0])
	var deltas [deltaBlock]uint64
	for i := 1; i < len(vs); i += deltaBlock {
		n := min(deltaBlock, len(vs)-i)
		minDelta := int64(vs[i] - vs[i-1])
		for k := range n {
			d := vs[i+k] - vs[i+k-1]
			deltas[k] = uint64(d)
			minDelta = min(minDelta, d)
		}
		dst = binary.AppendVarint(dst, minDelta)
		var widths [deltaMiniblocks]int
		for m := range deltaMiniblocks {
			var or uint64
			for k := m * deltaMini; k < min((m+1)*deltaMini, n); k++ {
				deltas[k] -= uint64(minDelta)
				or |= deltas[k]
			}
			widths[m] = bits.Len64(or)
			dst = append(dst, byte(widths[m]))
		}
		for m := range deltaMiniblocks {
			if m*deltaMini >= n {
				break // unneeded miniblocks of the last block take no bytes
			}
			dst = packMini(dst, deltas[m*deltaMini:(m+1)*deltaMini], min(n-m*deltaMini, deltaMini), widths[m])
		}
	}
	return dst
}

// packMini bit-packs the first n of 32 values at the given width (the
// rest as zeros), least significant bit first: 4*width bytes.
func packMini(dst []byte, vs []uint64, n, width int) []byte {
	if width == 0 {
		return dst
	}
	var acc uint64 // bits not yet written
	nbits := 0
	for k := range deltaMini {
		var v uint64
		if k < n {
			v = vs[k]
		}
		acc |= v << nbits
		if nbits+width >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			spill := nbits + width - 64
			if spill > 0 {
				acc = v >> (width - spill)
			} else {
				acc = 0
			}
			nbits = spill
		} else {
			nbits += width
		}
	}
	// 32 values * width bits is a multiple of 8 bytes' worth only when
	// width is even; flush the remaining whole bytes.
	for ; nbits > 0; nbits -= 8 {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}
