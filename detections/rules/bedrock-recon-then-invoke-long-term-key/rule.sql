-- Bedrock model reconnaissance then invocation with a long-term access key.
WITH br AS (
  SELECT * FROM cloudtrail WHERE event_source = 'bedrock.amazonaws.com' AND starts_with(access_key_id, 'AKIA')
), recon AS (
  SELECT * FROM br WHERE event_name IN ('ListFoundationModels', 'GetFoundationModelAvailability', 'ListInferenceProfiles', 'GetFoundationModel',
                                         'ListCustomModels', 'GetModelInvocationLoggingConfiguration', 'ListProvisionedModelThroughputs')
), inv AS (
  SELECT * FROM br WHERE event_name IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream') AND error_code IS NULL
), firsts AS (
  SELECT i.access_key_id, min(i.event_time) AS t FROM inv i, params p
  WHERE i.event_time >= p.window_start AND i.event_time < p.window_end
    AND EXISTS (SELECT 1 FROM recon r WHERE r.access_key_id = i.access_key_id AND r.event_time <= i.event_time
                  AND r.event_time >= i.event_time - to_minutes(CAST(p.window_minutes AS INTEGER)))
  GROUP BY 1
)
SELECT md5(p.detection_id || '|' || c.access_key_id || '|' || c.event_time) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, json_extract_string(c.request_parameters, '$.modelId') AS resource, p.attack_ids,
       CAST(json_object('access_key_id', c.access_key_id, 'model', json_extract_string(c.request_parameters, '$.modelId'), 'recon_calls', (SELECT count(*) FROM recon r WHERE r.access_key_id = c.access_key_id AND r.event_time <= c.event_time)) AS VARCHAR) AS evidence, c.source_uri
FROM firsts f JOIN inv c ON c.access_key_id = f.access_key_id AND c.event_time = f.t, params p
