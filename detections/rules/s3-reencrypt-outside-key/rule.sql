-- S3 objects encrypted with an outside KMS key or SSE-C
-- One finding per matching CloudTrail event. Parameters come from the
-- one-row table params (see detections/doc.go).
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.bucket || coalesce('/' || c.object_key, '') AS resource, p.attack_ids,
       CAST(json_object('request', c.request_parameters, 'additional', c.additional_event_data) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (c.error_code IS NULL OR c.error_code = 'Success')
  AND c.event_name IN ('PutObject', 'CopyObject', 'CreateMultipartUpload', 'PutBucketEncryption')
  AND ((regexp_extract(c.request_parameters, 'arn:aws[a-z-]*:kms:[a-z0-9-]+:([0-9]{12}):key', 1) NOT IN ('', coalesce(c.recipient_account_id, c.account_id))
        AND NOT list_contains(p.trusted_accounts, regexp_extract(c.request_parameters, 'arn:aws[a-z-]*:kms:[a-z0-9-]+:([0-9]{12}):key', 1)))
       OR regexp_matches(c.request_parameters, 'x-amz-server-side-encryption-customer-algorithm')
       OR json_extract_string(c.additional_event_data, '$.SSECustomerAlgorithm') IS NOT NULL)
