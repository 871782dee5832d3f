package s3access

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/leakscope/leakscope/ingest"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

const benchSize = 32 << 20

// benchInput repeats lines until the input reaches benchSize bytes, making
// each line unique (request id and time) as in a real log.
func benchInput(tb testing.TB, lines []string) []byte {
	var buf bytes.Buffer
	buf.Grow(benchSize + 4096)
	for i := 0; buf.Len() < benchSize; i++ {
		l := lines[i%len(lines)]
		l = strings.Replace(l, ":00:38 ", fmt.Sprintf(":%02d:%02d ", i/60%60, i%60), 1)
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

var benchData = sync.OnceValue(func() map[string][]byte {
	var corpus []string
	for _, path := range corpusFiles(&testing.B{}) {
		for l := range strings.Lines(string(mustRead(&testing.B{}, path))) {
			corpus = append(corpus, strings.TrimRight(l, "\n"))
		}
	}
	hard := []string{
		strings.Replace(strings.Replace(base, `"aws-cli/2.0"`, `"Mozilla/5.0 \"quoted\" (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"`, 1),
			`"GET /photos/cat.jpg HTTP/1.1"`, `"GET /photos/my%20cat+photo.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20190206&X-Amz-Signature=abc HTTP/1.1"`, 1),
		base + " arn:aws:s3:eu-west-1:123456789012:accesspoint/ap1 Yes eu-west-1 future1 future2",
	}
	return map[string][]byte{
		"corpus-mix": benchInput(nil, corpus),
		"hard-paths": benchInput(nil, hard),
	}
})

func discardSink() ingest.Sink[Row] {
	return ingest.Sink[Row]{
		Rows: func([]Row) error { return nil },
		Bad:  func(ingest.BadRecord) error { return nil },
	}
}

// BenchmarkDecode measures the decoder alone and end to end with Parquet
// writing (zstd, the Row schema) on ~32 MB of generated log text.
func BenchmarkDecode(b *testing.B) {
	corpusFiles(b)
	data := benchData()
	for _, name := range []string{"corpus-mix", "hard-paths"} {
		input := data[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(context.Background(), ingest.ObjectInfo{URI: "bench"}, bytes.NewReader(input), discardSink()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("corpus-mix+parquet", func(b *testing.B) {
		input := data["corpus-mix"]
		b.SetBytes(int64(len(input)))
		b.ReportAllocs()
		for b.Loop() {
			w := parquet.NewGenericWriter[Row](io.Discard, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}))
			sink := ingest.Sink[Row]{
				Rows: func(rs []Row) error { _, err := w.Write(rs); return err },
				Bad:  func(ingest.BadRecord) error { return nil },
			}
			if err := Decode(context.Background(), ingest.ObjectInfo{URI: "bench"}, bytes.NewReader(input), sink); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
