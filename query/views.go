package query

// Convenience views over the lake tables, created by Open before the
// engine's settings are locked. Their SQL is fixed text: nothing from logs
// or users is ever part of it.
//
//   - events: one normalised row per log record of all three tables, with
//     the columns time, source, actor, action, target, source_ip,
//     destination, bytes, region, account, outcome, evidence_uri,
//     evidence_offset, then date, principal, access_key_id, user_agent,
//     request_id, bucket, object_key, error_code, event_source.
//   - s3_reads: S3 object reads from CloudTrail data events and from
//     server access logs, one row per request: a request seen in both
//     appears once, with evidence ['cloudtrail', 's3_access'].

// ctProjection normalises a cloudtrail row to the events columns.
const ctProjection = `event_time AS time,
	'cloudtrail' AS source,
	coalesce(actor_arn, principal_arn, user_name, invoked_by) AS actor,
	event_name AS action,
	CASE
		WHEN bucket IS NOT NULL AND object_key IS NOT NULL THEN 's3://' || bucket || '/' || object_key
		WHEN bucket IS NOT NULL THEN 's3://' || bucket
		ELSE coalesce(issued_arn, role_arn)
	END AS target,
	source_ip,
	event_source AS destination,
	coalesce(bytes_out, bytes_in) AS bytes,
	region,
	account,
	CASE WHEN error_code IS NULL THEN 'success' ELSE 'error' END AS outcome,
	source_uri AS evidence_uri,
	source_offset AS evidence_offset,
	date,
	principal_arn AS principal,
	access_key_id,
	user_agent,
	request_id,
	bucket,
	object_key,
	error_code,
	event_source`

// s3Projection normalises an s3_access row to the events columns.
const s3Projection = `event_time AS time,
	's3_access' AS source,
	CASE WHEN requester_anonymous THEN 'anonymous' ELSE coalesce(requester_arn, requester, requester_service) END AS actor,
	operation AS action,
	CASE WHEN key IS NOT NULL THEN 's3://' || bucket || '/' || key ELSE 's3://' || bucket END AS target,
	remote_ip AS source_ip,
	coalesce(host_header, bucket) AS destination,
	bytes_sent AS bytes,
	region,
	account,
	CASE WHEN error_code IS NOT NULL OR http_status >= 400 THEN 'error' ELSE 'success' END AS outcome,
	source_uri AS evidence_uri,
	source_offset AS evidence_offset,
	date,
	coalesce(requester_arn, requester) AS principal,
	CAST(NULL AS VARCHAR) AS access_key_id,
	user_agent,
	request_id,
	bucket,
	key AS object_key,
	error_code,
	's3.amazonaws.com' AS event_source`

// flowProjection normalises a vpc_flow row to the events columns.
const flowProjection = `coalesce(start_time, end_time) AS time,
	'vpc_flow' AS source,
	coalesce(interface_id, instance_id) AS actor,
	coalesce(action, log_status) AS action,
	CASE WHEN dst_addr IS NULL THEN NULL
		WHEN dst_port IS NULL THEN dst_addr
		WHEN contains(dst_addr, ':') THEN '[' || dst_addr || ']:' || CAST(dst_port AS VARCHAR)
		ELSE dst_addr || ':' || CAST(dst_port AS VARCHAR) END AS target,
	src_addr AS source_ip,
	dst_addr AS destination,
	bytes,
	region,
	account,
	CASE WHEN action = 'REJECT' THEN 'rejected' WHEN log_status IN ('NODATA', 'SKIPDATA') THEN lower(log_status) ELSE 'success' END AS outcome,
	source_uri AS evidence_uri,
	source_offset AS evidence_offset,
	date,
	CAST(NULL AS VARCHAR) AS principal,
	CAST(NULL AS VARCHAR) AS access_key_id,
	CAST(NULL AS VARCHAR) AS user_agent,
	CAST(NULL AS VARCHAR) AS request_id,
	CAST(NULL AS VARCHAR) AS bucket,
	CAST(NULL AS VARCHAR) AS object_key,
	CAST(NULL AS VARCHAR) AS error_code,
	CAST(protocol AS VARCHAR) AS event_source`

// EventColumns are the columns of the events view, in order.
var EventColumns = []string{
	"time", "source", "actor", "action", "target", "source_ip", "destination", "bytes",
	"region", "account", "outcome", "evidence_uri", "evidence_offset",
	"date", "principal", "access_key_id", "user_agent", "request_id", "bucket",
	"object_key", "error_code", "event_source",
}

// ctReadEvents are the CloudTrail data events that read object content.
const ctReadEvents = `('GetObject', 'GetObjectVersion', 'GetObjectTorrent', 'SelectObjectContent')`

// s3ReadOperations are the server access log operations that read object
// content.
const s3ReadOperations = `('REST.GET.OBJECT', 'REST.GET.OBJECT_TORRENT', 'REST.POST.SELECT', 'REST.COPY.OBJECT_GET', 'WEBSITE.GET.OBJECT', 'BATCH.GET.OBJECT')`

// s3ReadsView merges the two sources of object reads. A CloudTrail read
// keeps its row and gains the access log as evidence when the same
// request id and bucket are logged there; an access log read appears on
// its own only when CloudTrail did not log it.
const s3ReadsView = `CREATE VIEW s3_reads AS
WITH ct AS (
	SELECT event_time AS time, bucket, object_key AS key, bytes_out AS bytes, request_id,
		coalesce(principal_arn, actor_arn) AS actor, actor_arn, access_key_id, source_ip, user_agent,
		event_name AS operation, error_code, CASE WHEN error_code IS NULL THEN 'success' ELSE 'error' END AS outcome,
		account, region, date, source_uri AS evidence_uri, source_offset AS evidence_offset
	FROM cloudtrail
	WHERE event_source = 's3.amazonaws.com' AND event_name IN ` + ctReadEvents + `
), sa AS (
	SELECT event_time AS time, bucket, key, bytes_sent AS bytes, request_id,
		CASE WHEN requester_anonymous THEN 'anonymous' ELSE coalesce(requester_arn, requester) END AS actor,
		CAST(NULL AS VARCHAR) AS actor_arn, CAST(NULL AS VARCHAR) AS access_key_id, remote_ip AS source_ip, user_agent,
		operation, error_code, CASE WHEN error_code IS NOT NULL OR http_status >= 400 THEN 'error' ELSE 'success' END AS outcome,
		account, region, date, source_uri AS evidence_uri, source_offset AS evidence_offset
	FROM s3_access
	WHERE operation IN ` + s3ReadOperations + `
), sa_ids AS (
	SELECT request_id, bucket, any_value(bytes) AS bytes, min(evidence_uri) AS evidence_uri
	FROM sa WHERE request_id IS NOT NULL GROUP BY request_id, bucket
)
SELECT ct.time, ct.bucket, ct.key, coalesce(ct.bytes, sa_ids.bytes) AS bytes, ct.request_id, ct.actor, ct.actor_arn,
	ct.access_key_id, ct.source_ip, ct.user_agent, ct.operation, ct.error_code, ct.outcome, ct.account, ct.region, ct.date,
	CASE WHEN sa_ids.request_id IS NULL THEN ['cloudtrail'] ELSE ['cloudtrail', 's3_access'] END AS evidence,
	ct.evidence_uri, ct.evidence_offset, sa_ids.evidence_uri AS access_log_uri
FROM ct LEFT JOIN sa_ids ON ct.request_id = sa_ids.request_id AND ct.bucket = sa_ids.bucket
UNION ALL
SELECT sa.time, sa.bucket, sa.key, sa.bytes, sa.request_id, sa.actor, sa.actor_arn,
	sa.access_key_id, sa.source_ip, sa.user_agent, sa.operation, sa.error_code, sa.outcome, sa.account, sa.region, sa.date,
	['s3_access'] AS evidence, sa.evidence_uri, sa.evidence_offset, sa.evidence_uri AS access_log_uri
FROM sa
WHERE sa.request_id IS NULL
	OR NOT EXISTS (SELECT 1 FROM ct WHERE ct.request_id = sa.request_id AND ct.bucket = sa.bucket)`

// viewStatements are the convenience views; setup runs them after the
// table views exist. Tables the engine was not given get no views.
func viewStatements(tables []Table) []string {
	have := map[string]bool{}
	for _, t := range tables {
		have[t.Name] = true
	}
	if !have["cloudtrail"] || !have["s3_access"] || !have["vpc_flow"] {
		return nil
	}
	return []string{
		"CREATE VIEW events AS\nSELECT " + ctProjection + "\nFROM cloudtrail\nUNION ALL\nSELECT " + s3Projection + "\nFROM s3_access\nUNION ALL\nSELECT " + flowProjection + "\nFROM vpc_flow",
		s3ReadsView,
	}
}
