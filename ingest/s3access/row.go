package s3access

import (
	"github.com/leakscope/leakscope/ingest"
)

// Row is one S3 server access log record as stored in the lake table
// "s3_access". Column names of the logged fields are fixed by SPEC §3;
// optional columns are NULL when the log has "-" or the line is too old to
// carry the field. Strings are kept as logged except key, which is
// URL-decoded (raw_key keeps the logged form). bytes_sent is NULL when S3
// logged "-", which AWS documents as "zero bytes".
type Row struct {
	EventTime        int64  `parquet:"event_time,timestamp(microsecond:local)"`
	BucketOwner      string `parquet:"bucket_owner,optional,dict"`
	Bucket           string `parquet:"bucket,optional,dict"`
	RemoteIP         string `parquet:"remote_ip,optional"`
	Requester        string `parquet:"requester,optional,dict"`
	RequestID        string `parquet:"request_id,optional"`
	Operation        string `parquet:"operation,optional,dict"`
	Key              string `parquet:"key,optional"`
	RequestURI       string `parquet:"request_uri,optional"`
	HTTPStatus       *int32 `parquet:"http_status"`
	ErrorCode        string `parquet:"error_code,optional,dict"`
	BytesSent        *int64 `parquet:"bytes_sent"`
	ObjectSize       *int64 `parquet:"object_size"`
	TotalTimeMS      *int64 `parquet:"total_time_ms"`
	TurnaroundTimeMS *int64 `parquet:"turnaround_time_ms"`
	Referer          string `parquet:"referer,optional,dict"`
	UserAgent        string `parquet:"user_agent,optional,dict"`
	VersionID        string `parquet:"version_id,optional"`
	HostID           string `parquet:"host_id,optional"`
	SignatureVersion string `parquet:"signature_version,optional,dict"`
	CipherSuite      string `parquet:"cipher_suite,optional,dict"`
	AuthType         string `parquet:"auth_type,optional,dict"`
	HostHeader       string `parquet:"host_header,optional,dict"`
	TLSVersion       string `parquet:"tls_version,optional,dict"`
	AccessPointARN   string `parquet:"access_point_arn,optional,dict"`
	ACLRequired      string `parquet:"acl_required,optional,dict"`
	SourceRegion     string `parquet:"source_region,optional,dict"`
	// ExtraFields is a JSON array (as text) of the tokens the decoder
	// could not place: unknown trailing fields and a repaired stray token.
	// It is not tagged "json": parquet-go v0.32.0 panics in Close on an
	// optional JSON column holding NULLs (writer_statistics.go level
	// histogram); query it with extra_fields::JSON.
	ExtraFields string `parquet:"extra_fields,optional"`

	// Derived columns.
	RequesterARN         string `parquet:"requester_arn,optional,dict"`
	RequesterAccount     string `parquet:"requester_account,optional,dict"`
	RequesterCanonicalID string `parquet:"requester_canonical_id,optional,dict"`
	RequesterAnonymous   bool   `parquet:"requester_anonymous"`
	RequesterService     string `parquet:"requester_service,optional,dict"`
	RawKey               string `parquet:"raw_key,optional"`
	HTTPMethod           string `parquet:"http_method,optional,dict"`
	QueryAuth            bool   `parquet:"query_auth"`

	SourceURI    string `parquet:"source_uri,dict"`
	SourceOffset int64  `parquet:"source_offset"`
	SourceLine   int64  `parquet:"source_line"`

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
