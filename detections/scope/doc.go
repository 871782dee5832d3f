// Package scope reconstructs a data leak from seeds (principals, access
// keys, addresses, buckets) over the leakscope lake: the identity graph
// (credentials issued by AssumeRole*, GetSessionToken and
// GetFederationToken, role chains across accounts, sourceIdentity, Lambda
// functions created by in-scope identities, and sessions of a compromised
// role that came from addresses or user agents outside its baseline), the
// AI principals among them (SageMaker, Bedrock, agent and Lambda roles),
// every object they read (CloudTrail data events and S3 server access logs
// merged by request id), data moved or exposed across regions and
// accounts (copies, replication, bucket policies and ACLs, snapshot, image
// and DB snapshot sharing, exports, and the outside reads that followed),
// and network egress from the interfaces they used.
//
// A seed access key or principal that was active in the baseline (the
// BaselineDays before the window) keeps its owner's routine: calls in the
// window from an address and user agent pair it already used there are
// left out of the scope (activity, reads, transfers, egress and the
// credentials followed), unless they issued in-scope credentials;
// Result.Routine and the notes say how many and from where.
//
// Build returns the SPEC §6 scope (report.Scope) together with the reasons
// behind each principal and transfer; JSON, Markdown and Table render it.
// Every value taken from logs or users reaches DuckDB as a bound
// parameter.
package scope
