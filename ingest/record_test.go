package ingest

import (
	"testing"
	"time"
)

func TestDateOf(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC), "2026-11-14"},
		{time.Date(2026, 11, 14, 23, 59, 59, 999999000, time.UTC), "2026-11-14"},
		{time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), "2026-11-15"},
		{time.Date(2026, 11, 14, 12, 0, 0, 0, time.UTC), "2026-11-14"},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "1969-12-31"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "1970-01-01"},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), "1969-12-31"},
	} {
		if got := DateOf(tc.t.UnixMicro()); got != tc.want {
			t.Errorf("DateOf(%s) = %s, want %s", tc.t, got, tc.want)
		}
	}
}
