package cloudtrail

import "unsafe"

// MemSize estimates the bytes the row holds in memory, so the lake writer
// can bound what it buffers.
func (r *Row) MemSize() int {
	n := int(unsafe.Sizeof(*r))
	for _, s := range [...]string{
		r.EventID, r.RequestID, r.EventSource, r.EventName, r.EventType, r.EventCategory, r.EventVersion,
		r.AWSRegion, r.SourceIP, r.UserAgent, r.ErrorCode, r.ErrorMessage, r.RecipientAccountID, r.IdentityType,
		r.PrincipalARN, r.ActorARN, r.PrincipalID, r.UserName, r.SessionName, r.AccessKeyID, r.AccountID,
		r.InvokedBy, r.SourceIdentity, r.SessionIssuerType, r.VPCEndpointID, r.Bucket, r.ObjectKey,
		r.IssuedAccessKeyID, r.IssuedARN, r.RoleARN, r.SharedEventID, r.UserIdentity, r.RequestParameters,
		r.ResponseElements, r.AdditionalEventData, r.Resources, r.ServiceEventDetails, r.TLSDetails,
		r.InsightDetails, r.ExtraFields,
	} {
		n += len(s)
	}
	return n
}
