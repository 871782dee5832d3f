package vpcflow

import (
	"bytes"
	"io"

	"github.com/leakscope/leakscope/ingest"
)

const (
	// maxLine bounds one record; a longer line is quarantined and skipped.
	// The longest AWS record (v8 with ECS ARNs) is well under 2 KiB.
	maxLine = 64 << 10
	// Chunks start small (most objects are small) and double up to maxChunk.
	minChunk = 64 << 10
	maxChunk = 1 << 20
)

// lineReader splits a stream into lines without copying them.
//
// It reads into chunks that it never writes again below the read position,
// so a returned line stays valid, unchanged, for as long as anyone holds it:
// the decoder makes its strings point into the chunk (see unsafeString).
// When a chunk is full, the partial line moves to a fresh chunk and the old
// one is left to the garbage collector once no row refers to it.
type lineReader struct {
	r       io.Reader
	buf     []byte
	pos     int   // start of unconsumed data
	end     int   // end of valid data
	scanned int   // bytes after pos known to hold no '\n'
	off     int64 // stream offset of buf[pos]
	line    int64 // lines returned so far
	err     error // first read error; io.EOF at the end
	chunk   int   // size of the next chunk
	scratch []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, chunk: minChunk}
}

// next returns the next line without its "\n", its 1-based number and the
// offset of its first byte. long reports a line longer than maxLine; line
// then holds at most ingest.MaxSnippet bytes of it (a copy). ok is false at
// the end of the stream (lr.err then says whether it ended well).
func (lr *lineReader) next() (line []byte, no, off int64, long, ok bool) {
	for {
		data := lr.buf[lr.pos:lr.end]
		if i := bytes.IndexByte(data[lr.scanned:], '\n'); i >= 0 {
			n := lr.scanned + i
			return lr.take(data[:n], n+1)
		}
		lr.scanned = len(data)
		if len(data) > maxLine {
			return lr.skipLong(data)
		}
		if lr.err != nil {
			if len(data) == 0 {
				return nil, 0, 0, false, false
			}
			return lr.take(data, len(data))
		}
		lr.fill()
	}
}

func (lr *lineReader) take(line []byte, consumed int) ([]byte, int64, int64, bool, bool) {
	lr.line++
	off := lr.off
	lr.pos += consumed
	lr.off += int64(consumed)
	lr.scanned = 0
	if len(line) > maxLine {
		return ingest.Snip(line), lr.line, off, true, true
	}
	return line, lr.line, off, false, true
}

// skipLong consumes a line longer than maxLine whose end is not buffered
// yet, reading ahead in a scratch buffer so memory stays bounded.
func (lr *lineReader) skipLong(data []byte) ([]byte, int64, int64, bool, bool) {
	snip := ingest.Snip(data)
	lr.line++
	no, off := lr.line, lr.off
	lr.off += int64(len(data))
	lr.pos, lr.scanned = lr.end, 0
	if lr.scratch == nil {
		lr.scratch = make([]byte, 32<<10)
	}
	for lr.err == nil {
		n, err := lr.read(lr.scratch)
		if i := bytes.IndexByte(lr.scratch[:n], '\n'); i >= 0 {
			lr.off += int64(i + 1)
			lr.keep(lr.scratch[i+1 : n])
			if err != nil {
				lr.err = err
			}
			break
		}
		lr.off += int64(n)
		if err != nil {
			lr.err = err
		}
	}
	return snip, no, off, true, true
}

// keep appends p to the buffered data (which is empty).
func (lr *lineReader) keep(p []byte) {
	if len(lr.buf)-lr.end < len(p) {
		lr.buf = make([]byte, max(lr.chunk, 2*len(p)))
		lr.pos, lr.end = 0, 0
	}
	lr.end += copy(lr.buf[lr.end:], p)
}

// fill reads more data, moving the partial line to a new chunk when the
// current one is full.
func (lr *lineReader) fill() {
	if lr.end == len(lr.buf) {
		size := max(lr.chunk, 2*(lr.end-lr.pos))
		nb := make([]byte, size)
		lr.end = copy(nb, lr.buf[lr.pos:lr.end])
		lr.pos, lr.buf = 0, nb
		lr.chunk = min(2*lr.chunk, maxChunk)
	}
	n, err := lr.read(lr.buf[lr.end:])
	lr.end += n
	if err != nil {
		lr.err = err
	}
}

// read is r.Read that turns endless empty reads into io.ErrNoProgress.
func (lr *lineReader) read(p []byte) (int, error) {
	for range 100 {
		n, err := lr.r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// peek buffers at least n bytes (fewer at the end of the stream) and
// returns the buffered data.
func (lr *lineReader) peek(n int) []byte {
	for lr.end-lr.pos < n && lr.err == nil {
		lr.fill()
	}
	return lr.buf[lr.pos:lr.end]
}

// rest returns a reader of everything not yet consumed.
func (lr *lineReader) rest() io.Reader {
	if lr.err != nil && lr.err != io.EOF {
		return io.MultiReader(bytes.NewReader(lr.buf[lr.pos:lr.end]), errReader{lr.err})
	}
	if lr.err == io.EOF {
		return bytes.NewReader(lr.buf[lr.pos:lr.end])
	}
	return io.MultiReader(bytes.NewReader(lr.buf[lr.pos:lr.end]), lr.r)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
