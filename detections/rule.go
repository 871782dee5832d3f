package detections

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

//go:embed rules
var catalogFS embed.FS

// Severities in increasing order.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// SeverityRank orders severities; unknown severities rank -1.
func SeverityRank(s string) int { return slices.Index(Severities, s) }

// Attack lists the MITRE ATT&CK tactics (names such as "exfiltration")
// and technique ids (such as "T1537") a rule maps to.
type Attack struct {
	Tactics    []string `json:"tactics"`
	Techniques []string `json:"techniques"`
}

// Meta is a rule's rule.json.
type Meta struct {
	ID             string         `json:"id"`
	Title          string         `json:"title"`
	Severity       string         `json:"severity"`
	Description    string         `json:"description"`
	Attack         Attack         `json:"attack"`
	References     []string       `json:"references"`
	FalsePositives []string       `json:"false_positives"`
	DataSources    []string       `json:"data_sources"`
	Status         string         `json:"status"`
	Params         map[string]any `json:"params"`
	// Author is set for rules compiled from Sigma.
	Author string `json:"author,omitempty"`
}

// Rule is one detection: metadata plus SQL.
type Rule struct {
	Meta
	SQL string
	// Origin says where the rule came from: "catalog", a folder, or a
	// Sigma file.
	Origin string
}

var (
	idRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,80}$`)
	paramRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	techRE     = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	dataSource = []string{"cloudtrail", "s3_access", "vpc_flow"}
	statuses   = []string{"stable", "test", "experimental"}
	// reservedParams are filled by the runner.
	reservedParams = []string{"window_start", "window_end", "detection_id", "title", "severity", "attack_ids"}
)

// Validate checks the metadata is complete.
func (m *Meta) Validate() error {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if !idRE.MatchString(m.ID) {
		add("id %q must be 3-80 lower-case letters, digits and dashes", m.ID)
	}
	if strings.TrimSpace(m.Title) == "" {
		add("title is empty")
	}
	if SeverityRank(m.Severity) < 0 {
		add("severity %q must be one of %s", m.Severity, strings.Join(Severities, ", "))
	}
	if strings.TrimSpace(m.Description) == "" {
		add("description is empty")
	}
	if len(m.Attack.Tactics) == 0 || len(m.Attack.Techniques) == 0 {
		add("attack needs at least one tactic and one technique")
	}
	for _, t := range m.Attack.Techniques {
		if !techRE.MatchString(t) {
			add("attack technique %q is not an ATT&CK id like T1537 or T1078.004", t)
		}
	}
	if len(m.References) == 0 {
		add("references are empty")
	}
	if len(m.FalsePositives) == 0 {
		add("false_positives are empty")
	}
	if len(m.DataSources) == 0 {
		add("data_sources are empty")
	}
	for _, d := range m.DataSources {
		if !slices.Contains(dataSource, d) {
			add("data source %q must be one of %s", d, strings.Join(dataSource, ", "))
		}
	}
	if !slices.Contains(statuses, m.Status) {
		add("status %q must be one of %s", m.Status, strings.Join(statuses, ", "))
	}
	for name, v := range m.Params {
		if !paramRE.MatchString(name) || slices.Contains(reservedParams, name) {
			add("param name %q must be a lower-case identifier and not one of %s", name, strings.Join(reservedParams, ", "))
		}
		if _, _, err := paramValue(v); err != nil {
			add("param %s: %v", name, err)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// AttackIDs is the comma-separated technique list stored with findings.
func (m *Meta) AttackIDs() string { return strings.Join(m.Attack.Techniques, ",") }

// DecodeMeta decodes rule.json strictly.
func DecodeMeta(data []byte) (Meta, error) {
	var m Meta
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if dec.More() {
		return m, errors.New("trailing data after the JSON object")
	}
	return m, m.Validate()
}

// Catalog returns the embedded rules, sorted by id.
func Catalog() ([]Rule, error) {
	sub, err := fs.Sub(catalogFS, "rules")
	if err != nil {
		return nil, err
	}
	return loadFS(sub, "catalog")
}

// LoadDir reads the rule folders below dir (each holding rule.json and
// rule.sql).
func LoadDir(dir string) ([]Rule, error) {
	rules, err := loadFS(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("rules folder %s holds no <id>/rule.json: add rule folders or drop --rules", dir)
	}
	return rules, nil
}

func loadFS(fsys fs.FS, origin string) ([]Rule, error) {
	var out []Rule
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "rule.json" {
			return nil
		}
		dir := path.Dir(p)
		where := path.Join(origin, dir)
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := DecodeMeta(data)
		if err != nil {
			return fmt.Errorf("rule %s/rule.json: %w", where, err)
		}
		if path.Base(dir) != m.ID {
			return fmt.Errorf("rule %s/rule.json: id %q must match its folder name", where, m.ID)
		}
		q, err := fs.ReadFile(fsys, path.Join(dir, "rule.sql"))
		if err != nil {
			return fmt.Errorf("rule %s: missing rule.sql: %w", where, err)
		}
		if strings.TrimSpace(string(q)) == "" {
			return fmt.Errorf("rule %s/rule.sql is empty", where)
		}
		out = append(out, Rule{Meta: m, SQL: string(q), Origin: where})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Merge appends extra rules to base; a duplicate id is an error.
func Merge(base []Rule, extra ...[]Rule) ([]Rule, error) {
	seen := map[string]string{}
	out := slices.Clone(base)
	for _, r := range base {
		seen[r.ID] = r.Origin
	}
	for _, rs := range extra {
		for _, r := range rs {
			if o, dup := seen[r.ID]; dup {
				return nil, fmt.Errorf("rule id %s from %s is already defined by %s: rename one of them", r.ID, r.Origin, o)
			}
			seen[r.ID] = r.Origin
			out = append(out, r)
		}
	}
	return out, nil
}

// paramValue maps a JSON parameter value to a bindable Go value and the
// SQL expression that casts the bound placeholder.
func paramValue(v any) (any, string, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, "CAST(? AS BIGINT)", nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, "", err
		}
		return f, "CAST(? AS DOUBLE)", nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), "CAST(? AS BIGINT)", nil
		}
		return x, "CAST(? AS DOUBLE)", nil
	case int:
		return int64(x), "CAST(? AS BIGINT)", nil
	case int64:
		return x, "CAST(? AS BIGINT)", nil
	case string:
		return x, "CAST(? AS VARCHAR)", nil
	case bool:
		return x, "CAST(? AS BOOLEAN)", nil
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return nil, "", errors.New("lists may hold strings only")
			}
		}
		b, _ := json.Marshal(x)
		return string(b), "from_json(CAST(? AS VARCHAR), '[\"VARCHAR\"]')", nil
	case []string:
		b, _ := json.Marshal(x)
		return string(b), "from_json(CAST(? AS VARCHAR), '[\"VARCHAR\"]')", nil
	}
	return nil, "", fmt.Errorf("value %v must be a number, string, boolean or list of strings", v)
}
