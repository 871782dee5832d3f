package cloudtrail

import (
	"github.com/leakscope/leakscope/ingest"
)

// Row is one CloudTrail event as stored in the lake table "cloudtrail".
// Column names are fixed by SPEC §3; optional columns are NULL when the
// event does not carry the field. Nested objects are kept verbatim as JSON
// text (compacted) so nothing the event said is lost; top-level keys the
// decoder does not know land in ExtraFields.
type Row struct {
	EventTime           int64  `parquet:"event_time,timestamp(microsecond:local)"`
	EventID             string `parquet:"event_id,optional"`
	RequestID           string `parquet:"request_id,optional"`
	EventSource         string `parquet:"event_source,optional,dict"`
	EventName           string `parquet:"event_name,optional,dict"`
	EventType           string `parquet:"event_type,optional,dict"`
	EventCategory       string `parquet:"event_category,optional,dict"`
	EventVersion        string `parquet:"event_version,optional,dict"`
	AWSRegion           string `parquet:"aws_region,optional,dict"`
	SourceIP            string `parquet:"source_ip,optional"`
	UserAgent           string `parquet:"user_agent,optional,dict"`
	ErrorCode           string `parquet:"error_code,optional,dict"`
	ErrorMessage        string `parquet:"error_message,optional"`
	ReadOnly            *bool  `parquet:"read_only"`
	ManagementEvent     *bool  `parquet:"management_event"`
	RecipientAccountID  string `parquet:"recipient_account_id,optional,dict"`
	IdentityType        string `parquet:"identity_type,optional,dict"`
	PrincipalARN        string `parquet:"principal_arn,optional"`
	ActorARN            string `parquet:"actor_arn,optional,dict"`
	PrincipalID         string `parquet:"principal_id,optional"`
	UserName            string `parquet:"user_name,optional"`
	SessionName         string `parquet:"session_name,optional"`
	AccessKeyID         string `parquet:"access_key_id,optional"`
	AccountID           string `parquet:"account_id,optional,dict"`
	InvokedBy           string `parquet:"invoked_by,optional,dict"`
	SourceIdentity      string `parquet:"source_identity,optional"`
	SessionIssuerType   string `parquet:"session_issuer_type,optional,dict"`
	MFAAuthenticated    *bool  `parquet:"mfa_authenticated"`
	SessionCreated      *int64 `parquet:"session_created,timestamp(microsecond:local)"`
	VPCEndpointID       string `parquet:"vpc_endpoint_id,optional,dict"`
	Bucket              string `parquet:"bucket,optional,dict"`
	ObjectKey           string `parquet:"object_key,optional"`
	BytesIn             *int64 `parquet:"bytes_in"`
	BytesOut            *int64 `parquet:"bytes_out"`
	IssuedAccessKeyID   string `parquet:"issued_access_key_id,optional"`
	IssuedARN           string `parquet:"issued_arn,optional"`
	RoleARN             string `parquet:"role_arn,optional"`
	SharedEventID       string `parquet:"shared_event_id,optional"`
	UserIdentity        string `parquet:"user_identity,optional"`
	RequestParameters   string `parquet:"request_parameters,optional"`
	ResponseElements    string `parquet:"response_elements,optional"`
	AdditionalEventData string `parquet:"additional_event_data,optional"`
	Resources           string `parquet:"resources,optional"`
	ServiceEventDetails string `parquet:"service_event_details,optional"`
	TLSDetails          string `parquet:"tls_details,optional"`
	InsightDetails      string `parquet:"insight_details,optional"`
	ExtraFields         string `parquet:"extra_fields,optional"`
	SourceURI           string `parquet:"source_uri,dict"`
	SourceOffset        int64  `parquet:"source_offset"`

	// Not stored: set by the decoder for the lake writer.
	Hash    ingest.Hash `parquet:"-"`
	PartAcc string      `parquet:"-"` // partition account
	PartReg string      `parquet:"-"` // partition region
}

// LakePartition implements ingest.Row.
func (r *Row) LakePartition() ingest.Partition {
	return ingest.Partition{
		Account: r.PartAcc,
		Region:  r.PartReg,
		Date:    ingest.DateOf(r.EventTime),
	}
}

// SortTime implements ingest.Row.
func (r *Row) SortTime() int64 { return r.EventTime }

// Fingerprint implements ingest.Row.
func (r *Row) Fingerprint() ingest.Hash { return r.Hash }

// Origin implements ingest.Row.
func (r *Row) Origin() (string, int64) { return r.SourceURI, r.SourceOffset }

// SetSourceURI implements ingest.Row.
func (r *Row) SetSourceURI(uri string) { r.SourceURI = uri }
