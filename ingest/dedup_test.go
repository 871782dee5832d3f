package ingest

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortEntriesMatchesComparisonSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 100, 4095, 4096, 5000, 300_000} {
		es := make([]dedupEntry, n)
		for i := range es {
			es[i] = dedupEntry{h: Hash{Hi: r.Uint64(), Lo: r.Uint64()}, origin: r.Uint64()}
			if i > 0 && r.IntN(10) == 0 {
				// Shared high halves (and a few whole repeats).
				es[i].h.Hi = es[r.IntN(i)].h.Hi
				if r.IntN(4) == 0 {
					es[i].h.Lo = es[r.IntN(i)].h.Lo
				}
			}
			if r.IntN(50) == 0 {
				es[i].h.Hi = uint64(r.IntN(3)) // skewed: crowded first bucket
			}
		}
		want := slices.Clone(es)
		slices.SortStableFunc(want, compareEntry)
		sortEntries(es)
		for i := range es {
			if compareEntry(es[i], want[i]) != 0 {
				t.Fatalf("n=%d: entry %d is %v, want %v", n, i, es[i].h, want[i].h)
			}
		}
	}
}
