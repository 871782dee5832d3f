-- CopyObject into a bucket in another region.
WITH seen AS (
  SELECT bucket, min(aws_region) AS region FROM cloudtrail
  WHERE bucket IS NOT NULL AND event_name NOT IN ('CopyObject', 'UploadPartCopy') GROUP BY bucket HAVING count(DISTINCT aws_region) = 1
), ev AS (
  SELECT c.*, split_part(json_extract_string(c.request_parameters, '$."x-amz-copy-source"'), '/', 1) AS src_bucket
  FROM cloudtrail c, params p
  WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
    AND c.event_name IN ('CopyObject', 'UploadPartCopy') AND (c.error_code IS NULL OR c.error_code = 'Success')
)
SELECT md5(p.detection_id || '|' || ev.source_uri || '|' || ev.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, ev.event_time, ev.actor_arn, ev.source_ip,
       coalesce(ev.recipient_account_id, ev.account_id) AS account_id, ev.aws_region AS region,
       ev.event_name AS operation, ev.bucket || '/' || coalesce(ev.object_key, '') AS resource, p.attack_ids,
       CAST(json_object('source_bucket', ev.src_bucket, 'source_region', s.region, 'destination_region', ev.aws_region) AS VARCHAR) AS evidence,
       ev.source_uri
FROM ev JOIN seen s ON s.bucket = ev.src_bucket, params p
WHERE s.region <> ev.aws_region
