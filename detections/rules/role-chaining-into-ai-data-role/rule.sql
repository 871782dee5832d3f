-- Role chaining into an AI or data role: first AssumeRole from a caller
-- role into a target matching ai_role_pattern or assumed by SageMaker.
WITH ar AS (
  SELECT *, coalesce(role_arn, json_extract_string(request_parameters, '$.roleArn')) AS target FROM cloudtrail
  WHERE event_name = 'AssumeRole' AND error_code IS NULL
), ai AS (
  SELECT DISTINCT target FROM ar WHERE invoked_by = 'sagemaker.amazonaws.com' OR source_ip = 'sagemaker.amazonaws.com'
), targets AS (
  SELECT t.target FROM (SELECT DISTINCT target FROM ar WHERE target IS NOT NULL) t, params p
  WHERE regexp_matches(t.target, p.ai_role_pattern) OR t.target IN (SELECT target FROM ai)
), firsts AS (
  SELECT actor_arn, target, min(event_time) AS t FROM ar
  WHERE identity_type = 'AssumedRole' AND target IN (SELECT target FROM targets) GROUP BY 1, 2
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.target AS resource, p.attack_ids,
       CAST(json_object('target_role', c.target, 'caller', c.principal_arn, 'session_name', json_extract_string(c.request_parameters, '$.roleSessionName')) AS VARCHAR) AS evidence, c.source_uri
FROM firsts f JOIN ar c ON c.actor_arn = f.actor_arn AND c.target = f.target AND c.event_time = f.t, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end AND c.identity_type = 'AssumedRole'
