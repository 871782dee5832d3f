-- CloudTrail event selectors drop data or management events
-- One finding per matching CloudTrail event. Parameters come from the
-- one-row table params (see detections/doc.go).
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, json_extract_string(c.request_parameters, '$.trailName') AS resource, p.attack_ids,
       CAST(json_object('request', c.request_parameters) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (c.error_code IS NULL OR c.error_code = 'Success')
  AND c.event_source = 'cloudtrail.amazonaws.com' AND c.event_name = 'PutEventSelectors'
  AND (regexp_matches(c.request_parameters, '"includeManagementEvents"\s*:\s*false')
       OR regexp_matches(c.request_parameters, '"readWriteType"\s*:\s*"(ReadOnly|WriteOnly)"')
       OR (json_extract(c.request_parameters, '$.eventSelectors') IS NOT NULL
           AND NOT regexp_matches(c.request_parameters, '"dataResources"\s*:\s*\[\s*\{'))
       OR regexp_matches(c.request_parameters, '"field"\s*:\s*"(eventCategory|resources\.type)"[^}]*"(notEquals|NotEquals)"'))
