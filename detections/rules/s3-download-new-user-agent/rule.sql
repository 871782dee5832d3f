-- S3 download with a never-seen user agent for the principal
-- A principal with history (min_history_events on the previous baseline_days days)
-- reads objects with a user_agent it never used before; one finding per
-- principal, user_agent and day.
WITH reads AS (
  SELECT * FROM cloudtrail, params p
  WHERE event_name = 'GetObject' AND error_code IS NULL AND actor_arn IS NOT NULL AND user_agent IS NOT NULL
    AND event_time >= p.window_start AND event_time < p.window_end
), firsts AS (
  SELECT actor_arn, user_agent AS val, CAST(event_time AS DATE) AS day, min(event_time) AS t, count(*) AS reads,
         arg_min(source_uri, event_time) AS uri, arg_min(source_ip, event_time) AS ip, arg_min(bucket, event_time) AS bucket,
         any_value(coalesce(recipient_account_id, account_id)) AS account, any_value(aws_region) AS region
  FROM reads GROUP BY ALL
), ever AS (
  SELECT actor_arn, user_agent AS val, min(event_time) AS t0 FROM cloudtrail
  WHERE actor_arn IN (SELECT actor_arn FROM reads) GROUP BY ALL
), daily AS (
  SELECT actor_arn, CAST(event_time AS DATE) AS day, count(*) AS n FROM cloudtrail
  WHERE actor_arn IN (SELECT actor_arn FROM reads) GROUP BY ALL
), novel AS (
  SELECT f.* FROM firsts f JOIN ever e ON e.actor_arn = f.actor_arn AND e.val = f.val AND e.t0 = f.t, params p
  WHERE coalesce((SELECT sum(d.n) FROM daily d WHERE d.actor_arn = f.actor_arn AND d.day < f.day
                    AND d.day >= f.day - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
)
SELECT md5(p.detection_id || '|' || n.actor_arn || '|' || n.val || '|' || n.day) AS finding_id,
       p.detection_id, p.title, p.severity, n.t AS event_time, n.actor_arn, n.ip AS source_ip,
       n.account AS account_id, n.region, 'GetObject' AS operation, n.bucket AS resource, p.attack_ids,
       CAST(json_object('user_agent', n.val, 'reads_that_day', n.reads) AS VARCHAR) AS evidence, n.uri AS source_uri
FROM novel n, params p
