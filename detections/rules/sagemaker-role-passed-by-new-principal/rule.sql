-- SageMaker execution role passed by a principal that never passed it.
WITH passes AS (
  SELECT *, coalesce(json_extract_string(request_parameters, '$.roleArn'), json_extract_string(request_parameters, '$.executionRoleArn'),
                     json_extract_string(request_parameters, '$.defaultUserSettings.executionRole')) AS passed
  FROM cloudtrail
  WHERE event_source = 'sagemaker.amazonaws.com' AND starts_with(event_name, 'Create') AND error_code IS NULL
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.passed AS resource, p.attack_ids,
       CAST(json_object('passed_role', c.passed, 'request', c.request_parameters) AS VARCHAR) AS evidence, c.source_uri
FROM passes c, params p
WHERE c.passed IS NOT NULL AND c.event_time >= p.window_start AND c.event_time < p.window_end
  AND NOT EXISTS (SELECT 1 FROM passes h WHERE h.passed = c.passed AND h.actor_arn = c.actor_arn AND h.event_time < c.event_time)
  AND (SELECT count(*) FROM passes h WHERE h.passed = c.passed AND h.event_time < c.event_time) >= p.min_prior_passes
