-- S3 download volume per requester far above its baseline (server access logs).
WITH daily AS (
  SELECT coalesce(nullif(requester_arn, ''), nullif(requester, ''), 'anonymous@' || remote_ip) AS who,
         CAST(event_time AS DATE) AS day, sum(coalesce(bytes_sent, 0)) AS bytes, count(*) AS requests,
         count(DISTINCT bucket || '/' || key) AS objects, min(event_time) AS first_time, max(event_time) AS last_time,
         arg_min(remote_ip, event_time) AS first_ip, arg_min(source_uri, event_time) AS first_uri,
         any_value(account) AS account, any_value(region) AS region, list_distinct(list(bucket)) AS buckets
  FROM s3_access
  WHERE operation = 'REST.GET.OBJECT' AND http_status BETWEEN 200 AND 299
  GROUP BY ALL
), scored AS (
  SELECT d.*, b.baseline, b.baseline_days_active
  FROM daily d, params p, LATERAL (
    SELECT avg(b.bytes) AS baseline, count(*) AS baseline_days_active FROM daily b
    WHERE b.who = d.who AND b.day < d.day AND b.day >= d.day - CAST(p.baseline_days AS INTEGER)) b
  WHERE d.last_time >= p.window_start AND d.first_time < p.window_end AND d.bytes >= p.min_bytes
)
SELECT md5(p.detection_id || '|' || s.who || '|' || s.day) AS finding_id,
       p.detection_id, p.title, p.severity, s.first_time AS event_time, s.who AS actor_arn, s.first_ip AS source_ip,
       s.account AS account_id, s.region AS region, 'REST.GET.OBJECT' AS operation, array_to_string(s.buckets, ',') AS resource, p.attack_ids,
       CAST(json_object('day', s.day, 'bytes', s.bytes, 'requests', s.requests, 'objects', s.objects, 'baseline_daily_bytes', s.baseline, 'baseline_days_active', s.baseline_days_active, 'last_time', s.last_time) AS VARCHAR) AS evidence, s.first_uri AS source_uri
FROM scored s, params p
WHERE s.baseline_days_active >= p.min_baseline_days AND s.bytes > p.multiplier * s.baseline
