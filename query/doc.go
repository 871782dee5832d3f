// Package query owns the embedded DuckDB engine over the leakscope lake.
//
// Open exposes every lake table as a view (cloudtrail, s3_access,
// vpc_flow with the Hive partition columns account, region and date;
// findings with date), the ingest manifest and quarantine, and two
// convenience views: events (the three sources normalised to one shape)
// and s3_reads (object reads from CloudTrail data events and server access
// logs, one row per request id). After setup DuckDB can read nothing
// outside the lake and its settings are locked; CheckReadOnly admits only
// a single query statement.
//
// FollowIdentities walks from seed keys and principals to the credentials
// they obtained (AssumeRole*, GetSessionToken, GetFederationToken),
// through role chains and accounts, and back to the call that issued a
// session; Timeline turns the result into one time-ordered story across
// the three sources, each row saying why it is included. Every value from
// logs or users is bound as a parameter.
//
// Render writes results as an aligned terminal table (control characters
// and escape sequences neutralised), CSV that spreadsheets cannot execute,
// JSON, JSON Lines, Timesketch JSONL or Parquet.
package query
