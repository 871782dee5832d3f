-- Long-term access key used from a never-seen address.
WITH k AS (
  SELECT * FROM cloudtrail WHERE starts_with(access_key_id, 'AKIA') AND source_ip IS NOT NULL
), firsts AS (
  SELECT access_key_id, source_ip, min(event_time) AS t FROM k GROUP BY 1, 2
), daily AS (
  SELECT access_key_id, CAST(event_time AS DATE) AS day, count(*) AS n FROM k GROUP BY 1, 2
)
SELECT md5(p.detection_id || '|' || c.access_key_id || '|' || c.source_ip) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.access_key_id AS resource, p.attack_ids,
       CAST(json_object('access_key_id', c.access_key_id, 'new_address', c.source_ip, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM firsts f JOIN k c ON c.access_key_id = f.access_key_id AND c.source_ip = f.source_ip AND c.event_time = f.t, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.access_key_id = c.access_key_id AND d.day < CAST(c.event_time AS DATE)
         AND d.day >= CAST(c.event_time AS DATE) - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
