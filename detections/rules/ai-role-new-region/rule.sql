-- AI execution role active in a region it never used.
WITH sm_roles AS (
  SELECT DISTINCT coalesce(role_arn, json_extract_string(request_parameters, '$.roleArn')) AS role FROM cloudtrail
  WHERE event_name = 'AssumeRole' AND (invoked_by = 'sagemaker.amazonaws.com' OR source_ip = 'sagemaker.amazonaws.com')
  UNION SELECT a.actor_arn FROM (SELECT DISTINCT actor_arn FROM cloudtrail WHERE identity_type = 'AssumedRole') a, params p
  WHERE regexp_matches(a.actor_arn, p.role_pattern)
), daily AS (
  SELECT c.actor_arn, CAST(c.event_time AS DATE) AS day, count(*) AS n FROM cloudtrail c JOIN sm_roles r ON c.actor_arn = r.role GROUP BY ALL
), firsts AS (
  SELECT c.actor_arn, c.aws_region, min(c.event_time) AS t FROM cloudtrail c JOIN sm_roles r ON c.actor_arn = r.role
  WHERE c.identity_type = 'AssumedRole' GROUP BY ALL
), novel AS (
  -- history: the role's events on earlier days, or earlier the same day in other regions
  SELECT f.* FROM firsts f, params p
  WHERE f.t >= p.window_start AND f.t < p.window_end
    AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.actor_arn = f.actor_arn AND d.day < CAST(f.t AS DATE)), 0)
        + (SELECT count(*) FROM firsts o WHERE o.actor_arn = f.actor_arn AND o.t < f.t) >= p.min_history_events
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.actor_arn AS resource, p.attack_ids,
       CAST(json_object('new_region', c.aws_region, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM novel n JOIN cloudtrail c ON c.actor_arn = n.actor_arn AND c.aws_region = n.aws_region AND c.event_time = n.t, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
