-- SageMaker execution role used from the internet.
-- One finding per role, address, access key and UTC day.
WITH sm_roles AS (
  SELECT DISTINCT coalesce(role_arn, json_extract_string(request_parameters, '$.roleArn')) AS role FROM cloudtrail
  WHERE event_name = 'AssumeRole' AND (invoked_by = 'sagemaker.amazonaws.com' OR source_ip = 'sagemaker.amazonaws.com')
  UNION SELECT a.actor_arn FROM (SELECT DISTINCT actor_arn FROM cloudtrail WHERE identity_type = 'AssumedRole') a, params p
  WHERE regexp_matches(a.actor_arn, p.role_pattern)
), hits AS (
  SELECT c.* FROM cloudtrail c JOIN sm_roles r ON c.actor_arn = r.role, params p
  WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
    AND c.identity_type = 'AssumedRole' AND c.vpc_endpoint_id IS NULL
    AND regexp_matches(c.source_ip, '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
    AND NOT regexp_matches(c.source_ip, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
    AND NOT regexp_matches(coalesce(c.user_agent, ''), p.agent_pattern)
), g AS (
  SELECT actor_arn, source_ip, access_key_id, CAST(event_time AS DATE) AS day, min(event_time) AS t, count(*) AS calls,
         list_distinct(list(event_name)) AS operations, list_distinct(list(user_agent)) AS agents,
         count(DISTINCT bucket || '/' || object_key) AS objects, sum(coalesce(bytes_out, 0)) AS bytes_out
  FROM hits GROUP BY ALL
)
SELECT md5(p.detection_id || '|' || g.actor_arn || '|' || g.source_ip || '|' || coalesce(g.access_key_id, '') || '|' || g.day) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.actor_arn AS resource, p.attack_ids,
       CAST(json_object('access_key_id', c.access_key_id, 'session', c.session_name, 'calls_that_day', g.calls, 'operations', g.operations[1:20], 'user_agents', g.agents[1:5], 'objects', g.objects, 'bytes_out', g.bytes_out) AS VARCHAR) AS evidence, c.source_uri
FROM g JOIN hits c ON c.actor_arn = g.actor_arn AND c.source_ip = g.source_ip AND c.access_key_id IS NOT DISTINCT FROM g.access_key_id AND c.event_time = g.t, params p
QUALIFY row_number() OVER (PARTITION BY g.actor_arn, g.source_ip, g.access_key_id, g.day ORDER BY c.source_uri, c.source_offset) = 1
