// Package s3access decodes Amazon S3 server access logs into rows of the
// lake table "s3_access".
//
// An access log object is plain text, one request per line, fields
// separated by spaces. A field is a bare token, a "quoted string" that may
// hold spaces and backslash-escaped quotes (\"), or the bracketed request
// time [06/Feb/2019:00:00:38 +0000]. A dash, bare or quoted, means the
// field has no value and becomes NULL. The decoder accepts every layout S3
// has written: the classic 18 fields, 24 (signature version, cipher suite,
// authentication type, host header, TLS version), 25 (access point ARN),
// 26 (aclRequired), 27 (source region) and any unknown fields AWS may add
// after those, which are kept verbatim in extra_fields rather than failing
// the line.
//
// Decoding is streaming and line based: memory stays bounded by the line
// length cap (MaxLine) whatever the object size. Every non-blank line
// becomes exactly one row or one quarantined BadRecord, so records read =
// rows + bad. Lines are fingerprinted (xxh3 over the line without its line
// ending) so an identical line delivered twice is de-duplicated by the
// lake writer; lines that merely share a request id are kept.
//
// Besides the columns logged by S3, each row carries derived columns that
// make forensic queries cheap: the requester split into requester_arn and
// requester_account (IAM and STS ARNs), requester_canonical_id (64-hex
// canonical user ids), requester_anonymous (a "-" requester) and
// requester_service (svc:<service principal> and the AmazonS3 lifecycle
// actor), the URL-decoded key next to raw_key as logged, http_method from
// the request URI, and query_auth for requests authenticated by a
// presigned URL (X-Amz-Signature or Signature in the query string).
//
// One repair is made, never silently: a single stray token between
// version_id and host_id (line 9 of the ncbi corpus file carries an IAM
// unique id "AIDA…" there) shifts every later column by one. When the
// signature_version column holds no signature version but the next column
// does, the stray token is moved to extra_fields and the later columns
// line up again (see parser.repair). Any other misalignment that leaves a
// number column non-numeric or the time unparseable is quarantined.
//
// Both delivery key layouts are recognised by KeyLayout and Sniff: the
// date-based "<prefix>YYYY-mm-DD-HH-MM-SS-<unique>" and the partitioned
// prefix "<prefix><account>/<region>/<bucket>/YYYY/MM/DD/...".
package s3access
