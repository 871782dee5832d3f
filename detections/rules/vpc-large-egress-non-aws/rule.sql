-- Large egress from private addresses to a non-AWS destination (VPC Flow Logs).
WITH f AS (
  SELECT *, coalesce(start_time, end_time) AS t FROM vpc_flow, params p
  WHERE action = 'ACCEPT' AND coalesce(start_time, end_time) >= p.window_start AND coalesce(start_time, end_time) < p.window_end
    AND regexp_matches(coalesce(pkt_srcaddr, src_addr), '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.)')
    AND regexp_matches(coalesce(pkt_dstaddr, dst_addr), '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
    AND NOT regexp_matches(coalesce(pkt_dstaddr, dst_addr), '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
    AND pkt_dst_aws_service IS NULL AND coalesce(flow_direction, 'egress') = 'egress'
), g AS (
  SELECT interface_id, coalesce(pkt_dstaddr, dst_addr) AS dst, date_trunc('hour', t) AS hour, sum(bytes) AS bytes, count(*) AS flows,
         min(t) AS first_t, arg_min(coalesce(pkt_srcaddr, src_addr), t) AS src, arg_min(source_uri, t) AS uri,
         any_value(account_id) AS account, any_value(region) AS region,
         list_distinct(list(dst_port)) AS ports, any_value(instance_id) AS instance, any_value(subnet_id) AS subnet
  FROM f GROUP BY 1, 2, 3
)
SELECT md5(p.detection_id || '|' || g.interface_id || '|' || g.dst || '|' || g.hour) AS finding_id,
       p.detection_id, p.title, p.severity, g.first_t AS event_time, coalesce(g.instance, g.interface_id) AS actor_arn, g.src AS source_ip,
       g.account AS account_id, g.region, 'egress' AS operation, g.dst AS resource, p.attack_ids,
       CAST(json_object('interface', g.interface_id, 'subnet', g.subnet, 'bytes', g.bytes, 'flows', g.flows, 'dst_ports', g.ports, 'hour', g.hour) AS VARCHAR) AS evidence,
       g.uri AS source_uri
FROM g, params p
WHERE g.bytes >= p.min_bytes
