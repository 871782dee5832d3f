//go:build !isal || !cgo

package ingest

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
)

const gunzipEngine = "klauspost/compress"

// goGunzip inflates member by member with klauspost's flate, reading the
// headers with readGzipHeader so that both engines agree on them.
type goGunzip struct {
	br   *bufio.Reader
	fr   io.ReadCloser
	crc  uint32
	size uint32
	err  error
}

func newGunzipImpl(br *bufio.Reader) (io.ReadCloser, error) {
	if err := readGzipHeader(br); err != nil {
		return nil, err
	}
	return &goGunzip{br: br, fr: flate.NewReader(br)}, nil
}

func (z *goGunzip) Read(p []byte) (int, error) {
	for z.err == nil {
		n, err := z.fr.Read(p)
		z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:n])
		z.size += uint32(n)
		switch {
		case err == io.EOF:
			z.err = z.nextMember()
		case err != nil:
			z.err = noEOF(err)
		}
		if n > 0 || len(p) == 0 {
			if z.err == io.EOF {
				return n, nil
			}
			return n, z.err
		}
	}
	return 0, z.err
}

// nextMember checks the trailer of the member just read and starts the
// next one; io.EOF when there is none.
func (z *goGunzip) nextMember() error {
	var t [8]byte
	if _, err := io.ReadFull(z.br, t[:]); err != nil {
		return noEOF(err)
	}
	if binary.LittleEndian.Uint32(t[:4]) != z.crc || binary.LittleEndian.Uint32(t[4:]) != z.size {
		return ErrGzipChecksum
	}
	if err := readGzipHeader(z.br); err != nil {
		return err
	}
	z.crc, z.size = 0, 0
	return z.fr.(flate.Resetter).Reset(z.br, nil)
}

func (z *goGunzip) Close() error {
	if z.err == nil {
		z.err = io.ErrClosedPipe
	}
	return z.fr.Close()
}
