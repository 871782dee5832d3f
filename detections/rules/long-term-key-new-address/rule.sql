-- Long-term access key used from a never-seen address.
-- One pass over cloudtrail: per key, address and day, the event count and
-- the first event (with the columns the finding reports).
WITH g AS (
  SELECT access_key_id, source_ip, CAST(event_time AS DATE) AS day, count(*) AS n, min(event_time) AS t,
         arg_min(actor_arn, event_time) AS actor_arn, arg_min(coalesce(recipient_account_id, account_id), event_time) AS account_id,
         arg_min(aws_region, event_time) AS region, arg_min(event_name, event_time) AS operation,
         arg_min(user_agent, event_time) AS user_agent, arg_min(source_uri, event_time) AS source_uri
  FROM cloudtrail WHERE starts_with(access_key_id, 'AKIA') AND source_ip IS NOT NULL
  GROUP BY ALL
), daily AS (
  SELECT access_key_id, day, sum(n) AS n FROM g GROUP BY ALL
), firsts AS (
  SELECT * FROM g QUALIFY t = min(t) OVER (PARTITION BY access_key_id, source_ip)
)
SELECT md5(p.detection_id || '|' || c.access_key_id || '|' || c.source_ip) AS finding_id,
       p.detection_id, p.title, p.severity, c.t AS event_time, c.actor_arn, c.source_ip,
       c.account_id, c.region,
       c.operation, c.access_key_id AS resource, p.attack_ids,
       CAST(json_object('access_key_id', c.access_key_id, 'new_address', c.source_ip, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM firsts c, params p
WHERE c.t >= p.window_start AND c.t < p.window_end
  AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.access_key_id = c.access_key_id AND d.day < c.day
         AND d.day >= c.day - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
