package cloudtrail

import (
	"bytes"
	"path"
	"strings"

	"github.com/leakscope/leakscope/ingest"
)

// Spec describes the CloudTrail source for the ingest pipeline.
func Spec() ingest.Spec[Row] {
	return ingest.Spec[Row]{
		Name:   "cloudtrail",
		Table:  "cloudtrail",
		Sniff:  Sniff,
		Decode: Decode,
		Unindexed: []string{"user_identity", "request_parameters", "response_elements", "additional_event_data",
			"resources", "service_event_details", "tls_details", "insight_details", "extra_fields"},
		Bloom: []string{
			"access_key_id", "actor_arn", "principal_arn", "source_ip", "bucket",
			"event_id", "request_id", "issued_access_key_id",
		},
	}
}

// Sniff reports how sure it is (0-100) that an object holds CloudTrail
// records (or a CloudTrail digest), from its key and first decompressed
// bytes.
func Sniff(key string, head []byte) int {
	if strings.Contains(key, "/CloudTrail/") || strings.HasPrefix(key, "CloudTrail/") ||
		strings.Contains(key, "/CloudTrail-Insight/") || strings.Contains(key, "CloudTrail-Digest") {
		return 100
	}
	if base := path.Base(key); strings.Contains(base, "_CloudTrail_") &&
		(strings.HasSuffix(base, ".json.gz") || strings.HasSuffix(base, ".json")) {
		return 100
	}
	h := bytes.TrimLeft(head, " \t\r\n\xEF\xBB\xBF")
	if len(h) == 0 {
		return 0
	}
	if h[0] != '{' && h[0] != '[' {
		// Not JSON as it stands, but a damaged CloudTrail object (a
		// fragment missing its opening brace) is still CloudTrail: decode
		// it so its records are quarantined, not skipped.
		n := 0
		for _, k := range sniffKeys[:4] {
			if bytes.Contains(h, k) {
				n++
			}
		}
		if n >= 2 && h[0] == '"' {
			return 40
		}
		return 0
	}
	if rest := bytes.TrimLeft(h[1:], " \t\r\n"); bytes.HasPrefix(rest, []byte(`"Records"`)) {
		return 95
	}
	for _, k := range sniffKeys {
		if bytes.Contains(h, k) {
			return 90
		}
	}
	return 0
}

var sniffKeys = [][]byte{
	[]byte(`"eventVersion"`), []byte(`"eventSource"`), []byte(`"eventTime"`), []byte(`"userIdentity"`),
	[]byte(`"digestStartTime"`), []byte(`"logFiles"`),
}
