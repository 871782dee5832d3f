package s3access

import "unsafe"

// MemSize estimates the bytes the row holds in memory, so the lake writer
// can bound what it buffers: the struct, the line its strings are cut
// from (a copy in the decoder's arena; the fields cover about all of it),
// the decoded key and requester parts, and its numbers.
func (r *Row) MemSize() int {
	n := int(unsafe.Sizeof(*r)) + 5*8
	for _, s := range [...]string{
		r.BucketOwner, r.Bucket, r.RemoteIP, r.Requester, r.RequestID, r.Operation, r.Key,
		r.RequestURI, r.ErrorCode, r.Referer, r.UserAgent, r.VersionID, r.HostID,
		r.SignatureVersion, r.CipherSuite, r.AuthType, r.HostHeader, r.TLSVersion,
		r.AccessPointARN, r.ACLRequired, r.SourceRegion, r.ExtraFields,
	} {
		n += len(s) + 1
	}
	return n
}
