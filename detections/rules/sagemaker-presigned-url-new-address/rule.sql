-- SageMaker notebook presigned URL requested from a new address: the
-- address never requested a presigned URL in this account before, and
-- the account has min_history_events earlier presigned-URL requests.
WITH urls AS (
  SELECT *, coalesce(recipient_account_id, account_id) AS acct FROM cloudtrail
  WHERE event_name IN ('CreatePresignedNotebookInstanceUrl', 'CreatePresignedDomainUrl') AND error_code IS NULL
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, coalesce(json_extract_string(c.request_parameters, '$.notebookInstanceName'), json_extract_string(c.request_parameters, '$.domainId')) AS resource, p.attack_ids,
       CAST(json_object('user_agent', c.user_agent, 'earlier_requests_in_account', (SELECT count(*) FROM urls h WHERE h.acct = c.acct AND h.event_time < c.event_time)) AS VARCHAR) AS evidence, c.source_uri
FROM urls c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND NOT EXISTS (SELECT 1 FROM urls h WHERE h.acct = c.acct AND h.source_ip = c.source_ip AND h.event_time < c.event_time)
  AND (SELECT count(*) FROM urls h WHERE h.acct = c.acct AND h.event_time < c.event_time) >= p.min_history_events
