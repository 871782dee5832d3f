package scope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/leakscope/leakscope/report"
)

// Config is the --config JSON file: site knowledge the logs do not carry.
//
//	{
//	  "ai_principals": [{"match": "arn:aws:iam::*:role/ml-*", "service": "sagemaker", "reason": "ML platform roles"}],
//	  "interfaces":    [{"resource": "ml-research-nb", "interfaces": ["eni-0f66a77b88c99daa6"]}],
//	  "internal_networks": ["203.0.113.0/28"]
//	}
//
// ai_principals match principal, session or role ARNs with shell globs
// ("*" crosses "/"); interfaces map a resource an in-scope identity named
// (notebook instance, instance id, function name) to the network
// interfaces or instance ids it runs on; internal_networks are never
// egress destinations.
type Config struct {
	AIPrincipals     []AIPattern    `json:"ai_principals"`
	Interfaces       []Inventory    `json:"interfaces"`
	InternalNetworks []netip.Prefix `json:"internal_networks"`
}

// AIPattern classifies matching principals as an AI service.
type AIPattern struct {
	Match   string `json:"match"`
	Service string `json:"service"`
	Reason  string `json:"reason"`
}

// Inventory ties a named resource to interfaces (eni-…) or instances (i-…).
type Inventory struct {
	Resource   string   `json:"resource"`
	Interfaces []string `json:"interfaces"`
}

var aiServices = []string{report.AISageMaker, report.AIBedrock, report.AILambda, report.AIAgent}

// LoadConfig reads and validates a --config file.
func LoadConfig(file string) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", file, err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes a config document strictly.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w (expected keys ai_principals, interfaces, internal_networks)", err)
	}
	for i, p := range c.AIPrincipals {
		if !slices.Contains(aiServices, p.Service) {
			return nil, fmt.Errorf("config: ai_principals[%d].service %q: use one of %s", i, p.Service, strings.Join(aiServices, ", "))
		}
		if _, err := path.Match(p.Match, ""); err != nil || p.Match == "" {
			return nil, fmt.Errorf("config: ai_principals[%d].match %q is not a glob pattern", i, p.Match)
		}
	}
	for i, inv := range c.Interfaces {
		if inv.Resource == "" || len(inv.Interfaces) == 0 {
			return nil, fmt.Errorf("config: interfaces[%d] needs a resource and at least one interface", i)
		}
	}
	return &c, nil
}

// globMatch matches s against a shell glob in which "*" also matches "/".
func globMatch(pattern, s string) bool {
	p := strings.ReplaceAll(pattern, "/", "\x00")
	ok, _ := path.Match(p, strings.ReplaceAll(s, "/", "\x00"))
	return ok
}
