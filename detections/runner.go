package detections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/query"
)

// Window is the half-open event-time range [Start, End) a run examines.
type Window struct{ Start, End time.Time }

// farFuture bounds an open window.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (w Window) bounds() (time.Time, time.Time) {
	s, e := w.Start.UTC(), w.End.UTC()
	if w.End.IsZero() {
		e = farFuture
	}
	return s, e
}

// RuleError is a rule that could not run.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string { return fmt.Sprintf("rule %s: %v", e.Rule, e.Err) }
func (e *RuleError) Unwrap() error { return e.Err }

// paramsSQL builds the statement that creates the one-row params table
// and the values it binds.
func paramsSQL(r *Rule, w Window) (string, []any, error) {
	start, end := w.bounds()
	cols := []string{"CAST(? AS TIMESTAMP) AS window_start", "CAST(? AS TIMESTAMP) AS window_end",
		"CAST(? AS VARCHAR) AS detection_id", "CAST(? AS VARCHAR) AS title",
		"CAST(? AS VARCHAR) AS severity", "CAST(? AS VARCHAR) AS attack_ids"}
	args := []any{start, end, r.ID, r.Title, r.Severity, r.AttackIDs()}
	names := make([]string, 0, len(r.Params))
	for n := range r.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !paramRE.MatchString(n) || slices.Contains(reservedParams, n) {
			return "", nil, fmt.Errorf("bad param name %q", n)
		}
		v, expr, err := paramValue(r.Params[n])
		if err != nil {
			return "", nil, fmt.Errorf("param %s: %w", n, err)
		}
		cols = append(cols, expr+" AS "+n)
		args = append(args, v)
	}
	return "CREATE OR REPLACE TEMP TABLE params AS SELECT " + strings.Join(cols, ", "), args, nil
}

// RunRule runs one rule over the window and returns its findings.
func RunRule(ctx context.Context, db *sql.DB, r *Rule, w Window) ([]Finding, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ps, args, err := paramsSQL(r, w)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, ps, args...); err != nil {
		return nil, fmt.Errorf("create params: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS params")
	rows, err := conn.QueryContext(ctx, r.SQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !slices.Equal(cols, Columns) {
		return nil, fmt.Errorf("returns columns %s; a rule must return exactly %s", strings.Join(cols, ", "), strings.Join(Columns, ", "))
	}
	var out []Finding
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		f := Finding{
			FindingID: text(vals[0]), DetectionID: text(vals[1]), Title: text(vals[2]), Severity: text(vals[3]),
			ActorARN: text(vals[5]), SourceIP: text(vals[6]), AccountID: text(vals[7]), Region: text(vals[8]),
			Operation: text(vals[9]), Resource: text(vals[10]), AttackIDs: text(vals[11]),
			Evidence: jsonText(vals[12]), SourceURI: text(vals[13]),
		}
		t, ok := vals[4].(time.Time)
		if !ok {
			return nil, fmt.Errorf("event_time is %T, not a TIMESTAMP", vals[4])
		}
		f.EventTime = t.UTC().UnixMicro()
		if f.FindingID == "" || f.DetectionID == "" {
			return nil, errors.New("a finding has an empty finding_id or detection_id")
		}
		if SeverityRank(f.Severity) < 0 {
			return nil, fmt.Errorf("severity %q is not one of %s", f.Severity, strings.Join(Severities, ", "))
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	SortFindings(out) // same lake, same findings, same order
	return out, nil
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return query.Text(v)
}

func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return query.Text(v)
	}
	return string(b)
}

// RunAll runs every rule; a rule that fails is reported in errs and the
// others go on. Findings are de-duplicated by finding_id and sorted by
// time.
func RunAll(ctx context.Context, db *sql.DB, rules []Rule, w Window) (fs []Finding, errs []*RuleError, err error) {
	seen := map[string]bool{}
	for i := range rules {
		got, rerr := RunRule(ctx, db, &rules[i], w)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if rerr != nil {
			errs = append(errs, &RuleError{Rule: rules[i].ID, Err: rerr})
			continue
		}
		for _, f := range got {
			if !seen[f.FindingID] {
				seen[f.FindingID] = true
				fs = append(fs, f)
			}
		}
	}
	SortFindings(fs)
	return fs, errs, nil
}

// SortFindings orders by time, then detection, then id.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.EventTime != b.EventTime {
			return a.EventTime < b.EventTime
		}
		if a.DetectionID != b.DetectionID {
			return a.DetectionID < b.DetectionID
		}
		return a.FindingID < b.FindingID
	})
}

// Watermark records how far incremental detection has examined the lake.
type Watermark struct {
	// Through is the latest event time examined.
	Through time.Time `json:"through"`
	Run     string    `json:"run"`
	Rules   int       `json:"rules"`
}

func watermarkPath(lake string) string {
	return filepath.Join(lake, "_leakscope", "detect", "watermark.json")
}

// LoadWatermark reads LAKE/_leakscope/detect/watermark.json; ok is false
// when no run has stored one.
func LoadWatermark(lake string) (wm Watermark, ok bool, err error) {
	p := watermarkPath(lake)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return wm, false, nil
	}
	if err != nil {
		return wm, false, err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wm); err != nil {
		return wm, false, fmt.Errorf("read %s: %w (delete it to re-examine the whole lake)", p, err)
	}
	return wm, true, nil
}

// SaveWatermark writes the watermark atomically.
func SaveWatermark(lake string, wm Watermark) error {
	p := watermarkPath(lake)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(wm, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".watermark-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// Config is one detect run.
type Config struct {
	Rules []Rule
	// Since and Until bound the window; both zero means incremental: from
	// the stored watermark minus Lookback (or the beginning) to the end.
	Since, Until time.Time
	Lookback     time.Duration
	ToolVersion  string
	// Start is the run's start time (names the run's files).
	Start time.Time
}

// Report is what a detect run did.
type Report struct {
	Window      Window
	Incremental bool
	Findings    []Finding // every finding in the window, recorded before or now
	New         int       // findings recorded by this run
	Run         string
	Files       []string
	Errors      []*RuleError
	Rules       []Rule
}

// Detect runs the rules over eng's lake (opened with FindingsTable among
// its tables), records new findings and, in incremental mode, advances
// the watermark.
func Detect(ctx context.Context, eng *query.Engine, cfg Config) (*Report, error) {
	lake := eng.Lake()
	// One detect at a time per lake: two would record the same new
	// findings and race on the watermark.
	release, err := ingest.LockLocal(lake, "detect.lock")
	if err != nil {
		return nil, err
	}
	defer release()
	rep := &Report{Rules: cfg.Rules, Window: Window{Start: cfg.Since, End: cfg.Until}}
	rep.Incremental = cfg.Since.IsZero() && cfg.Until.IsZero()
	if rep.Incremental {
		wm, ok, err := LoadWatermark(lake)
		if err != nil {
			return nil, err
		}
		if ok {
			rep.Window.Start = wm.Through.Add(-cfg.Lookback)
		}
	}
	fs, errs, err := RunAll(ctx, eng.DB(), cfg.Rules, rep.Window)
	if err != nil {
		return nil, err
	}
	rep.Findings, rep.Errors = fs, errs
	existing, err := existingIDs(ctx, eng.DB())
	if err != nil {
		return nil, fmt.Errorf("read recorded findings: %w", err)
	}
	var fresh []Finding
	for _, f := range fs {
		if !existing[f.FindingID] {
			fresh = append(fresh, f)
		}
	}
	rep.New = len(fresh)
	rep.Run = RunID(cfg.Start, fresh)
	if len(fresh) > 0 {
		files, err := WriteFindings(lake, rep.Run, cfg.ToolVersion, fresh)
		rep.Files = files
		if err != nil {
			return rep, err
		}
	}
	if rep.Incremental && len(errs) == 0 {
		through, err := latestEvent(ctx, eng.DB())
		if err != nil {
			return rep, err
		}
		if !through.IsZero() {
			if err := SaveWatermark(lake, Watermark{Through: through, Run: rep.Run, Rules: len(cfg.Rules)}); err != nil {
				return rep, fmt.Errorf("save detect watermark: %w", err)
			}
		}
	}
	return rep, nil
}

func existingIDs(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT DISTINCT finding_id FROM findings")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

func latestEvent(ctx context.Context, db *sql.DB) (time.Time, error) {
	var t sql.NullTime
	err := db.QueryRowContext(ctx, `SELECT max(t) FROM (
		SELECT max(event_time) AS t FROM cloudtrail
		UNION ALL SELECT max(event_time) FROM s3_access
		UNION ALL SELECT max(coalesce(end_time, start_time)) FROM vpc_flow)`).Scan(&t)
	if err != nil {
		return time.Time{}, err
	}
	return t.Time.UTC(), nil
}

// Summary counts findings by severity and by ATT&CK tactic.
type Summary struct {
	BySeverity map[string]int
	ByTactic   map[string]int
}

// Summarize counts fs using the rules' metadata for tactics.
func Summarize(fs []Finding, rules []Rule) Summary {
	tactics := map[string][]string{}
	for _, r := range rules {
		tactics[r.ID] = r.Attack.Tactics
	}
	s := Summary{BySeverity: map[string]int{}, ByTactic: map[string]int{}}
	for _, f := range fs {
		s.BySeverity[f.Severity]++
		ts := tactics[f.DetectionID]
		if len(ts) == 0 {
			s.ByTactic["unmapped"]++
		}
		for _, t := range ts {
			s.ByTactic[t]++
		}
	}
	return s
}

// AtOrAbove reports whether any finding has severity at or above sev.
func AtOrAbove(fs []Finding, sev string) bool {
	min := SeverityRank(sev)
	for _, f := range fs {
		if SeverityRank(f.Severity) >= min {
			return true
		}
	}
	return false
}
