package detections

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// SigmaSkip is a Sigma file that did not compile, with the reason.
type SigmaSkip struct {
	File   string
	ID     string
	Title  string
	Reason string
}

// UnsupportedError says why a Sigma rule cannot compile.
type UnsupportedError struct{ Reason string }

func (e *UnsupportedError) Error() string { return "unsupported: " + e.Reason }

func unsupported(f string, a ...any) error {
	return &UnsupportedError{Reason: fmt.Sprintf(f, a...)}
}

// DRL is the licence under which SigmaHQ rules are shared.
const DRL = "Detection Rule License (DRL) 1.1, https://github.com/SigmaHQ/Detection-Rule-License"

// LoadSigmaDir compiles every *.yml / *.yaml below dir. Rules that cannot
// compile are returned in skipped with the reason; err is only for I/O.
func LoadSigmaDir(dir string) (rules []Rule, skipped []SigmaSkip, err error) {
	var files []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read Sigma folder %s: %w", dir, err)
	}
	sort.Strings(files)
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		r, cerr := CompileSigma(data, f)
		if cerr == nil {
			if prev, dup := seen[r.ID]; dup {
				cerr = fmt.Errorf("duplicate Sigma id %s (also in %s)", r.ID, prev)
			}
		}
		if cerr != nil {
			s := SigmaSkip{File: f, Reason: cerr.Error()}
			if v, err := parseYAML(string(data)); err == nil {
				if m, ok := v.(*ymap); ok {
					s.ID, s.Title = m.str("id"), m.str("title")
				}
			}
			skipped = append(skipped, s)
			continue
		}
		seen[r.ID] = f
		rules = append(rules, r)
	}
	return rules, skipped, nil
}

var sigmaLevels = map[string]string{"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}

var sigmaIDRE = regexp.MustCompile(`^[0-9a-fA-F-]{8,64}$`)

// CompileSigma compiles one Sigma rule (logsource product aws, service
// cloudtrail) to a rule over the cloudtrail view.
func CompileSigma(data []byte, origin string) (Rule, error) {
	v, err := parseYAML(string(data))
	if err != nil {
		return Rule{}, err
	}
	m, ok := v.(*ymap)
	if !ok {
		return Rule{}, errors.New("not a YAML mapping")
	}
	if _, ok := m.get("correlation"); ok {
		return Rule{}, unsupported("correlation rules")
	}
	ls, _ := m.vals["logsource"].(*ymap)
	if ls == nil || !strings.EqualFold(ls.str("product"), "aws") || !strings.EqualFold(ls.str("service"), "cloudtrail") {
		return Rule{}, unsupported("logsource is not product aws / service cloudtrail")
	}
	if ls.str("category") != "" {
		return Rule{}, unsupported("logsource category %q", ls.str("category"))
	}
	id := strings.ToLower(m.str("id"))
	if !sigmaIDRE.MatchString(id) {
		return Rule{}, fmt.Errorf("id %q is not a Sigma UUID", m.str("id"))
	}
	title := strings.TrimSpace(m.str("title"))
	if title == "" {
		return Rule{}, errors.New("no title")
	}
	level := sigmaLevels[strings.ToLower(m.str("level"))]
	if level == "" {
		level = "medium"
	}
	det, _ := m.vals["detection"].(*ymap)
	if det == nil {
		return Rule{}, errors.New("no detection")
	}
	where, agg, err := compileDetection(det)
	if err != nil {
		return Rule{}, err
	}
	meta := Meta{
		ID: "sigma-" + id, Title: title, Severity: level,
		Description:    strings.TrimSpace(m.str("description")),
		References:     strList(m.vals["references"]),
		FalsePositives: strList(m.vals["falsepositives"]),
		DataSources:    []string{"cloudtrail"},
		Status:         "experimental",
		Author:         strings.TrimSpace(m.str("author")),
	}
	switch st := m.str("status"); st {
	case "stable", "test", "experimental":
		meta.Status = st
	}
	for _, tag := range strList(m.vals["tags"]) {
		t, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
		if !ok {
			continue
		}
		if regexp.MustCompile(`^t[0-9]{4}(\.[0-9]{3})?$`).MatchString(t) {
			meta.Attack.Techniques = append(meta.Attack.Techniques, strings.ToUpper(t))
		} else if !strings.HasPrefix(t, "g") && !strings.HasPrefix(t, "s0") {
			meta.Attack.Tactics = append(meta.Attack.Tactics, t)
		}
	}
	link := "https://github.com/SigmaHQ/sigma (rule id " + id + ")"
	note := fmt.Sprintf("Sigma rule %q by %s; %s; source %s", title, orUnknown(meta.Author), DRL, link)
	meta.Params = map[string]any{"sigma_id": id, "sigma_note": note}
	header := fmt.Sprintf("-- Sigma: %s (%s)\n-- Author: %s. Licence: %s.\n-- Compiled by leakscope from %s.\n",
		sqlComment(title), id, sqlComment(orUnknown(meta.Author)), DRL, sqlComment(filepath.Base(origin)))
	var sql string
	if agg == nil {
		sql = header + fmt.Sprintf(`SELECT md5(p.detection_id || '|' || c.source_uri || '|' || c.source_offset) AS finding_id,
       p.detection_id, p.title, p.severity, c.event_time, c.actor_arn, c.source_ip,
       coalesce(c.recipient_account_id, c.account_id) AS account_id, c.aws_region AS region,
       c.event_name AS operation, coalesce(c.bucket, c.event_source) AS resource, p.attack_ids,
       CAST(json_object('sigma_id', p.sigma_id, 'note', p.sigma_note, 'event_source', c.event_source,
            'user_agent', c.user_agent, 'error_code', c.error_code) AS VARCHAR) AS evidence, c.source_uri
FROM cloudtrail c, params p
WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
  AND (%s)
`, where)
	} else {
		count := "count(*)"
		if agg.countExpr != "" {
			count = "count(DISTINCT sigma_cnt)"
		}
		cnt, by := "NULL", "NULL"
		if agg.countExpr != "" {
			cnt = agg.countExpr
		}
		if agg.byExpr != "" {
			by = agg.byExpr
		}
		sql = header + fmt.Sprintf(`-- Aggregation: %s over tumbling windows of %d seconds.
WITH m AS (
  SELECT c.*, %s AS sigma_cnt, CAST(%s AS VARCHAR) AS sigma_grp, time_bucket(to_seconds(%d), c.event_time) AS sigma_window
  FROM cloudtrail c, params p
  WHERE c.event_time >= p.window_start AND c.event_time < p.window_end
    AND (%s)
), g AS (
  SELECT sigma_window, sigma_grp, %s AS n, min(event_time) AS t, arg_min(actor_arn, event_time) AS actor,
         arg_min(source_ip, event_time) AS ip, arg_min(coalesce(recipient_account_id, account_id), event_time) AS account,
         arg_min(aws_region, event_time) AS region, arg_min(source_uri, event_time) AS uri,
         list_distinct(list(event_name)) AS names
  FROM m GROUP BY sigma_window, sigma_grp
)
SELECT md5(p.detection_id || '|' || CAST(g.sigma_window AS VARCHAR) || '|' || coalesce(g.sigma_grp, '')) AS finding_id,
       p.detection_id, p.title, p.severity, g.t AS event_time, g.actor AS actor_arn, g.ip AS source_ip,
       g.account AS account_id, g.region, array_to_string(g.names, ',') AS operation, g.sigma_grp AS resource, p.attack_ids,
       CAST(json_object('sigma_id', p.sigma_id, 'note', p.sigma_note, 'count', g.n, 'window_start', g.sigma_window,
            'group', g.sigma_grp) AS VARCHAR) AS evidence, g.uri AS source_uri
FROM g, params p
WHERE g.n %s %d
`, sqlComment(agg.text), agg.seconds, cnt, by, agg.seconds, where, count, agg.op, agg.n)
	}
	return Rule{Meta: meta, SQL: sql, Origin: origin}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown author"
	}
	return s
}

// sqlComment keeps text on one comment line.
func sqlComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r < 0x20 {
			return ' '
		}
		return r
	}, s)
}

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// compileDetection turns the detection section into a SQL boolean.
func compileDetection(det *ymap) (string, *aggSpec, error) {
	cond, ok := det.vals["condition"]
	if !ok {
		return "", nil, errors.New("detection has no condition")
	}
	timeframe := det.str("timeframe")
	idents := map[string]string{}
	var names []string
	for _, k := range det.keys {
		if k == "condition" || k == "timeframe" {
			continue
		}
		s, err := compileSearch(det.vals[k])
		if err != nil {
			return "", nil, fmt.Errorf("search %s: %w", k, err)
		}
		idents[k] = s
		names = append(names, k)
	}
	var conds []string
	switch c := cond.(type) {
	case string:
		conds = []string{c}
	case []any:
		for _, e := range c {
			s, ok := e.(string)
			if !ok {
				return "", nil, errors.New("condition list holds a non-string")
			}
			conds = append(conds, s)
		}
	default:
		return "", nil, errors.New("condition must be a string or a list of strings")
	}
	var out []string
	var agg *aggSpec
	for _, c := range conds {
		expr, aggText, hasAgg := strings.Cut(c, "|")
		if hasAgg {
			if len(conds) > 1 {
				return "", nil, unsupported("aggregation in a list of conditions")
			}
			a, err := parseAggregation(aggText, timeframe)
			if err != nil {
				return "", nil, err
			}
			agg = a
		}
		s, err := compileCondition(expr, idents, names)
		if err != nil {
			return "", nil, err
		}
		out = append(out, s)
	}
	return strings.Join(out, " OR "), agg, nil
}

// aggSpec is a legacy Sigma aggregation: count() [by field] op N over
// tumbling windows of timeframe.
type aggSpec struct {
	countExpr string // "" for count()
	byExpr    string // "" when not grouped
	op        string
	n         int64
	seconds   int64
	text      string
}

var aggRE = regexp.MustCompile(`^\s*count\(\s*([A-Za-z0-9_.]*)\s*\)\s*(?:by\s+([A-Za-z0-9_.]+)\s*)?(>=|<=|>|<|=)\s*([0-9]+)\s*$`)

func parseAggregation(s, timeframe string) (*aggSpec, error) {
	m := aggRE.FindStringSubmatch(s)
	if m == nil {
		return nil, unsupported("aggregation %q (only count() [by field] op N)", strings.TrimSpace(s))
	}
	a := &aggSpec{op: m[3], text: strings.TrimSpace(s)}
	a.n, _ = strconv.ParseInt(m[4], 10, 64)
	if m[1] != "" {
		e, err := fieldExpr(m[1])
		if err != nil {
			return nil, err
		}
		a.countExpr = e
	}
	if m[2] != "" {
		e, err := fieldExpr(m[2])
		if err != nil {
			return nil, err
		}
		a.byExpr = e
	}
	if timeframe == "" {
		return nil, unsupported("aggregation without a timeframe")
	}
	tm := regexp.MustCompile(`^([0-9]+)([smhd])$`).FindStringSubmatch(timeframe)
	if tm == nil {
		return nil, unsupported("timeframe %q", timeframe)
	}
	n, _ := strconv.ParseInt(tm[1], 10, 64)
	a.seconds = n * map[string]int64{"s": 1, "m": 60, "h": 3600, "d": 86400}[tm[2]]
	if a.seconds <= 0 {
		return nil, unsupported("timeframe %q", timeframe)
	}
	return a, nil
}

// compileSearch compiles one search identifier: a map (AND of fields) or
// a list of maps (OR).
func compileSearch(v any) (string, error) {
	switch x := v.(type) {
	case *ymap:
		return compileFieldMap(x)
	case []any:
		var ors []string
		for _, e := range x {
			m, ok := e.(*ymap)
			if !ok {
				return "", unsupported("keyword (full-text) searches")
			}
			s, err := compileFieldMap(m)
			if err != nil {
				return "", err
			}
			ors = append(ors, s)
		}
		if len(ors) == 0 {
			return "", errors.New("empty search")
		}
		return "(" + strings.Join(ors, " OR ") + ")", nil
	}
	return "", unsupported("keyword (full-text) searches")
}

func compileFieldMap(m *ymap) (string, error) {
	if len(m.keys) == 0 {
		return "", errors.New("empty search")
	}
	var ands []string
	for _, k := range m.keys {
		s, err := compileField(k, m.vals[k])
		if err != nil {
			return "", err
		}
		ands = append(ands, s)
	}
	return "(" + strings.Join(ands, " AND ") + ")", nil
}

// cloudtrailFields maps Sigma CloudTrail field names to columns.
var cloudtrailFields = map[string]string{
	"eventName": "c.event_name", "eventSource": "c.event_source", "eventType": "c.event_type",
	"eventCategory": "c.event_category", "eventID": "c.event_id", "eventVersion": "c.event_version",
	"awsRegion": "c.aws_region", "sourceIPAddress": "c.source_ip", "userAgent": "c.user_agent",
	"errorCode": "c.error_code", "errorMessage": "c.error_message", "requestID": "c.request_id",
	"recipientAccountId": "c.recipient_account_id", "sharedEventID": "c.shared_event_id",
	"vpcEndpointId": "c.vpc_endpoint_id", "readOnly": "CAST(c.read_only AS VARCHAR)",
	"managementEvent":   "CAST(c.management_event AS VARCHAR)",
	"requestParameters": "c.request_parameters", "responseElements": "c.response_elements",
	"additionalEventData": "c.additional_event_data", "resources": "c.resources",
	"serviceEventDetails": "c.service_event_details", "tlsDetails": "c.tls_details",
	"userIdentity":      "c.user_identity",
	"userIdentity.type": "c.identity_type", "userIdentity.arn": "c.principal_arn",
	"userIdentity.accountId": "c.account_id", "userIdentity.principalId": "c.principal_id",
	"userIdentity.userName": "c.user_name", "userIdentity.accessKeyId": "c.access_key_id",
	"userIdentity.invokedBy":                         "c.invoked_by",
	"userIdentity.sessionContext.sessionIssuer.type": "c.session_issuer_type",
	"userIdentity.sessionContext.sourceIdentity":     "c.source_identity",
}

var jsonPrefixes = map[string]string{
	"requestParameters": "c.request_parameters", "responseElements": "c.response_elements",
	"additionalEventData": "c.additional_event_data", "userIdentity": "c.user_identity",
	"serviceEventDetails": "c.service_event_details", "tlsDetails": "c.tls_details",
}

var jsonKeyRE = regexp.MustCompile(`^[A-Za-z0-9_:@$-]+$`)

// fieldExpr maps a Sigma field to a SQL expression over cloudtrail c.
func fieldExpr(f string) (string, error) {
	if col, ok := cloudtrailFields[f]; ok {
		return col, nil
	}
	head, rest, ok := strings.Cut(f, ".")
	if col, isJSON := jsonPrefixes[head]; ok && isJSON {
		var path strings.Builder
		path.WriteString("$")
		for _, seg := range strings.Split(rest, ".") {
			if !jsonKeyRE.MatchString(seg) {
				return "", unsupported("field %q has a path segment leakscope cannot map", f)
			}
			path.WriteString(`."` + seg + `"`)
		}
		p := lit(path.String())
		return fmt.Sprintf("coalesce(json_extract_string(%s, %s), CAST(json_extract(%s, %s) AS VARCHAR))", col, p, col, p), nil
	}
	return "", unsupported("field %q is not a CloudTrail field", f)
}

// lit is a SQL string literal: quotes doubled; NUL is refused earlier.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func compileField(key string, v any) (string, error) {
	parts := strings.Split(key, "|")
	field, mods := parts[0], parts[1:]
	expr, err := fieldExpr(field)
	if err != nil {
		return "", err
	}
	var match string // "", contains, startswith, endswith, re, cidr, exists
	all, cased, b64 := false, false, false
	var reFlags string
	for _, mod := range mods {
		switch mod {
		case "contains", "startswith", "endswith", "re", "cidr", "exists":
			if match != "" {
				return "", unsupported("modifiers %s and %s together", match, mod)
			}
			match = mod
		case "all":
			all = true
		case "cased":
			cased = true
		case "base64":
			b64 = true
		case "i", "m", "s":
			if match != "re" {
				return "", unsupported("modifier %s without re", mod)
			}
			reFlags += mod
		default:
			return "", unsupported("modifier %s", mod)
		}
	}
	var vals []any
	if l, ok := v.([]any); ok {
		vals = l
	} else {
		vals = []any{v}
	}
	if len(vals) == 0 {
		return "", errors.New("field " + key + " has an empty value list")
	}
	var conds []string
	for _, raw := range vals {
		if _, isMap := raw.(*ymap); isMap {
			return "", unsupported("nested mapping as a value of %s", key)
		}
		if raw == nil {
			if match != "" {
				return "", unsupported("null with modifier %s", match)
			}
			conds = append(conds, expr+" IS NULL")
			continue
		}
		s, _ := raw.(string)
		if strings.ContainsRune(s, 0) {
			return "", unsupported("value with a NUL byte")
		}
		if b64 {
			if match == "re" || match == "cidr" || match == "exists" {
				return "", unsupported("base64 with %s", match)
			}
			s = base64.StdEncoding.EncodeToString([]byte(s))
		}
		switch match {
		case "exists":
			switch strings.ToLower(s) {
			case "true":
				conds = append(conds, expr+" IS NOT NULL")
			case "false":
				conds = append(conds, expr+" IS NULL")
			default:
				return "", fmt.Errorf("exists needs true or false, not %q", s)
			}
		case "re":
			if _, err := regexp.Compile(s); err != nil {
				return "", fmt.Errorf("regular expression %q: %v", s, err)
			}
			pat := s
			if reFlags != "" {
				pat = "(?" + reFlags + ")" + s
			}
			conds = append(conds, fmt.Sprintf("regexp_matches(%s, %s)", expr, lit(pat)))
		case "cidr":
			c, err := cidrExpr(expr, s)
			if err != nil {
				return "", err
			}
			conds = append(conds, c)
		default:
			conds = append(conds, likeExpr(expr, s, match, cased))
		}
	}
	j := " OR "
	if all {
		j = " AND "
	}
	return "(" + strings.Join(conds, j) + ")", nil
}

// likeExpr matches with Sigma wildcards (* and ?, backslash escapes),
// case-insensitively unless cased.
func likeExpr(expr, s, match string, cased bool) string {
	var b strings.Builder
	wild := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			i++
			writeLikeLiteral(&b, s[i])
		case c == '*':
			b.WriteByte('%')
			wild = true
		case c == '?':
			b.WriteByte('_')
			wild = true
		default:
			writeLikeLiteral(&b, c)
		}
	}
	pat := b.String()
	switch match {
	case "contains":
		pat = "%" + pat + "%"
		wild = true
	case "startswith":
		pat += "%"
		wild = true
	case "endswith":
		pat = "%" + pat
		wild = true
	}
	if !wild {
		if cased {
			return fmt.Sprintf("%s = %s", expr, lit(s))
		}
		return fmt.Sprintf("lower(%s) = %s", expr, lit(strings.ToLower(unescapeSigma(s))))
	}
	op := "ILIKE"
	if cased {
		op = "LIKE"
	}
	return fmt.Sprintf(`%s %s %s ESCAPE '\'`, expr, op, lit(pat))
}

func unescapeSigma(s string) string {
	r := strings.NewReplacer(`\*`, `*`, `\?`, `?`, `\\`, `\`)
	return r.Replace(s)
}

func writeLikeLiteral(b *strings.Builder, c byte) {
	if c == '%' || c == '_' || c == '\\' {
		b.WriteByte('\\')
	}
	b.WriteByte(c)
}

// cidrExpr tests an IPv4 text column against a CIDR without the inet
// extension.
func cidrExpr(expr, cidr string) (string, error) {
	ip, bitsS, ok := strings.Cut(cidr, "/")
	bits, err := strconv.Atoi(bitsS)
	if !ok || err != nil || bits < 0 || bits > 32 {
		return "", unsupported("cidr %q (only IPv4 CIDRs)", cidr)
	}
	oct := strings.Split(ip, ".")
	if len(oct) != 4 {
		return "", unsupported("cidr %q (only IPv4 CIDRs)", cidr)
	}
	var n uint64
	for _, o := range oct {
		v, err := strconv.Atoi(o)
		if err != nil || v < 0 || v > 255 {
			return "", fmt.Errorf("bad cidr %q", cidr)
		}
		n = n<<8 | uint64(v)
	}
	size := uint64(1) << (32 - bits)
	lo := n &^ (size - 1)
	num := fmt.Sprintf(`(CASE WHEN regexp_full_match(%[1]s, '[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}') THEN
  TRY_CAST(split_part(%[1]s, '.', 1) AS BIGINT) * 16777216 + TRY_CAST(split_part(%[1]s, '.', 2) AS BIGINT) * 65536
  + TRY_CAST(split_part(%[1]s, '.', 3) AS BIGINT) * 256 + TRY_CAST(split_part(%[1]s, '.', 4) AS BIGINT) END)`, expr)
	return fmt.Sprintf("(%s BETWEEN %d AND %d)", num, lo, lo+size-1), nil
}

// --- conditions

type ctok struct{ kind, text string } // kind: id, and, or, not, lp, rp, of

func lexCondition(s string) ([]ctok, error) {
	if strings.Contains(s, "|") {
		return nil, unsupported("aggregation in condition (%s)", strings.TrimSpace(s[strings.Index(s, "|"):]))
	}
	var out []ctok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(':
			out = append(out, ctok{"lp", "("})
			i++
		case c == ')':
			out = append(out, ctok{"rp", ")"})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()", rune(s[j])) {
				j++
			}
			w := s[i:j]
			switch strings.ToLower(w) {
			case "and", "or", "not", "of":
				out = append(out, ctok{strings.ToLower(w), w})
			default:
				out = append(out, ctok{"id", w})
			}
			i = j
		}
	}
	return out, nil
}

type condParser struct {
	toks   []ctok
	pos    int
	idents map[string]string
	names  []string
}

func compileCondition(s string, idents map[string]string, names []string) (string, error) {
	toks, err := lexCondition(s)
	if err != nil {
		return "", err
	}
	p := &condParser{toks: toks, idents: idents, names: names}
	out, err := p.or()
	if err != nil {
		return "", err
	}
	if p.pos != len(p.toks) {
		return "", fmt.Errorf("condition %q: unexpected %q", s, p.toks[p.pos].text)
	}
	return out, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].kind
	}
	return ""
}

func (p *condParser) or() (string, error) {
	l, err := p.and()
	if err != nil {
		return "", err
	}
	for p.peek() == "or" {
		p.pos++
		r, err := p.and()
		if err != nil {
			return "", err
		}
		l = "(" + l + " OR " + r + ")"
	}
	return l, nil
}

func (p *condParser) and() (string, error) {
	l, err := p.not()
	if err != nil {
		return "", err
	}
	for p.peek() == "and" {
		p.pos++
		r, err := p.not()
		if err != nil {
			return "", err
		}
		l = "(" + l + " AND " + r + ")"
	}
	return l, nil
}

func (p *condParser) not() (string, error) {
	if p.peek() == "not" {
		p.pos++
		x, err := p.not()
		if err != nil {
			return "", err
		}
		return "(NOT coalesce(" + x + ", false))", nil
	}
	return p.atom()
}

func (p *condParser) atom() (string, error) {
	if p.pos >= len(p.toks) {
		return "", errors.New("condition ends early")
	}
	t := p.toks[p.pos]
	switch t.kind {
	case "lp":
		p.pos++
		x, err := p.or()
		if err != nil {
			return "", err
		}
		if p.peek() != "rp" {
			return "", errors.New("condition: missing )")
		}
		p.pos++
		return x, nil
	case "id":
		p.pos++
		if p.peek() == "of" {
			p.pos++
			if p.pos >= len(p.toks) || p.toks[p.pos].kind != "id" {
				return "", errors.New("condition: 'of' needs a pattern")
			}
			pat := p.toks[p.pos].text
			p.pos++
			return p.quantified(t.text, pat)
		}
		s, ok := p.idents[t.text]
		if !ok {
			return "", fmt.Errorf("condition names unknown search %q", t.text)
		}
		return s, nil
	}
	return "", fmt.Errorf("condition: unexpected %q", t.text)
}

func (p *condParser) quantified(q, pat string) (string, error) {
	var sel []string
	for _, n := range p.names {
		ok := pat == "them"
		if !ok {
			m, err := filepath.Match(pat, n)
			if err != nil {
				return "", fmt.Errorf("bad pattern %q", pat)
			}
			ok = m
		}
		if ok && !(pat == "them" && strings.HasPrefix(n, "_")) {
			sel = append(sel, p.idents[n])
		}
	}
	if len(sel) == 0 {
		return "", fmt.Errorf("%s of %s matches no search", q, pat)
	}
	switch q {
	case "all":
		return "(" + strings.Join(sel, " AND ") + ")", nil
	case "1", "any":
		return "(" + strings.Join(sel, " OR ") + ")", nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 {
		return "", fmt.Errorf("bad quantifier %q", q)
	}
	var sum []string
	for _, s := range sel {
		sum = append(sum, "CAST(coalesce("+s+", false) AS INTEGER)")
	}
	return fmt.Sprintf("((%s) >= %d)", strings.Join(sum, " + "), n), nil
}
