-- Bulk object reads through presigned URLs (server access logs).
WITH g AS (
  SELECT remote_ip, bucket, date_trunc('hour', event_time) AS hour, count(*) AS requests,
         count(DISTINCT key) AS objects, sum(coalesce(bytes_sent, 0)) AS bytes, min(event_time) AS t,
         arg_min(source_uri, event_time) AS uri, any_value(requester) AS requester,
         any_value(account) AS account, any_value(region) AS region
  FROM s3_access, params p
  WHERE operation = 'REST.GET.OBJECT' AND auth_type = 'QueryString' AND http_status BETWEEN 200 AND 299
    AND event_time >= p.window_start AND event_time < p.window_end
  GROUP BY ALL
)
SELECT md5(p.detection_id || '|' || g.bucket || '|' || g.remote_ip || '|' || g.hour) AS finding_id,
       p.detection_id, p.title, p.severity, g.t AS event_time, g.requester AS actor_arn, g.remote_ip AS source_ip,
       g.account AS account_id, g.region, 'REST.GET.OBJECT' AS operation, g.bucket AS resource, p.attack_ids,
       CAST(json_object('hour', g.hour, 'requests', g.requests, 'objects', g.objects, 'bytes', g.bytes) AS VARCHAR) AS evidence,
       g.uri AS source_uri
FROM g, params p
WHERE g.requests >= p.min_requests
