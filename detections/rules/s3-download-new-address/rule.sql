-- S3 download from a never-seen address for the principal
-- A principal with history (min_history_events on the previous baseline_days days)
-- reads objects with a source_ip it never used before; one finding per
-- principal, source_ip and day. One pass over cloudtrail: per principal,
-- address and day, the first event and event count (history) and the
-- GetObject reads in the window.
WITH g AS (
  SELECT actor_arn, source_ip AS val, CAST(event_time AS DATE) AS day, min(event_time) AS t0, count(*) AS n,
         min(event_time) FILTER (is_read) AS t, count(*) FILTER (is_read) AS reads,
         arg_min(source_uri, event_time) FILTER (is_read) AS uri, arg_min(source_ip, event_time) FILTER (is_read) AS ip,
         arg_min(bucket, event_time) FILTER (is_read) AS bucket,
         any_value(coalesce(recipient_account_id, account_id)) FILTER (is_read) AS account, any_value(aws_region) FILTER (is_read) AS region
  FROM (SELECT c.*, (c.event_name = 'GetObject' AND c.error_code IS NULL AND c.source_ip IS NOT NULL
                     AND c.event_time >= p.window_start AND c.event_time < p.window_end) AS is_read
        FROM cloudtrail c, params p WHERE c.actor_arn IS NOT NULL)
  GROUP BY ALL
), daily AS (
  SELECT actor_arn, day, sum(n) AS n FROM g GROUP BY ALL
), firsts AS (
  SELECT *, min(t0) OVER (PARTITION BY actor_arn, val) AS ever FROM g
), novel AS (
  SELECT f.* FROM firsts f, params p
  WHERE f.reads > 0 AND f.val IS NOT NULL AND f.ever = f.t
    AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.actor_arn = f.actor_arn AND d.day < f.day
                    AND d.day >= f.day - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
)
SELECT md5(p.detection_id || '|' || n.actor_arn || '|' || n.val || '|' || n.day) AS finding_id,
       p.detection_id, p.title, p.severity, n.t AS event_time, n.actor_arn, n.ip AS source_ip,
       n.account AS account_id, n.region, 'GetObject' AS operation, n.bucket AS resource, p.attack_ids,
       CAST(json_object('source_ip', n.val, 'reads_that_day', n.reads) AS VARCHAR) AS evidence, n.uri AS source_uri
FROM novel n, params p
