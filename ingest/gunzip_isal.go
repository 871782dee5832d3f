//go:build isal && cgo

package ingest

/*
#cgo LDFLAGS: -lisal
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>

// The inflate state lives in C memory and keeps pointers only into C
// memory (the input buffer) between calls; the output buffer is Go memory
// and is set and cleared within one call.
static int ls_inflate(struct inflate_state *s, unsigned char *out, unsigned int n, unsigned int *produced) {
	s->next_out = out;
	s->avail_out = n;
	int rc = isal_inflate(s);
	*produced = n - s->avail_out;
	s->next_out = NULL;
	s->avail_out = 0;
	return rc;
}

static void ls_reset(struct inflate_state *s) {
	unsigned char *in = s->next_in;
	unsigned int avail = s->avail_in;
	isal_inflate_reset(s);
	s->next_in = in;
	s->avail_in = avail;
	s->crc_flag = ISAL_GZIP_NO_HDR_VER;
}

static struct inflate_state *ls_new(void) {
	struct inflate_state *s = malloc(sizeof(struct inflate_state));
	if (s) {
		isal_inflate_init(s);
		s->crc_flag = ISAL_GZIP_NO_HDR_VER;
	}
	return s;
}

static int ls_finished(struct inflate_state *s) { return s->block_state == ISAL_BLOCK_FINISH; }
*/
import "C"

import (
	"bufio"
	"fmt"
	"io"
	"unsafe"
)

const gunzipEngine = "isa-l"

// isalInBuf is the size of the C input buffer of one reader.
const isalInBuf = 128 << 10

type isalReader struct {
	src    *bufio.Reader
	st     *C.struct_inflate_state
	in     unsafe.Pointer // C buffer of isalInBuf bytes
	inView []byte         // the same bytes as a Go slice
	srcEOF bool
	err    error
}

func newGunzipImpl(br *bufio.Reader) (io.ReadCloser, error) {
	if err := readGzipHeader(br); err != nil {
		return nil, err
	}
	st := C.ls_new()
	in := C.malloc(isalInBuf)
	if st == nil || in == nil {
		C.free(unsafe.Pointer(st))
		C.free(in)
		return nil, fmt.Errorf("gzip: out of memory for the inflate state")
	}
	z := &isalReader{src: br, st: st, in: in, inView: unsafe.Slice((*byte)(in), isalInBuf)}
	return z, nil
}

// refill moves the unread input to the front of the C buffer and tops it
// up from src.
func (z *isalReader) refill() error {
	avail := int(z.st.avail_in)
	if avail > 0 {
		off := uintptr(unsafe.Pointer(z.st.next_in)) - uintptr(z.in)
		copy(z.inView, z.inView[off:off+uintptr(avail)])
	}
	n, err := z.src.Read(z.inView[avail:])
	z.st.next_in = (*C.uchar)(z.in)
	z.st.avail_in = C.uint32_t(avail + n)
	if err == io.EOF {
		z.srcEOF = true
		return nil
	}
	return err
}

// ReadByte reads the unread input byte by byte (for member headers).
func (z *isalReader) ReadByte() (byte, error) {
	if z.st.avail_in == 0 {
		if z.srcEOF {
			return 0, io.EOF
		}
		if err := z.refill(); err != nil {
			return 0, err
		}
		if z.st.avail_in == 0 {
			if z.srcEOF {
				return 0, io.EOF
			}
			return 0, io.ErrNoProgress
		}
	}
	c := *(*byte)(unsafe.Pointer(z.st.next_in))
	z.st.next_in = (*C.uchar)(unsafe.Add(unsafe.Pointer(z.st.next_in), 1))
	z.st.avail_in--
	return c, nil
}

func (z *isalReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for stalls := 0; ; {
		if C.ls_finished(z.st) != 0 {
			// The member ended with its checksum verified: another one
			// may follow.
			switch err := readGzipHeader(z); err {
			case nil:
				C.ls_reset(z.st)
			case io.EOF:
				z.err = io.EOF
				return 0, io.EOF
			default:
				z.err = err
				return 0, err
			}
		}
		if z.st.avail_in == 0 && !z.srcEOF {
			if err := z.refill(); err != nil {
				z.err = err
				return 0, err
			}
		}
		var produced C.uint
		out := p[:min(len(p), 1<<30)]
		rc := C.ls_inflate(z.st, (*C.uchar)(unsafe.Pointer(&out[0])), C.uint(len(out)), &produced)
		n := int(produced)
		if rc < 0 {
			z.err = isalError(rc)
			return n, z.err
		}
		if n > 0 {
			return n, nil
		}
		if C.ls_finished(z.st) != 0 {
			continue
		}
		if z.srcEOF && z.st.avail_in == 0 {
			z.err = io.ErrUnexpectedEOF
			return 0, z.err
		}
		// No output and not finished: the inflater wants more input
		// (a header or symbol spans the buffer end). Refill regardless
		// of what is left, unless that cannot make progress.
		if stalls++; stalls > 2 {
			if int(z.st.avail_in) == isalInBuf || z.srcEOF {
				z.err = io.ErrUnexpectedEOF
				return 0, z.err
			}
		}
		if err := z.refill(); err != nil {
			z.err = err
			return 0, err
		}
	}
}

func (z *isalReader) Close() error {
	if z.st != nil {
		C.free(unsafe.Pointer(z.st))
		C.free(z.in)
		z.st, z.in, z.inView = nil, nil, nil
	}
	if z.err == nil {
		z.err = io.ErrClosedPipe
	}
	return nil
}

func isalError(rc C.int) error {
	switch rc {
	case C.ISAL_INCORRECT_CHECKSUM:
		return ErrGzipChecksum
	case C.ISAL_INVALID_WRAPPER, C.ISAL_UNSUPPORTED_METHOD:
		return ErrGzipHeader
	case C.ISAL_INVALID_LOOKBACK:
		return fmt.Errorf("flate: corrupt input (a back-reference before the start of the data)")
	case C.ISAL_INVALID_SYMBOL:
		return fmt.Errorf("flate: corrupt input (an invalid Huffman symbol)")
	default:
		return fmt.Errorf("flate: corrupt input (an invalid deflate block, ISA-L code %d)", int(rc))
	}
}
