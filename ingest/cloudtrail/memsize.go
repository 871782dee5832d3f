package cloudtrail

import "unsafe"

// MemSize estimates the bytes the row holds in memory, so the lake writer
// can bound what it buffers. The decoder makes every string of a row a
// substring of one compacted copy of the record, so the record's size is
// about its JSON objects plus the top-level strings that are not part of
// them (the normalised identity columns are substrings of user_identity).
func (r *Row) MemSize() int {
	n := int(unsafe.Sizeof(*r)) + 160
	for _, s := range [...]string{
		r.EventID, r.RequestID, r.EventSource, r.EventName, r.SourceIP, r.UserAgent, r.ErrorCode,
		r.ErrorMessage, r.UserIdentity, r.RequestParameters, r.ResponseElements, r.AdditionalEventData,
		r.Resources, r.ServiceEventDetails, r.TLSDetails, r.InsightDetails, r.ExtraFields,
	} {
		n += len(s)
	}
	return n
}
