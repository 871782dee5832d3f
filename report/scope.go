package report

import (
	"encoding/json"
	"fmt"
	"time"
)

// Scope is the reconstructed extent of a leak, exactly the JSON of
// "leakscope scope --format json" (SPEC §6). Nil slices marshal as [].
type Scope struct {
	Window        Window      `json:"window"`
	Principals    []Principal `json:"principals"`
	AccessKeys    []string    `json:"access_keys"`
	SourceIPs     []string    `json:"source_ips"`
	Objects       []Object    `json:"objects"`
	Transfers     []Transfer  `json:"transfers"`
	NetworkEgress []Egress    `json:"network_egress"`
	Totals        Totals      `json:"totals"`
}

// Window is the time range the scope covers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Principal types (SPEC §6).
const (
	PrincipalIAMUser     = "iam-user"
	PrincipalRole        = "role"
	PrincipalAssumedRole = "assumed-role"
	PrincipalRoot        = "root"
	PrincipalAWSAccount  = "aws-account"
	PrincipalService     = "service"
)

// AI services a principal may belong to (SPEC §6); empty is JSON null.
const (
	AISageMaker = "sagemaker"
	AIBedrock   = "bedrock"
	AILambda    = "lambda"
	AIAgent     = "agent"
)

// AIService is sagemaker, bedrock, lambda, agent, or "" (JSON null).
type AIService string

// MarshalJSON writes null for the empty service.
func (a AIService) MarshalJSON() ([]byte, error) {
	if a == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(a))
}

// UnmarshalJSON accepts null or a string.
func (a *AIService) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = AIService(s)
	return nil
}

// Principal is an identity that acted in the leak.
type Principal struct {
	ARN       string    `json:"arn"`
	Type      string    `json:"type"`
	AIService AIService `json:"ai_service"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Object is one S3 object read in the leak.
type Object struct {
	URI       string    `json:"uri"`
	Bytes     int64     `json:"bytes"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Evidence  []string  `json:"evidence"` // tables that show it: cloudtrail, s3_access
}

// Transfer kinds (SPEC §6).
const (
	TransferCrossRegionCopy = "cross_region_copy"
	TransferReplication     = "replication"
	TransferPolicyGrant     = "policy_grant"
	TransferACLGrant        = "acl_grant"
	TransferExternalRead    = "external_read"
	TransferSnapshotShare   = "snapshot_share"
	TransferImageShare      = "image_share"
	TransferDBSnapshotShare = "db_snapshot_share"
	TransferExport          = "export"
)

// Transfer is data moved or exposed across a region or account boundary.
type Transfer struct {
	Kind              string    `json:"kind"`
	Source            string    `json:"source"`
	Destination       string    `json:"destination"`
	SourceRegion      string    `json:"source_region"`
	DestinationRegion string    `json:"destination_region"`
	Account           string    `json:"account"`
	Bytes             int64     `json:"bytes"`
	Time              time.Time `json:"time"`
	Evidence          []string  `json:"evidence"`
}

// Egress is network traffic that carried data out (VPC Flow Logs).
type Egress struct {
	Interface string    `json:"interface"`
	SrcIP     string    `json:"src_ip"`
	DstIP     string    `json:"dst_ip"`
	DstPort   int       `json:"dst_port"`
	Bytes     int64     `json:"bytes"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Totals sums the scope.
type Totals struct {
	Objects          int64 `json:"objects"`
	BytesRead        int64 `json:"bytes_read"`
	BytesTransferred int64 `json:"bytes_transferred"`
	BytesEgress      int64 `json:"bytes_egress"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (s Scope) MarshalJSON() ([]byte, error) {
	type plain Scope
	p := plain(s)
	p.Principals = nonNil(p.Principals)
	p.AccessKeys = nonNil(p.AccessKeys)
	p.SourceIPs = nonNil(p.SourceIPs)
	p.Objects = append([]Object{}, p.Objects...) // copies: the caller's value is not touched
	for i := range p.Objects {
		p.Objects[i].Evidence = nonNil(p.Objects[i].Evidence)
	}
	p.Transfers = append([]Transfer{}, p.Transfers...)
	for i := range p.Transfers {
		p.Transfers[i].Evidence = nonNil(p.Transfers[i].Evidence)
	}
	p.NetworkEgress = nonNil(p.NetworkEgress)
	return json.Marshal(p)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DerivePaths draws what the scope alone can say about data paths, for
// callers that have no per-session path data: with one principal, every
// access key, bucket read and destination (transfer destinations and
// egress addresses) hangs off it; with several principals the link
// between identity and data is not in the scope and no paths are made.
func DerivePaths(s Scope) []Path {
	if len(s.Principals) != 1 {
		return nil
	}
	id := s.Principals[0].ARN
	session := ""
	if len(s.AccessKeys) == 1 {
		session = s.AccessKeys[0]
	}
	byBucket := map[string]int64{}
	var buckets []string
	for _, o := range s.Objects {
		b, ok := bucketOf(o.URI)
		if !ok {
			continue
		}
		if _, seen := byBucket[b]; !seen {
			buckets = append(buckets, b)
		}
		byBucket[b] += o.Bytes
	}
	var out []Path
	for _, t := range s.Transfers {
		out = append(out, Path{Identity: id, Session: session, Data: t.Source, Destination: t.Destination, Bytes: t.Bytes})
	}
	for _, e := range s.NetworkEgress {
		out = append(out, Path{Identity: id, Session: session, Data: e.SrcIP, Destination: fmt.Sprintf("%s:%d", e.DstIP, e.DstPort), Bytes: e.Bytes})
	}
	if len(out) == 0 {
		for _, b := range buckets {
			out = append(out, Path{Identity: id, Session: session, Data: "s3://" + b, Bytes: byBucket[b]})
		}
	}
	return out
}
