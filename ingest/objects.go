package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Object is one log object to ingest.
type Object struct {
	URI       string
	Key       string // the path used for layout detection, with forward slashes
	Size      int64
	ModTime   time.Time
	ETag      string
	VersionID string
	// rel is the key relative to the SOURCE it was listed from.
	rel string
	// open returns the raw bytes of the object.
	open func(ctx context.Context) (io.ReadCloser, error)
	// readerAt, when set, gives random access to the raw bytes.
	readerAt func(ctx context.Context) (io.ReaderAt, io.Closer, error)
}

// ErrS3Unsupported is returned by ListLocal for s3:// sources, which Run
// lists through the S3 API.
var ErrS3Unsupported = errors.New("s3:// sources are listed by leakscope ingest, not here; copy the objects to disk (aws s3 sync) to use them")

// ListLocal lists the files below each input path (files are taken as
// they are, folders are walked recursively), skipping dot files and the
// lake itself. The result is sorted by URI.
func ListLocal(inputs []string, lakeRoot string) ([]Object, error) {
	lakeAbs, _ := filepath.Abs(lakeRoot)
	var objs []Object
	seen := map[string]bool{}
	for _, in := range inputs {
		if strings.HasPrefix(in, "s3://") {
			return nil, fmt.Errorf("%s: %w", in, ErrS3Unsupported)
		}
		abs, err := filepath.Abs(in)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", in, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", in, err)
		}
		if !st.IsDir() {
			if !seen[abs] {
				seen[abs] = true
				objs = append(objs, localObject(abs, filepath.Base(abs), st))
			}
			continue
		}
		err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", p, err)
			}
			if d.IsDir() {
				if p != abs && (strings.HasPrefix(d.Name(), ".") || p == lakeAbs) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			if !seen[p] {
				seen[p] = true
				rel, _ := filepath.Rel(abs, p)
				objs = append(objs, localObject(p, filepath.ToSlash(rel), info))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.URI, b.URI) })
	return objs, nil
}

func localObject(path, rel string, info fs.FileInfo) Object {
	return Object{
		URI:     path,
		Key:     filepath.ToSlash(path),
		Size:    info.Size(),
		ModTime: info.ModTime().UTC().Truncate(time.Microsecond),
		rel:     rel,
		open:    func(context.Context) (io.ReadCloser, error) { return os.Open(path) },
		readerAt: func(context.Context) (io.ReaderAt, io.Closer, error) {
			f, err := os.Open(path)
			return f, f, err
		},
	}
}

var (
	// AWSLogs/<account>/<service>/<region>/YYYY/MM/DD/ with an optional
	// organisation level AWSLogs/o-xxxx/<account>/...
	awsLogsLayout = regexp.MustCompile(`(?:^|/)AWSLogs/(?:o-[a-z0-9]{4,32}/)?([0-9]{12})/(CloudTrail|CloudTrail-Digest|CloudTrail-Insight|vpcflowlogs)/([a-z0-9-]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/`)
	hiveAccount   = regexp.MustCompile(`(?:^|/)aws-account-id=([0-9]{12})/`)
	hiveRegion    = regexp.MustCompile(`(?:^|/)aws-region=([a-z0-9-]+)/`)
)

// awsLayout reads the account and region from the AWS delivery layouts
// that every source shares.
func awsLayout(key string) (account, region string) {
	if m := awsLogsLayout.FindStringSubmatch(key); m != nil {
		return m[1], m[3]
	}
	if m := hiveAccount.FindStringSubmatch(key); m != nil {
		account = m[1]
	}
	if m := hiveRegion.FindStringSubmatch(key); m != nil {
		region = m[1]
	}
	return account, region
}

// Decompression. Objects are sniffed by magic number: gzip (including
// multi-member files), zstd, or plain.

var (
	magicGzip    = []byte{0x1f, 0x8b}
	magicZstd    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicParquet = []byte("PAR1")
)

// ErrBomb is returned when an object decompresses far beyond any real log.
var ErrBomb = errors.New("decompressed size is more than 250 times the compressed size (a decompression bomb?); rest of object skipped")

type decompressor struct {
	io.Reader
	close func()
}

func decompress(br *bufio.Reader, raw *countingReader) (*decompressor, error) {
	head, _ := br.Peek(4)
	switch {
	case len(head) >= 2 && head[0] == magicGzip[0] && head[1] == magicGzip[1]:
		zr, err := newGunzip(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		return &decompressor{Reader: &bombGuard{r: zr, raw: raw}, close: func() { zr.Close() }}, nil
	case len(head) >= 4 && string(head) == string(magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, fmt.Errorf("zstd header: %w", err)
		}
		return &decompressor{Reader: &bombGuard{r: zr, raw: raw}, close: zr.Close}, nil
	}
	return &decompressor{Reader: br, close: func() {}}, nil
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress *atomic.Int64 // optional shared counter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress.Add(int64(n))
	}
	return n, err
}

// bombGuard stops reading when the output outgrows the input by a ratio no
// real log reaches (CloudTrail gzip is about 10-30x).
type bombGuard struct {
	r   io.Reader
	raw *countingReader
	n   int64
}

func (b *bombGuard) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > 64<<20 && b.n > 250*max(b.raw.n, 1) {
		return n, ErrBomb
	}
	return n, err
}
