package ingest

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back a large, freshly allocated slice with
// transparent huge pages (where THP is in madvise mode, as on Debian):
// the fingerprint table is probed at random across tens of megabytes, and
// with 4 KiB pages filling it costs a page fault, and probing it a TLB
// miss, almost every time.
func adviseHuge[T any](s []T) {
	n := uintptr(len(s)) * unsafe.Sizeof(s[0])
	if n < 4<<20 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(s))
	p := uintptr(base)
	// madvise wants a page-aligned start; trim to 2 MiB boundaries.
	start := (p + 2<<20 - 1) &^ (2<<20 - 1)
	end := (p + n) &^ (2<<20 - 1)
	if end <= start {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, start-p)), end-start), syscall.MADV_HUGEPAGE)
}
