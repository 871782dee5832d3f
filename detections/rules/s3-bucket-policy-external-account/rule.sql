-- S3 bucket policy grants access to another AWS account
-- One finding per matching CloudTrail event. Parameters come from the
-- one-row table params (see detections/doc.go).
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.bucket AS resource, p.attack_ids,
       CAST(json_object('bucket', c.bucket, 'policy', json_extract(c.request_parameters, '$.bucketPolicy')) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (c.error_code IS NULL OR c.error_code = 'Success')
  AND c.event_name = 'PutBucketPolicy'
  AND len(list_filter(
        list_distinct(regexp_extract_all(CAST(json_extract(c.request_parameters, '$.bucketPolicy') AS VARCHAR),
                                         '(?:arn:aws[a-z-]*:iam::|"AWS"\s*:\s*\[?\s*")([0-9]{12})', 1)),
        a -> a <> coalesce(c.recipient_account_id, c.account_id) AND NOT list_contains(p.trusted_accounts, a))) > 0
