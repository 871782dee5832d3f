package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Lake is a lake below s3://bucket/prefix.
//
// S3 has no rename, but every PUT (and every completed multipart upload)
// is atomic: an object is either absent or complete. Files are uploaded
// under _leakscope/staging/, which Hive-style readers ignore; the commit
// record is then PUT into _leakscope/manifest/ (the commit point); and
// the staged files are published with a server-side CopyObject to their
// final keys followed by a DeleteObject of the staged key. A crash before
// the commit record leaves only staging (deleted by the next run); a
// crash after it leaves a commit the next run rolls forward. No reader
// ever sees part of a Parquet file.
type s3Lake struct {
	root     string
	bucket   string
	prefix   string // "" or ending in "/"
	client   *s3.Client
	uploader *manager.Uploader
	log      *slog.Logger
}

// lockTTL is how long an S3 lock stays valid without a heartbeat; a lock
// older than that is taken to belong to a dead run and is taken over.
const lockTTL = 2 * time.Minute

func openS3Lake(ctx context.Context, root string, clients *s3Clients, log *slog.Logger) (*s3Lake, error) {
	bucket, prefix, err := parseS3URI(root)
	if err != nil {
		return nil, err
	}
	cl, err := clients.client(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", root, err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &s3Lake{
		root: root, bucket: bucket, prefix: prefix, client: cl, log: log,
		uploader: manager.NewUploader(cl, func(u *manager.Uploader) {
			u.PartSize = 16 << 20
			u.Concurrency = 2
		}),
	}, nil
}

func (l *s3Lake) Root() string { return l.root }

func (l *s3Lake) key(rel string) string {
	return l.prefix + strings.TrimPrefix(path.Clean("/"+rel), "/")
}

func (l *s3Lake) uri(rel string) string { return "s3://" + l.bucket + "/" + l.key(rel) }

// Create streams the file to a (multipart, for large files) upload that
// completes, and so becomes visible, only on Commit.
func (l *s3Lake) Create(ctx context.Context, rel string) (lakeWriter, error) {
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := l.uploader.Upload(ctx, &s3.PutObjectInput{
			Bucket: &l.bucket, Key: aws.String(l.key(rel)), Body: pr,
		})
		if err != nil {
			err = fmt.Errorf("upload %s: %w", l.uri(rel), s3Hint(err))
		}
		pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
		w.done <- err
	}()
	return w, nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

type s3Writer struct {
	pw   *io.PipeWriter
	n    int64
	done chan error
}

var errAborted = errors.New("aborted")

func (w *s3Writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *s3Writer) Commit() (int64, error) {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return 0, err
	}
	return w.n, nil
}

// Abort fails the upload; the uploader aborts its multipart upload, so no
// object and no parts are left.
func (w *s3Writer) Abort() {
	w.pw.CloseWithError(errAborted)
	<-w.done
}

func (l *s3Lake) WriteFile(ctx context.Context, rel string, data []byte) error {
	_, err := l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &l.bucket, Key: aws.String(l.key(rel)), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", l.uri(rel), s3Hint(err))
	}
	return nil
}

func (l *s3Lake) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	rc, err := l.Open(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.uri(rel), err)
	}
	return b, nil
}

func (l *s3Lake) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: aws.String(l.key(rel))})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("get %s: %w", l.uri(rel), os.ErrNotExist)
		}
		return nil, fmt.Errorf("get %s: %w", l.uri(rel), s3Hint(err))
	}
	return out.Body, nil
}

func (l *s3Lake) List(ctx context.Context, dir string) ([]string, error) {
	p := l.key(dir) + "/"
	var names []string
	pg := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &p, Delimiter: aws.String("/")})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", l.bucket, p, s3Hint(err))
		}
		for _, o := range page.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), p); name != "" {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

func (l *s3Lake) ListAll(ctx context.Context, dir string) ([]string, error) {
	p := l.key(dir) + "/"
	var out []string
	pg := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &p})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", l.bucket, p, s3Hint(err))
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), l.prefix))
		}
	}
	return out, nil
}

func (l *s3Lake) Exists(ctx context.Context, rel string) (bool, error) {
	_, err := l.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &l.bucket, Key: aws.String(l.key(rel))})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("head %s: %w", l.uri(rel), s3Hint(err))
}

// Publish copies src to dst on the server side and deletes src. A single
// CopyObject handles files up to 5 GiB; lake files are bounded by the
// ingest memory budget, far below.
func (l *s3Lake) Publish(ctx context.Context, src, dst string) error {
	srcKey := l.key(src)
	_, err := l.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     &l.bucket,
		Key:        aws.String(l.key(dst)),
		CopySource: aws.String(url.PathEscape(l.bucket) + "/" + escapeKey(srcKey)),
	})
	if err != nil {
		if !isNotFound(err) {
			return fmt.Errorf("copy %s to %s: %w", l.uri(src), l.uri(dst), s3Hint(err))
		}
		// Staged file gone: published before (by this or a concurrent
		// recovering run) when the destination exists.
		ok, herr := l.Exists(ctx, dst)
		if herr != nil {
			return herr
		}
		if !ok {
			return fmt.Errorf("publish %s: staged file %s is missing", l.uri(dst), l.uri(src))
		}
		return nil
	}
	if _, err := l.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: &srcKey}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", l.uri(src), s3Hint(err))
	}
	return nil
}

// escapeKey URL-escapes every path segment of an S3 key for CopySource.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// RemoveAll deletes every key below dir, 1000 per request.
func (l *s3Lake) RemoveAll(ctx context.Context, dir string) error {
	p := l.key(dir) + "/"
	pg := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &p})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", l.bucket, p, s3Hint(err))
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := l.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &l.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete below s3://%s/%s: %w", l.bucket, p, s3Hint(err))
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete s3://%s/%s: %s", l.bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	return nil
}

// lockBody is the content of the lock object.
type lockBody struct {
	Run       string    `json:"run"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Acquired  time.Time `json:"acquired"`
	Heartbeat time.Time `json:"heartbeat"`
}

// Lock is best effort, not a distributed lock: it writes a lock object
// with the run id using S3 conditional writes (If-None-Match: * to
// create, If-Match to take over a lock whose heartbeat is older than
// lockTTL) and refreshes its heartbeat while the run goes on. Two runs
// that start within the same instant on a server without conditional
// writes, or a run paused for longer than lockTTL, can still overlap;
// the commit protocol keeps the lake consistent even then (commit ids
// are unique per run), but duplicates across the two runs may be kept.
func (l *s3Lake) Lock(ctx context.Context, name, run string) (func(), error) {
	rel := path.Join(StateDir, name)
	key := l.key(rel)
	host, _ := os.Hostname()
	now := time.Now().UTC()
	body := lockBody{Run: run, Host: host, PID: os.Getpid(), Acquired: now, Heartbeat: now}
	put := func(ctx context.Context, ifNoneMatch, ifMatch *string) error {
		body.Heartbeat = time.Now().UTC()
		b, _ := json.Marshal(body)
		_, err := l.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &l.bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
			IfNoneMatch: ifNoneMatch, IfMatch: ifMatch,
		})
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
		switch {
		case isNotFound(err):
			err = put(ctx, aws.String("*"), nil)
		case err != nil:
			return nil, fmt.Errorf("lock lake %s: %w", l.root, s3Hint(err))
		default:
			var held lockBody
			b, rerr := io.ReadAll(cur.Body)
			cur.Body.Close()
			if rerr != nil {
				return nil, fmt.Errorf("lock lake %s: %w", l.root, rerr)
			}
			_ = json.Unmarshal(b, &held)
			if age := time.Since(held.Heartbeat); age < lockTTL {
				return nil, fmt.Errorf("lake %s is in use by leakscope ingest run %s on %s (heartbeat %s ago); wait for it to finish, or delete %s if that run is dead",
					l.root, held.Run, held.Host, age.Round(time.Second), l.uri(rel))
			}
			err = put(ctx, nil, cur.ETag)
		}
		if err == nil {
			break
		}
		if isPreconditionFailed(err) && attempt < 3 {
			continue // lost a race: look again
		}
		return nil, fmt.Errorf("lock lake %s: %w", l.root, s3Hint(err))
	}
	// Heartbeat until released; cancellation of the run must not keep the
	// lock, so release uses a context that outlives ctx.
	bg := context.WithoutCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(lockTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := put(bg, nil, nil); err != nil && l.log != nil {
					l.log.Warn("refresh lake lock", "lock", l.uri(rel), "err", err)
				}
			}
		}
	})
	return func() {
		close(stop)
		wg.Wait()
		_, _ = l.client.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: &key})
	}, nil
}
