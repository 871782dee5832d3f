-- CopyObject between buckets of different accounts.
WITH ev AS (
  SELECT c.*, list_distinct(regexp_extract_all(c.resources, '"accountId"\s*:\s*"([0-9]{12})"', 1)) AS accts
  FROM cloudtrail c, params p
  WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
    AND c.event_name IN ('CopyObject', 'UploadPartCopy') AND (c.error_code IS NULL OR c.error_code = 'Success')
)
SELECT md5(p.detection_id || '|' || ev.source_uri || '|' || ev.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, ev.event_time, ev.actor_arn, ev.source_ip,
       coalesce(ev.recipient_account_id, ev.account_id) AS account_id, ev.aws_region AS region,
       ev.event_name AS operation, ev.bucket || '/' || coalesce(ev.object_key, '') AS resource, p.attack_ids,
       CAST(json_object('copy_source', json_extract_string(ev.request_parameters, '$."x-amz-copy-source"'),
            'accounts', ev.accts, 'caller_account', ev.account_id) AS VARCHAR) AS evidence, ev.source_uri
FROM ev, params p
WHERE len(list_filter(ev.accts, a -> NOT list_contains(p.trusted_accounts, a))) > 1
   OR (ev.account_id IS NOT NULL AND len(ev.accts) > 0 AND NOT list_contains(ev.accts, ev.account_id)
       AND NOT list_contains(p.trusted_accounts, ev.account_id))
