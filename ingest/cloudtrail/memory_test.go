package cloudtrail

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/leakscope/leakscope/ingest"
)

// eventStream is an endless-looking {"Records":[...]} object generated on
// the fly, so the test needs no file and no memory of its own.
type eventStream struct {
	events, total int
	buf           []byte
	done          bool
}

func (s *eventStream) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		switch {
		case s.done:
			return 0, io.EOF
		case s.events == 0:
			s.buf = []byte(`{"Records":[`)
		case s.events > s.total:
			s.buf, s.done = []byte(`]}`), true
			continue
		default:
			if s.events > 1 {
				s.buf = append(s.buf, ',')
			}
			s.buf = append(s.buf, fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE"},"eventTime":"2026-11-14T02:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","requestParameters":{"bucketName":"b","key":"k/%d"},"additionalEventData":{"bytesTransferredOut":%d},"requestID":"R%d","eventID":"E%d","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}`,
				s.events/60%60, s.events%60, s.events, s.events, s.events, s.events)...)
		}
		s.events++
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// TestLargeObjectStreamsInBoundedMemory decodes one ~400 MB object and
// checks the heap never holds more than a small multiple of a batch: the
// decoder streams, it never buffers the object.
func TestLargeObjectStreamsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 400 MB")
	}
	const events = 750_000 // ~540 bytes each
	var rows int
	var peak uint64
	var ms runtime.MemStats
	sink := ingest.Sink[Row]{
		Rows: func(rs []Row) error {
			rows += len(rs)
			if rows%(64*1024) < len(rs) {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		},
		Bad: func(b ingest.BadRecord) error { return fmt.Errorf("unexpected bad record: %s", b.Reason) },
	}
	if err := Decode(context.Background(), objInfo(), &eventStream{total: events}, sink); err != nil {
		t.Fatal(err)
	}
	if rows != events {
		t.Fatalf("rows = %d, want %d", rows, events)
	}
	if peak > 96<<20 {
		t.Errorf("heap in use peaked at %d MiB while decoding a 400 MB object", peak>>20)
	}
	t.Logf("peak heap in use %d MiB", peak>>20)
}
