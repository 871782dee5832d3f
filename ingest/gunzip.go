package ingest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Gzip inflate is the largest single cost of ingesting gzip logs. The
// default build inflates with klauspost/compress's flate (pure Go); a build with the isal
// tag (and cgo, and Debian's libisal-dev) inflates with Intel's ISA-L,
// which is several times faster on the same input. Both read the same
// byte streams the same way: multi-member files, header errors when the
// reader is made, checksum and length checked at every member's end,
// io.ErrUnexpectedEOF for a file cut short. TestGunzipMatchesGzip holds
// the two to that.

// ErrGzipChecksum is returned when a gzip member's CRC-32 or length does
// not match its data.
var ErrGzipChecksum = gzip.ErrChecksum

// ErrGzipHeader is returned for a gzip header that is not one.
var ErrGzipHeader = gzip.ErrHeader

// GunzipEngine names the gzip inflater this build uses.
const GunzipEngine = gunzipEngine

// newGunzip returns a reader of the decompressed stream of the gzip file
// in br, or an error when its first header is invalid.
func newGunzip(br *bufio.Reader) (io.ReadCloser, error) {
	return newGunzipImpl(br)
}

// gzipHeader flag bits (RFC 1952).
const (
	gzFlagHCRC    = 1 << 1
	gzFlagExtra   = 1 << 2
	gzFlagName    = 1 << 3
	gzFlagComment = 1 << 4
)

// readGzipHeader consumes one RFC 1952 member header from r. It returns
// io.EOF when r is at its end before the first byte (no further member),
// io.ErrUnexpectedEOF when the header is cut short and ErrGzipHeader when
// the bytes are not a gzip deflate header, a reserved flag is set, a name
// or comment is longer than 511 bytes or the header CRC does not match.
func readGzipHeader(r io.ByteReader) error {
	var crc uint32
	next := func() (byte, error) {
		c, err := r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		crc = crc32.Update(crc, crc32.IEEETable, []byte{c})
		return c, nil
	}
	var h [10]byte
	for i := range h {
		c, err := next()
		if err != nil {
			if i == 0 && err == io.ErrUnexpectedEOF {
				return io.EOF
			}
			return err
		}
		h[i] = c
	}
	if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
		return ErrGzipHeader
	}
	flg := h[3]
	if flg&gzFlagExtra != 0 {
		var l [2]byte
		for i := range l {
			c, err := next()
			if err != nil {
				return err
			}
			l[i] = c
		}
		for range binary.LittleEndian.Uint16(l[:]) {
			if _, err := next(); err != nil {
				return err
			}
		}
	}
	for _, f := range []byte{gzFlagName, gzFlagComment} {
		if flg&f == 0 {
			continue
		}
		for n := 0; ; n++ {
			if n >= 512 {
				return ErrGzipHeader
			}
			c, err := next()
			if err != nil {
				return err
			}
			if c == 0 {
				break
			}
		}
	}
	if flg>>5 != 0 {
		return ErrGzipHeader // reserved bits
	}
	if flg&gzFlagHCRC != 0 {
		want := uint16(crc)
		var l [2]byte
		for i := range l {
			c, err := r.ReadByte()
			if err != nil {
				return noEOF(err)
			}
			l[i] = c
		}
		if binary.LittleEndian.Uint16(l[:]) != want {
			return ErrGzipHeader
		}
	}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
