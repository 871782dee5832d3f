// Package vpcflow decodes Amazon VPC Flow Logs into rows of the lake
// table "vpc_flow".
//
// It reads every delivery form: S3 text objects (plain or gzip, which the
// caller decompresses) whose first line names the fields in any order and
// any subset, with headers repeated where files were concatenated;
// header-less records as CloudWatch Logs exports them, in AWS's default
// format (picked by field count: v2 with 14 fields, the default orders of
// all v3, v4, v5, v7 and v8 fields, the Transit Gateway default format)
// or in the format given by the "flow-format" object option;
// CloudWatch/Firehose {"message": "..."} JSON lines; and Parquet-delivered
// objects, read column by column by name.
//
// Versions 2 to 8 are known, including the Transit Gateway (v6), ECS (v7)
// and reject-reason (v8) fields; fields of unknown names are kept as JSON
// in extra_fields. "-" is NULL. NODATA and SKIPDATA records are rows.
// Start and end become microsecond timestamps; the row's time is start,
// else end, and a record with neither is quarantined, as is every line that
// does not fit its layout, each with its line, offset and the reason.
//
// The text decoder streams line by line without regular expressions and
// with a few allocations per thousand records: rows' strings share the
// read buffers, and nullable numbers come from arenas.
package vpcflow
