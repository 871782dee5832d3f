package ingest

import (
	"testing"
	"time"
)

// TestCivil checks the calendar helpers against package time for every
// day of years around the ones logs carry, leap centuries included.
func TestCivil(t *testing.T) {
	for _, y := range []int{1, 1900, 1970, 1999, 2000, 2024, 2025, 2100, 2400, 9999} {
		for m := 1; m <= 12; m++ {
			want := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if got := DaysIn(y, m); got != want {
				t.Fatalf("DaysIn(%d, %d) = %d, want %d", y, m, got, want)
			}
			for d := 1; d <= want; d++ {
				ref := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400
				if got := DaysFromCivil(y, m, d); got != ref {
					t.Fatalf("DaysFromCivil(%d, %d, %d) = %d, want %d", y, m, d, got, ref)
				}
			}
		}
	}
}
