-- Short expiration lifecycle on a log bucket
-- One finding per matching CloudTrail event. Parameters come from the
-- one-row table params (see detections/doc.go).
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.bucket AS resource, p.attack_ids,
       CAST(json_object('request', c.request_parameters) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (c.error_code IS NULL OR c.error_code = 'Success')
  AND c.event_name IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration')
  AND list_min(list_transform(regexp_extract_all(c.request_parameters, '"(?:Expiration|NoncurrentVersionExpiration)"\s*:\s*\{[^}]*"(?:Days|NoncurrentDays)"\s*:\s*"?([0-9]+)', 1), x -> CAST(x AS INTEGER))) <= p.max_days
  AND (regexp_matches(c.bucket, p.log_bucket_pattern)
       OR EXISTS (SELECT 1 FROM cloudtrail h WHERE h.event_name IN ('CreateTrail', 'UpdateTrail')
                    AND json_extract_string(h.request_parameters, '$.s3BucketName') = c.bucket)
       OR EXISTS (SELECT 1 FROM cloudtrail h WHERE h.event_name = 'PutBucketLogging'
                    AND json_extract_string(h.request_parameters, '$.BucketLoggingStatus.LoggingEnabled.TargetBucket') = c.bucket))
