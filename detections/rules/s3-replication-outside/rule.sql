-- S3 replication to another account or region.
WITH seen AS (
  SELECT bucket, any_value(aws_region) AS region FROM cloudtrail
  WHERE bucket IS NOT NULL AND event_name <> 'PutBucketReplication' GROUP BY bucket
), ev AS (
  SELECT c.*, regexp_extract_all(c.request_parameters, '"Bucket"\s*:\s*"arn:aws[a-z-]*:s3:::([^"]+)"', 1) AS dests,
         regexp_extract_all(c.request_parameters, '"Account"\s*:\s*"([0-9]{12})"', 1) AS accts
  FROM cloudtrail c, params p
  WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
    AND c.event_name = 'PutBucketReplication' AND (c.error_code IS NULL OR c.error_code = 'Success')
)
SELECT md5(p.detection_id || '|' || ev.source_uri || '|' || ev.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, ev.event_time, ev.actor_arn, ev.source_ip,
       coalesce(ev.recipient_account_id, ev.account_id) AS account_id, ev.aws_region AS region,
       ev.event_name AS operation, ev.bucket AS resource, p.attack_ids,
       CAST(json_object('bucket', ev.bucket, 'destinations', ev.dests, 'destination_accounts', ev.accts,
            'request', ev.request_parameters) AS VARCHAR) AS evidence, ev.source_uri
FROM ev, params p
WHERE len(list_filter(ev.accts, a -> a <> coalesce(ev.recipient_account_id, ev.account_id) AND NOT list_contains(p.trusted_accounts, a))) > 0
   OR EXISTS (SELECT 1 FROM seen s WHERE list_contains(ev.dests, s.bucket) AND s.region <> ev.aws_region)
