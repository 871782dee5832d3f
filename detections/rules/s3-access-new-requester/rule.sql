-- S3 object downloads by a never-seen requester or address (server access logs).
WITH gets AS (
  SELECT *, coalesce(nullif(requester, ''), '-') AS who FROM s3_access, params p
  WHERE operation = 'REST.GET.OBJECT' AND http_status BETWEEN 200 AND 299
    AND event_time >= p.window_start AND event_time < p.window_end
), firsts AS (
  SELECT bucket, who, remote_ip, CAST(event_time AS DATE) AS day, min(event_time) AS t, count(*) AS reads,
         sum(coalesce(bytes_sent, 0)) AS bytes, arg_min(source_uri, event_time) AS uri,
         any_value(account) AS account, any_value(region) AS region
  FROM gets GROUP BY ALL
), hist AS (
  SELECT * FROM s3_access WHERE bucket IN (SELECT bucket FROM gets)
), who_first AS (
  SELECT bucket, coalesce(nullif(requester, ''), '-') AS who, min(event_time) AS t0 FROM hist GROUP BY ALL
), ip_first AS (
  SELECT bucket, remote_ip, min(event_time) AS t0 FROM hist GROUP BY ALL
), daily AS (
  SELECT bucket, CAST(event_time AS DATE) AS day, count(*) AS n FROM hist GROUP BY ALL
), novel AS (
  SELECT f.*, w.t0 = f.t AS new_requester,
         i.t0 = f.t AND regexp_matches(f.remote_ip, '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
           AND NOT regexp_matches(f.remote_ip, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.)') AS new_address
  FROM firsts f JOIN who_first w ON w.bucket = f.bucket AND w.who = f.who
       JOIN ip_first i ON i.bucket = f.bucket AND i.remote_ip = f.remote_ip, params p
  WHERE coalesce((SELECT sum(d.n) FROM daily d WHERE d.bucket = f.bucket AND d.day < f.day
                    AND d.day >= f.day - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
)
SELECT md5(p.detection_id || '|' || n.bucket || '|' || n.who || '|' || n.remote_ip || '|' || n.day) AS finding_id,
       p.detection_id, p.title, p.severity, n.t AS event_time, n.who AS actor_arn, n.remote_ip AS source_ip,
       n.account AS account_id, n.region, 'REST.GET.OBJECT' AS operation, n.bucket AS resource, p.attack_ids,
       CAST(json_object('new_requester', n.new_requester, 'new_address', n.new_address, 'reads_that_day', n.reads, 'bytes', n.bytes) AS VARCHAR) AS evidence,
       n.uri AS source_uri
FROM novel n, params p
WHERE n.new_requester OR n.new_address
