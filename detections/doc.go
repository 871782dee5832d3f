// Package detections holds leakscope's detection catalog, the runner that
// executes it over the lake, and the Sigma compiler.
//
// A rule is a folder rules/<id>/ with
//
//   - rule.json: id, title, severity (info|low|medium|high|critical),
//     description, attack {tactics, techniques}, references,
//     false_positives, data_sources, status, params; decoded strictly
//     (unknown fields are errors);
//   - rule.sql: one DuckDB SELECT over the lake views (cloudtrail,
//     s3_access, vpc_flow) returning exactly Columns, in that order;
//   - fire.* and nofire.*: test cases (CloudTrail JSON Lines in .jsonl,
//     S3 server access log lines in .s3.log, flow logs with a header line
//     in .flow.log) on which the rule must and must not find something.
//
// Parameters are never edited into SQL. Before a rule runs, the runner
// creates a one-row table "params" whose columns are the rule's params
// (values bound as prepared-statement arguments) plus window_start,
// window_end (TIMESTAMP, the half-open window), detection_id, title,
// severity and attack_ids from the metadata. A rule reads them with
// "FROM cloudtrail c, params p". To run a rule by hand in the duckdb CLI,
// create the views and then for example:
//
//	CREATE TEMP TABLE params AS SELECT TIMESTAMP '1970-01-01' AS window_start,
//	    TIMESTAMP '9999-01-01' AS window_end, 'my-rule' AS detection_id,
//	    'My rule' AS title, 'high' AS severity, 'T1530' AS attack_ids,
//	    1073741824 AS min_bytes;
//	.read rules/my-rule/rule.sql
//
// finding_id is deterministic (md5 of the detection id and the source
// record, or of the grouping key for aggregate rules), so Detect appends
// only findings whose id the lake does not hold yet, to
// LAKE/findings/date=YYYY-MM-DD/<run>.parquet (zstd, temp file + fsync +
// rename). Incremental runs start at the watermark in
// LAKE/_leakscope/detect/watermark.json minus a lookback for late logs.
//
// Sigma rules for logsource product aws / service cloudtrail compile to
// the same shape of SQL (CompileSigma, LoadSigmaDir) with a small YAML
// reader of our own; constructs that cannot compile are reported per rule
// with the reason (UnsupportedError), never dropped silently. Findings of
// Sigma rules carry the Sigma id, level, ATT&CK tags and the author and
// Detection Rule License attribution in their evidence.
package detections
