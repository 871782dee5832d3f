package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// fakeS3 is a real S3-protocol server (gofakes3, in memory) on loopback,
// behind a handler that counts requests and injects failures.
type fakeS3 struct {
	URL    string
	client *s3.Client

	lists    atomic.Int64 // ListObjectsV2 requests
	gets     atomic.Int64 // GetObject requests
	ranged   atomic.Int64 // GetObject requests with a Range
	fail5xx  atomic.Int64 // the next n GET requests answer 503
	failList atomic.Int64 // the next n list requests answer 500
	cutBody  atomic.Int64 // the next n full-object GETs break off mid-body
	injected atomic.Int64

	mu       sync.Mutex
	prefixes []listReq
}

type listReq struct {
	prefix    string
	delimiter bool
}

// startFakeS3 starts the server for the test and points the standard AWS
// credential chain at static test credentials.
func startFakeS3(tb testing.TB, buckets ...string) *fakeS3 {
	tb.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIATESTTESTTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_PROFILE": "",
	} {
		tb.Setenv(k, v)
	}
	f := &fakeS3{}
	h := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		isList := r.Method == http.MethodGet && q.Get("list-type") == "2"
		isGet := r.Method == http.MethodGet && !isList && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
		if isList {
			f.lists.Add(1)
			f.mu.Lock()
			f.prefixes = append(f.prefixes, listReq{prefix: q.Get("prefix"), delimiter: q.Get("delimiter") != ""})
			f.mu.Unlock()
			if f.failList.Add(-1) >= 0 {
				f.injected.Add(1)
				http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
				return
			}
		}
		if isGet {
			f.gets.Add(1)
			if r.Header.Get("Range") != "" {
				f.ranged.Add(1)
			}
			if f.fail5xx.Add(-1) >= 0 {
				f.injected.Add(1)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "<Error><Code>SlowDown</Code><Message>injected</Message></Error>")
				return
			}
			if r.Header.Get("Range") == "" && f.cutBody.Add(-1) >= 0 {
				f.injected.Add(1)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				body := rec.Body.Bytes()
				w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // the connection breaks mid-body
			}
		}
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	f.client = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATESTTESTTEST", "secret", ""),
	})
	for _, b := range buckets {
		if _, err := f.client.CreateBucket(tb.Context(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			tb.Fatalf("create bucket %s: %v", b, err)
		}
	}
	return f
}

func (f *fakeS3) config() S3Config {
	return S3Config{Endpoint: f.URL, PathStyle: true, MaxBackoff: 100 * time.Millisecond}
}

func (f *fakeS3) resetCounts() {
	f.lists.Store(0)
	f.gets.Store(0)
	f.ranged.Store(0)
	f.mu.Lock()
	f.prefixes = nil
	f.mu.Unlock()
}

func (f *fakeS3) listRequests() []listReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]listReq(nil), f.prefixes...)
}

// put stores content at s3://bucket/key, gzipped when key ends in .gz.
func (f *fakeS3) put(tb testing.TB, bucket, key, content string) {
	tb.Helper()
	data := []byte(content)
	if strings.HasSuffix(key, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	f.putBytes(tb, bucket, key, data)
}

func (f *fakeS3) putBytes(tb testing.TB, bucket, key string, data []byte) {
	tb.Helper()
	_, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data)})
	if err != nil {
		tb.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// putMany stores many objects concurrently.
func (f *fakeS3) putMany(tb testing.TB, bucket string, objs map[string]string) {
	tb.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for k, v := range objs {
		g.Go(func() error {
			data := []byte(v)
			if strings.HasSuffix(k, ".gz") {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(data)
				zw.Close()
				data = b.Bytes()
			}
			_, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: bytes.NewReader(data)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}

// uploadDir copies a local tree to s3://bucket/prefix.
func (f *fakeS3) uploadDir(tb testing.TB, dir, bucket, prefix string) {
	tb.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		g.Go(func() error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(prefix + filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
			return err
		})
		return nil
	})
	if err == nil {
		err = g.Wait()
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// keys lists every key below prefix.
func (f *fakeS3) keys(tb testing.TB, bucket, prefix string) []string {
	tb.Helper()
	var out []string
	pg := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pg.HasMorePages() {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// download mirrors s3://bucket/prefix into a temporary folder.
func (f *fakeS3) download(tb testing.TB, bucket, prefix string) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, k := range f.keys(tb, bucket, prefix) {
		out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &k})
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(k, prefix)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func linesObject(n int, seed string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "2026-11-14T%02d:%02d:00Z|111122223333|us-east-1|%s-%d|payload %d\n", i%24, i%60, seed, i, i)
	}
	return b.String()
}
