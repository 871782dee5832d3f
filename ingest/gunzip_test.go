package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// gzipMember compresses data as one gzip member with the given header
// fields and level.
func gzipMember(t testing.TB, data []byte, level int, name, comment string, extra []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Name, zw.Comment, zw.Extra = name, comment, extra
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// logText is compressible, log-like text of about n bytes.
func logText(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "2 123456789012 eni-%08x 10.0.%d.%d 172.31.%d.%d %d 443 6 %d %d 1620000000 1620000060 ACCEPT OK\n",
			r.Uint32(), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(65536), r.IntN(100), r.IntN(100000))
	}
	return b.Bytes()[:n]
}

// gunzipAll reads everything newGunzip yields from in, chunk bytes at a
// time.
func gunzipAll(in []byte, chunk int) ([]byte, error) {
	zr, err := newGunzip(bufio.NewReaderSize(bytes.NewReader(in), 4096))
	if err != nil {
		return nil, fmt.Errorf("gzip header: %w", err)
	}
	defer zr.Close()
	var out bytes.Buffer
	p := make([]byte, chunk)
	for {
		n, err := zr.Read(p)
		out.Write(p[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// gzipAll is the reference: package gzip, multistream.
func gzipAll(in []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, fmt.Errorf("gzip header: %w", err)
	}
	return io.ReadAll(zr)
}

func TestGunzipMatchesGzip(t *testing.T) {
	t.Logf("gzip engine: %s", GunzipEngine)
	r := rand.New(rand.NewPCG(1, 2))
	var files [][]byte
	var want [][]byte
	for _, n := range []int{0, 1, 100, 65535, 65536, 300_000, 2_000_000} {
		for _, level := range []int{gzip.NoCompression, gzip.HuffmanOnly, gzip.BestSpeed, gzip.DefaultCompression, gzip.BestCompression} {
			data := logText(r, n)
			files = append(files, gzipMember(t, data, level, "", "", nil))
			want = append(want, data)
		}
	}
	// Header fields, and several members in one file.
	a, b, c := logText(r, 5000), logText(r, 200_000), logText(r, 1)
	multi := slices3(gzipMember(t, a, 6, "a.log", "first", []byte("xx")), gzipMember(t, b, 1, "", "", nil), gzipMember(t, c, 9, "c", "", nil))
	files = append(files, multi)
	want = append(want, slices3(a, b, c))
	// Random binary data (incompressible: stored blocks).
	rnd := make([]byte, 500_000)
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	files = append(files, gzipMember(t, rnd, 6, "", "", nil))
	want = append(want, rnd)

	for i, f := range files {
		for _, chunk := range []int{1, 7, 4096, 1 << 20} {
			if chunk == 1 && len(f) > 100_000 {
				continue
			}
			got, err := gunzipAll(f, chunk)
			if err != nil || !bytes.Equal(got, want[i]) {
				t.Fatalf("file %d chunk %d: %d bytes (want %d), err %v", i, chunk, len(got), len(want[i]), err)
			}
		}
	}
}

func slices3(a, b, c []byte) []byte {
	return append(append(append([]byte(nil), a...), b...), c...)
}

// TestGunzipDamage cuts and corrupts gzip files: the reader must fail
// exactly when package gzip does, yield only a prefix of the true data
// before failing, and report a cut file as io.ErrUnexpectedEOF.
func TestGunzipDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := logText(r, 40_000)
	f := slices3(gzipMember(t, data[:30_000], 6, "n", "c", []byte{1, 2, 3}), gzipMember(t, data[30_000:], 1, "", "", nil), nil)

	// A file cut at a member boundary is whole; cut anywhere else it is
	// io.ErrUnexpectedEOF (package gzip reports a cut in a name or
	// comment as a clean end, which is why this is not compared to it).
	first := len(gzipMember(t, data[:30_000], 6, "n", "c", []byte{1, 2, 3}))
	for cut := 0; cut <= len(f); cut++ {
		got, err := gunzipAll(f[:cut], 4096)
		if !bytes.HasPrefix(data, got) {
			t.Fatalf("cut at %d: output is not a prefix of the data", cut)
		}
		switch cut {
		case 0:
			if !errors.Is(err, io.EOF) {
				t.Fatalf("empty file: %v, want EOF", err)
			}
		case first, len(f):
			if want := map[int]int{first: 30_000, len(f): len(data)}[cut]; err != nil || len(got) != want {
				t.Fatalf("cut at member end %d: %d bytes, %v", cut, len(got), err)
			}
		default:
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d: %v, want unexpected EOF", cut, err)
			}
		}
	}

	for i := range 3000 {
		bad := bytes.Clone(f)
		pos := r.IntN(len(bad))
		bad[pos] ^= byte(1 + r.IntN(255))
		got, err := gunzipAll(bad, 4096)
		ref, refErr := gzipAll(bad)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("flip %d at %d: err %v, package gzip %v", i, pos, err, refErr)
		}
		if err == nil && !bytes.Equal(got, ref) {
			t.Fatalf("flip %d at %d: outputs differ", i, pos)
		}
	}

	// Bytes after the last member that are not a gzip header.
	for _, tail := range [][]byte{{0}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("garbage after the member")} {
		in := append(bytes.Clone(f), tail...)
		got, err := gunzipAll(in, 4096)
		_, refErr := gzipAll(in)
		if err == nil || refErr == nil || !bytes.Equal(got, data) {
			t.Fatalf("tail %q: %d bytes, err %v, package gzip %v", tail, len(got), err, refErr)
		}
	}
}

func TestReadGzipHeader(t *testing.T) {
	ok := gzipMember(t, []byte("x"), 6, "name.log", "a comment", []byte("extra"))
	if err := readGzipHeader(bufio.NewReader(bytes.NewReader(ok))); err != nil {
		t.Fatalf("valid header: %v", err)
	}
	hcrc := []byte{0x1f, 0x8b, 8, gzFlagHCRC, 0, 0, 0, 0, 0, 255}
	sum := crc32.ChecksumIEEE(hcrc)
	good := append(bytes.Clone(hcrc), byte(sum), byte(sum>>8))
	if err := readGzipHeader(bytes.NewReader(good)); err != nil {
		t.Fatalf("header CRC: %v", err)
	}
	good[len(good)-1] ^= 1
	if err := readGzipHeader(bytes.NewReader(good)); !errors.Is(err, ErrGzipHeader) {
		t.Fatalf("bad header CRC: %v", err)
	}
	long := append([]byte{0x1f, 0x8b, 8, gzFlagName, 0, 0, 0, 0, 0, 255}, bytes.Repeat([]byte("n"), 600)...)
	if err := readGzipHeader(bytes.NewReader(append(long, 0))); !errors.Is(err, ErrGzipHeader) {
		t.Fatalf("600-byte name: %v", err)
	}
	for _, c := range []struct {
		in   []byte
		want error
	}{
		{nil, io.EOF},
		{[]byte{0x1f}, io.ErrUnexpectedEOF},
		{ok[:12], io.ErrUnexpectedEOF},
		{[]byte("not a gzip header"), ErrGzipHeader},
		{[]byte{0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0}, ErrGzipHeader},
	} {
		if err := readGzipHeader(bytes.NewReader(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.in, err, c.want)
		}
	}
}

// BenchmarkGunzip inflates a gzip flow-log-like text of 64 MB.
func BenchmarkGunzip(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	data := logText(r, 64<<20)
	f := gzipMember(b, data, gzip.DefaultCompression, "", "", nil)
	b.Run(GunzipEngine, func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			zr, err := newGunzip(bufio.NewReaderSize(bytes.NewReader(f), 256<<10))
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, zr); err != nil || n != int64(len(data)) {
				b.Fatal(n, err)
			}
			zr.Close()
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			zr, _ := gzip.NewReader(bytes.NewReader(f))
			if n, err := io.Copy(io.Discard, zr); err != nil || n != int64(len(data)) {
				b.Fatal(err)
			}
		}
	})
}
