-- S3 bucket policy grants access to everyone
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
  AND EXISTS (
    SELECT 1 FROM (SELECT unnest(
        CASE json_type(json_extract(c.request_parameters, '$.bucketPolicy.Statement')) WHEN 'ARRAY'
             THEN CAST(json_extract(c.request_parameters, '$.bucketPolicy.Statement') AS JSON[])
             ELSE [json_extract(c.request_parameters, '$.bucketPolicy.Statement')] END) AS st)
    WHERE json_extract_string(st, '$.Effect') = 'Allow'
      AND json_extract(st, '$.Condition') IS NULL
      AND (json_extract_string(st, '$.Principal') = '*'
           OR regexp_matches(CAST(json_extract(st, '$.Principal.AWS') AS VARCHAR), '^\[?\s*"\*"')))
