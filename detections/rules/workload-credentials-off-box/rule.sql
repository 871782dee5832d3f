-- Workload (EC2 instance) credentials used from a second address.
WITH sess AS (
  SELECT access_key_id, source_ip, event_time, actor_arn, recipient_account_id, account_id, aws_region, event_name,
         session_name, user_agent, source_uri, source_offset
  FROM cloudtrail
  WHERE identity_type = 'AssumedRole' AND regexp_full_match(session_name, 'i-[0-9a-f]{8,17}') AND access_key_id IS NOT NULL
    AND vpc_endpoint_id IS NULL AND regexp_matches(source_ip, '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
    AND NOT regexp_matches(source_ip, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
), addrs AS (
  -- first use of each (key, address)
  SELECT access_key_id, source_ip, min(event_time) AS t FROM sess GROUP BY 1, 2
), home AS (
  SELECT access_key_id, arg_min(source_ip, t) AS ip FROM addrs GROUP BY 1
), away AS (
  SELECT a.access_key_id, a.source_ip, a.t FROM addrs a JOIN home h USING (access_key_id) WHERE a.source_ip <> h.ip
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, c.session_name AS resource, p.attack_ids,
       CAST(json_object('access_key_id', c.access_key_id, 'first_address', h.ip, 'other_address', c.source_ip, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM away a JOIN sess c ON c.access_key_id = a.access_key_id AND c.source_ip = a.source_ip AND c.event_time = a.t
     JOIN home h ON h.access_key_id = a.access_key_id, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
