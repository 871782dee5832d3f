package ingest

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// S3 listing. A SOURCE s3://bucket/prefix is a folder: every key below
// prefix/ (and the key prefix itself, when it is an object). Without a
// selection it is one ListObjectsV2 pagination. With --from/--to (or
// account/region filters) the tree is first walked level by level with
// delimiter listings that discover accounts, organisation ids, services
// and regions, skip filtered accounts and regions, and stop at the date
// levels, which become one key prefix per selected day:
//
//	AWSLogs/[o-xxxx/]<account>/CloudTrail/<region>/YYYY/MM/DD/
//	AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/
//	AWSLogs/aws-account-id=<account>/.../year=YYYY/month=MM/day=DD/
//	<prefix><account>/<region>/<bucket>/YYYY/MM/DD/     (S3 access logs, partitioned)
//	<prefix>YYYY-MM-DD-                                  (S3 access logs, date-based)
//
// so a one-week investigation lists a week, never five years. Only those
// day prefixes are listed in full.

// maxDiscoverDepth bounds the delimiter walk; deeper trees are listed in
// full below that depth.
const maxDiscoverDepth = 10

// s3ListParallel bounds concurrent list requests.
const s3ListParallel = 16

type s3Lister struct {
	client *s3.Client
	bucket string
	root   string // the SOURCE prefix: "" or ending in "/"
	sel    *Selection
	skip   func(key string) bool // keys of the lake itself
}

var (
	yearDir     = regexp.MustCompile(`^(?:19|20)[0-9]{2}$`)
	hiveYearDir = regexp.MustCompile(`^year=((?:19|20)[0-9]{2})$`)
	stampName   = regexp.MustCompile(`^(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]-[0-2][0-9]-[0-5][0-9]-[0-6][0-9]-`)
	accountDir  = regexp.MustCompile(`^(?:aws-account-id=)?([0-9]{12})$`)
	regionDir   = regexp.MustCompile(`^(?:aws-region=)?([a-z]{2}(?:-[a-z]+)+-[0-9]+)$`)
)

// listS3 lists the objects of one s3:// SOURCE.
func listS3(ctx context.Context, clients *s3Clients, uri string, sel *Selection, skip func(bucket, key string) bool) ([]Object, error) {
	bucket, prefix, err := parseS3URI(uri)
	if err != nil {
		return nil, err
	}
	cl, err := clients.client(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	l := &s3Lister{client: cl, bucket: bucket, sel: sel, skip: func(key string) bool { return skip(bucket, key) }}
	var objs []Object
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		// s3://bucket/key names an object, or a folder without its slash.
		head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &prefix})
		switch {
		case err == nil:
			l.root = prefix[:strings.LastIndexByte(prefix, '/')+1]
			objs = append(objs, l.object(types.Object{Key: &prefix, ETag: head.ETag, Size: head.ContentLength, LastModified: head.LastModified}))
		case !isNotFound(err):
			return nil, fmt.Errorf("source %s: %w", uri, s3Hint(err))
		}
		prefix += "/"
	}
	l.root = prefix
	var leaves []string
	if sel.narrows() {
		var loose []Object
		leaves, loose, err = l.discover(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", uri, err)
		}
		objs = append(objs, loose...)
	} else {
		leaves = []string{prefix}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s3ListParallel)
	for _, p := range leaves {
		g.Go(func() error {
			got, err := l.listAll(gctx, p)
			mu.Lock()
			objs = append(objs, got...)
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.URI, b.URI) })
	objs = slices.CompactFunc(objs, func(a, b Object) bool { return a.URI == b.URI })
	return objs, nil
}

// listAll lists every object below prefix.
func (l *s3Lister) listAll(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	pg := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &prefix})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", l.bucket, prefix, s3Hint(err))
		}
		for _, o := range page.Contents {
			if l.wanted(aws.ToString(o.Key)) {
				out = append(out, l.object(o))
			}
		}
	}
	return out, nil
}

// wanted skips folder markers, dot files and the lake's own keys.
func (l *s3Lister) wanted(key string) bool {
	if key == "" || strings.HasSuffix(key, "/") || l.skip(key) {
		return false
	}
	for _, el := range strings.Split(strings.TrimPrefix(key, l.root), "/") {
		if strings.HasPrefix(el, ".") {
			return false
		}
	}
	return true
}

// discover walks the tree below root with delimiter listings, level by
// level, and returns the prefixes to list in full and the objects found
// on the way.
func (l *s3Lister) discover(ctx context.Context, root string) (leaves []string, loose []Object, err error) {
	days := l.sel.days()
	level := []string{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth >= maxDiscoverDepth {
			return append(leaves, level...), loose, nil
		}
		var next []string
		var mu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(s3ListParallel)
		for _, p := range level {
			g.Go(func() error {
				kids, lv, objs, err := l.expand(gctx, p, days)
				mu.Lock()
				defer mu.Unlock()
				next = append(next, kids...)
				leaves = append(leaves, lv...)
				loose = append(loose, objs...)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, nil, err
		}
		slices.Sort(next)
		level = next
	}
	slices.Sort(leaves)
	return leaves, loose, nil
}

// expand lists one level below p: sub-folders to walk next, the date
// prefixes to list, and loose objects.
func (l *s3Lister) expand(ctx context.Context, p string, days []time.Time) (kids, leaves []string, loose []Object, err error) {
	years, hiveYears := map[int]bool{}, map[int]bool{}
	pg := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &p, Delimiter: aws.String("/")})
	for first := true; pg.HasMorePages(); first = false {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("list s3://%s/%s: %w", l.bucket, p, s3Hint(err))
		}
		if first && slices.ContainsFunc(page.Contents, func(o types.Object) bool {
			return stampName.MatchString(strings.TrimPrefix(aws.ToString(o.Key), p))
		}) {
			// S3 access logs in the date-based layout: one prefix per day
			// (or the whole folder without dates).
			if days == nil {
				return nil, []string{p}, nil, nil
			}
			for _, d := range days {
				leaves = append(leaves, p+d.Format("2006-01-02-"))
			}
			return nil, leaves, nil, nil
		}
		for _, o := range page.Contents {
			if l.wanted(aws.ToString(o.Key)) {
				loose = append(loose, l.object(o))
			}
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), p), "/")
			var year int
			switch {
			case yearDir.MatchString(name):
				fmt.Sscan(name, &year)
				years[year] = true
				continue
			case hiveYearDir.MatchString(name):
				fmt.Sscan(name[len("year="):], &year)
				hiveYears[year] = true
				continue
			case strings.HasPrefix(name, ".") || l.skip(p+name+"/"):
				continue
			}
			if m := accountDir.FindStringSubmatch(name); m != nil && !l.sel.keepAccount(m[1]) {
				continue
			}
			if m := regionDir.FindStringSubmatch(name); m != nil && !l.sel.keepRegion(m[1]) {
				continue
			}
			kids = append(kids, p+name+"/")
		}
	}
	for _, y := range sortedYears(years) {
		if days == nil {
			leaves = append(leaves, fmt.Sprintf("%s%04d/", p, y))
		}
	}
	for _, y := range sortedYears(hiveYears) {
		if days == nil {
			leaves = append(leaves, fmt.Sprintf("%syear=%04d/", p, y))
		}
	}
	for _, d := range days {
		if years[d.Year()] {
			leaves = append(leaves, p+d.Format("2006/01/02/"))
		}
		if hiveYears[d.Year()] {
			leaves = append(leaves, p+d.Format("year=2006/month=01/day=02/"))
		}
	}
	return kids, leaves, loose, nil
}

func sortedYears(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for y := range m {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

// object makes an Object of a listed key. Reads are pinned to the listed
// ETag, so the bytes ingested are the bytes the manifest records.
func (l *s3Lister) object(o types.Object) Object {
	key := aws.ToString(o.Key)
	etag := strings.Trim(aws.ToString(o.ETag), `"`)
	size := aws.ToInt64(o.Size)
	get := s3Getter(l.client, l.bucket, key, etag)
	return Object{
		URI:     "s3://" + l.bucket + "/" + key,
		Key:     key,
		Size:    size,
		ModTime: aws.ToTime(o.LastModified).UTC().Truncate(time.Microsecond),
		ETag:    etag,
		rel:     strings.TrimPrefix(key, l.root),
		open: func(ctx context.Context) (io.ReadCloser, error) {
			return openS3Body(func(off, n int64) (*s3.GetObjectOutput, error) { return get(ctx, off, n) })
		},
		readerAt: func(ctx context.Context) (io.ReaderAt, io.Closer, error) {
			fetch := func(off, n int64) (*s3.GetObjectOutput, error) { return get(ctx, off, n) }
			return &s3ReaderAt{get: fetch, size: size}, io.NopCloser(nil), nil
		},
	}
}

// s3Getter returns a function fetching the object from byte off (n
// bytes; n < 0: to the end).
func s3Getter(cl *s3.Client, bucket, key, etag string) func(ctx context.Context, off, n int64) (*s3.GetObjectOutput, error) {
	uri := "s3://" + bucket + "/" + key
	return func(ctx context.Context, off, n int64) (*s3.GetObjectOutput, error) {
		in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
		if etag != "" {
			in.IfMatch = aws.String(`"` + etag + `"`)
		}
		switch {
		case n >= 0:
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
		case off > 0:
			in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
		}
		out, err := cl.GetObject(ctx, in)
		switch {
		case err == nil:
			return out, nil
		case isPreconditionFailed(err):
			return nil, fmt.Errorf("get %s: the object changed while it was read; the next run ingests it again", uri)
		default:
			return nil, fmt.Errorf("get %s: %w", uri, s3Hint(err))
		}
	}
}

// s3Body streams an object and, when the connection breaks mid-object,
// continues with a ranged GET from the byte where it broke (the SDK
// retries a request, not a body half read).
type s3Body struct {
	get       s3Fetch
	body      io.ReadCloser
	off       int64
	resumes   int
	versionID string
}

// s3Fetch fetches n bytes of an object from byte off (n < 0: to the end).
type s3Fetch func(off, n int64) (*s3.GetObjectOutput, error)

const maxResumes = 5

func openS3Body(get s3Fetch) (*s3Body, error) {
	out, err := get(0, -1)
	if err != nil {
		return nil, err
	}
	return &s3Body{get: get, body: out.Body, versionID: aws.ToString(out.VersionId)}, nil
}

func (b *s3Body) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.off += int64(n)
		if err == nil || err == io.EOF || b.resumes >= maxResumes {
			return n, err
		}
		b.body.Close()
		out, gerr := b.get(b.off, -1)
		if gerr != nil {
			b.body = io.NopCloser(eofReader{})
			return n, fmt.Errorf("%w (resuming at byte %d: %v)", err, b.off, gerr)
		}
		b.body = out.Body
		b.resumes++
		if n > 0 {
			return n, nil
		}
	}
}

func (b *s3Body) Close() error { return b.body.Close() }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// s3ReaderAt gives random access to an object with ranged GETs (for
// Parquet-delivered flow logs), reading at least s3Block bytes at a time
// and keeping the last two blocks.
type s3ReaderAt struct {
	get  s3Fetch
	size int64

	mu     sync.Mutex
	blocks [2]struct {
		off  int64
		data []byte
	}
	next int
}

const s3Block = 1 << 20

func (r *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	n, err := r.read(p[:want], off)
	if err == nil && want < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}

func (r *s3ReaderAt) read(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	r.mu.Lock()
	for _, b := range r.blocks {
		if b.data != nil && off >= b.off && end <= b.off+int64(len(b.data)) {
			n := copy(p, b.data[off-b.off:])
			r.mu.Unlock()
			return n, nil
		}
	}
	r.mu.Unlock()
	if len(p) >= s3Block {
		return r.fetch(p, off)
	}
	buf := make([]byte, min(s3Block, r.size-off))
	if _, err := r.fetch(buf, off); err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.blocks[r.next].off, r.blocks[r.next].data = off, buf
	r.next = (r.next + 1) % len(r.blocks)
	r.mu.Unlock()
	return copy(p, buf), nil
}

func (r *s3ReaderAt) fetch(p []byte, off int64) (int, error) {
	out, err := r.get(off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return io.ReadFull(out.Body, p)
}
