-- Sensitive write call with its request parameters omitted
-- One finding per matching CloudTrail event. Parameters come from the
-- one-row table params (see detections/doc.go).
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, coalesce(c.bucket, c.event_source) AS resource, p.attack_ids,
       CAST(json_object('event_source', c.event_source, 'request', c.request_parameters) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (c.error_code IS NULL OR c.error_code = 'Success')
  AND (c.read_only IS NULL OR NOT c.read_only)
  AND c.request_parameters IS NOT NULL AND length(c.request_parameters) < 200
  AND regexp_matches(c.request_parameters, '(?i)"omitted"\s*:\s*true|too ?large|parameters omitted')
