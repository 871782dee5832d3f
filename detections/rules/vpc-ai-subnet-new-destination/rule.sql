-- AI workload subnet talks to a new internet destination (VPC Flow Logs).
WITH f AS (
  SELECT *, coalesce(start_time, end_time) AS t, coalesce(pkt_dstaddr, dst_addr) AS dst FROM vpc_flow, params p
  WHERE action = 'ACCEPT' AND list_contains(p.ai_subnets, subnet_id) AND coalesce(flow_direction, 'egress') = 'egress'
    AND regexp_matches(coalesce(pkt_dstaddr, dst_addr), '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
    AND NOT regexp_matches(coalesce(pkt_dstaddr, dst_addr), '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
), firsts AS (
  SELECT subnet_id, dst, min(t) AS t, sum(bytes) AS bytes FROM f GROUP BY 1, 2
), daily AS (
  SELECT subnet_id, CAST(t AS DATE) AS day, count(*) AS n FROM f GROUP BY 1, 2
)
SELECT md5(p.detection_id || '|' || c.subnet_id || '|' || c.dst) AS finding_id,
       p.detection_id, p.title, p.severity, c.t AS event_time, coalesce(c.instance_id, c.interface_id) AS actor_arn,
       coalesce(c.pkt_srcaddr, c.src_addr) AS source_ip, c.account_id, c.region, 'egress' AS operation, c.dst AS resource, p.attack_ids,
       CAST(json_object('interface', c.interface_id, 'subnet', c.subnet_id, 'dst_port', c.dst_port, 'bytes_total', n.bytes) AS VARCHAR) AS evidence,
       c.source_uri
FROM firsts n JOIN f c ON c.subnet_id = n.subnet_id AND c.dst = n.dst AND c.t = n.t, params p
WHERE c.t >= p.window_start AND c.t < p.window_end AND n.bytes >= p.min_bytes
  AND coalesce((SELECT sum(d.n) FROM daily d WHERE d.subnet_id = c.subnet_id AND d.day < CAST(c.t AS DATE)), 0) >= p.min_history_flows
