-- Activity from a never-seen external account.
WITH x AS (
  SELECT * FROM cloudtrail
  WHERE account_id IS NOT NULL AND recipient_account_id IS NOT NULL AND account_id <> recipient_account_id
    AND identity_type NOT IN ('AWSService', 'AWSAccount')
), firsts AS (
  SELECT recipient_account_id, account_id, min(event_time) AS t FROM x GROUP BY 1, 2
), daily AS (
  SELECT recipient_account_id, CAST(event_time AS DATE) AS day, count(*) AS n FROM cloudtrail GROUP BY 1, 2
)
SELECT md5(p.detection_id || '|' || c.recipient_account_id || '|' || c.account_id) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, coalesce(c.bucket, c.event_source) AS resource, p.attack_ids,
       CAST(json_object('caller_account', c.account_id, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM firsts f JOIN x c ON c.recipient_account_id = f.recipient_account_id AND c.account_id = f.account_id AND c.event_time = f.t, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND NOT list_contains(p.trusted_accounts, c.account_id)
  AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.recipient_account_id = c.recipient_account_id AND d.day < CAST(c.event_time AS DATE)
         AND d.day >= CAST(c.event_time AS DATE) - CAST(p.baseline_days AS INTEGER)), 0) >= p.min_history_events
