// Package cloudtrail decodes AWS CloudTrail logs into rows of the lake
// table "cloudtrail".
//
// Decode streams one decompressed object. It accepts every container
// CloudTrail data is found in: {"Records":[...]} files as delivered to S3
// (compact or pretty-printed; other top-level keys are ignored), bare JSON
// arrays of events, JSON Lines (CloudTrail Lake, CloudWatch Logs and
// Athena exports), a single event per file and several concatenated
// events. Digest files are recognised and reported with
// ingest.ErrNotEvents.
//
// The decoder never holds the object in memory: it parses records one at
// a time out of a sliding buffer with a small strict JSON scanner (RFC
// 8259, including UTF-8 validation), not with reflection. A record is
// buffered up to MaxRecordBytes; a longer one is streamed past and
// quarantined. Each record is compacted (insignificant whitespace
// removed), fingerprinted with ingest.HashBytes over the compacted bytes
// (so a pretty and a compact delivery of the same event are duplicates)
// and normalised: the identity columns, the actor ARN (the role for an
// assumed-role session, the user for an IAM user, the invoking service for
// AWSService, the account root for AWSAccount, ...), the S3 bucket and
// key, bytes transferred and issued credentials. Nested objects are kept
// as compact JSON text and unknown top-level keys land in extra_fields, so
// nothing the event said is lost.
//
// Bad input never stops a run: every record read goes either to the sink
// as a row or to quarantine with its line, byte offset, a reason and a
// snippet. In JSON Lines a bad line is skipped and decoding goes on at the
// next line; inside arrays decoding resumes at the next element when
// bracket framing finds it, otherwise the rest of the object is
// quarantined as one record. Only cancellation, read errors other than a
// truncated stream, and sink errors are returned.
package cloudtrail
