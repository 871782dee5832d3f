-- Lambda execution role changes IAM.
WITH fn_roles AS (
  SELECT DISTINCT json_extract_string(request_parameters, '$.role') AS role FROM cloudtrail
  WHERE event_source = 'lambda.amazonaws.com' AND starts_with(event_name, 'CreateFunction') OR starts_with(event_name, 'UpdateFunctionConfiguration')
  UNION SELECT DISTINCT actor_arn FROM cloudtrail WHERE identity_type = 'AssumedRole' AND user_agent LIKE '%exec-env/AWS_Lambda%'
)
SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, coalesce(json_extract_string(c.request_parameters, '$.userName'), json_extract_string(c.request_parameters, '$.roleName'), json_extract_string(c.request_parameters, '$.policyArn')) AS resource, p.attack_ids,
       CAST(json_object('request', c.request_parameters, 'user_agent', c.user_agent) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c JOIN fn_roles r ON c.actor_arn = r.role, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND c.event_source = 'iam.amazonaws.com' AND NOT coalesce(c.read_only, false) AND c.error_code IS NULL
  AND NOT (starts_with(c.event_name, 'Get') OR starts_with(c.event_name, 'List') OR starts_with(c.event_name, 'Generate') OR starts_with(c.event_name, 'Simulate'))
