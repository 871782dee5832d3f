package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/detections"
	"github.com/leakscope/leakscope/query"
)

type detectConfig struct {
	lake         string
	rules, sigma []string
	since, until string
	lookback     time.Duration
	list         bool
	failOn       string
	format       string
	out          string
}

func detectCommand() command {
	return command{
		name:    "detect",
		args:    "",
		summary: "run the detection catalog (plus --rules folders and --sigma rules) over the lake and record findings",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &detectConfig{}
			lakeFlag(fs, e, &c.lake)
			fs.StringArrayVar(&c.rules, "rules", nil, "also run the rule folders below DIR (<id>/rule.json + rule.sql; repeatable)")
			fs.StringArrayVar(&c.sigma, "sigma", nil, "also compile and run the Sigma rules (*.yml) below DIR (repeatable)")
			fs.StringVar(&c.since, "since", "", "window start: RFC 3339 time or date (default: incremental from the stored watermark)")
			fs.StringVar(&c.until, "until", "", "window end: RFC 3339 time or date (a date includes the whole day)")
			fs.DurationVar(&c.lookback, "lookback", 24*time.Hour, "incremental runs re-examine this much before the watermark, for late-arriving logs")
			fs.BoolVar(&c.list, "list", false, "print the rule catalog and exit")
			fs.Var(&enumValue{val: &c.failOn, allowed: detections.Severities}, "fail-on", "exit 3 when a finding has this severity or higher: "+strings.Join(detections.Severities, "|"))
			formatFlag(fs, e, &c.format, query.Formats)
			fs.StringVarP(&c.out, "out", "o", "", "write the findings to this file instead of standard output")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("detect: unexpected argument %q: detect takes flags only (see leakscope help detect)", args[0])
				}
				if c.lookback < 0 {
					return usageErrorf("detect: --lookback must not be negative")
				}
				return runDetect(ctx, e, c)
			}
		},
	}
}

// loadRules gathers the catalog, --rules folders and --sigma rules.
// Sigma rules that cannot compile are reported on stderr with the reason.
func loadRules(e *env, c *detectConfig) ([]detections.Rule, error) {
	rules, err := detections.Catalog()
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	var extra [][]detections.Rule
	for _, dir := range c.rules {
		rs, err := detections.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		extra = append(extra, rs)
	}
	for _, dir := range c.sigma {
		rs, skipped, err := detections.LoadSigmaDir(dir)
		if err != nil {
			return nil, err
		}
		for _, s := range skipped {
			fmt.Fprintf(e.stderr, "leakscope: sigma rule %s not compiled: %s\n", terminalSafe(s.File), terminalSafe(s.Reason))
		}
		if len(rs)+len(skipped) > 0 {
			fmt.Fprintf(e.stderr, "leakscope: sigma %s: %d of %d rules compiled\n", terminalSafe(dir), len(rs), len(rs)+len(skipped))
		}
		extra = append(extra, rs)
	}
	return detections.Merge(rules, extra...)
}

func runDetect(ctx context.Context, e *env, c *detectConfig) error {
	since, err := query.ParseTime(c.since, false)
	if err != nil {
		return usageErrorf("detect: --since: %v", err)
	}
	until, err := query.ParseTime(c.until, true)
	if err != nil {
		return usageErrorf("detect: --until: %v", err)
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return usageErrorf("detect: --until %s is not after --since %s", c.until, c.since)
	}
	rules, err := loadRules(e, c)
	if err != nil {
		return err
	}
	if c.list {
		return writeOutput(e, c.out, func(w io.Writer) error {
			return query.Render(w, query.Format(c.format), catalogResult(rules))
		})
	}
	eng, err := query.Open(ctx, c.lake, append(query.LakeTables(), detections.FindingsTable()))
	if err != nil {
		return err
	}
	defer eng.Close()
	rep, err := detections.Detect(ctx, eng, detections.Config{
		Rules: rules, Since: since, Until: until, Lookback: c.lookback,
		ToolVersion: version, Start: time.Now(),
	})
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	f := query.Format(c.format)
	err = writeOutput(e, c.out, func(w io.Writer) error {
		if err := query.Render(w, f, detections.Result(rep.Findings)); err != nil {
			return err
		}
		if f == query.TableFormat && c.out == "" {
			fmt.Fprintln(w)
			return writeSummary(w, rep)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f != query.TableFormat || c.out != "" {
		if err := writeSummary(e.stderr, rep); err != nil {
			return err
		}
	}
	for _, re := range rep.Errors {
		fmt.Fprintf(e.stderr, "leakscope: %s\n", terminalSafe(oneLine(re.Error())))
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("detect: %d of %d rules failed (listed above); fix or remove them, the other rules' findings were recorded", len(rep.Errors), len(rules))
	}
	if c.failOn != "" && detections.AtOrAbove(rep.Findings, c.failOn) {
		return &exitError{code: 3, err: fmt.Errorf("detect: findings at or above severity %s (--fail-on)", c.failOn)}
	}
	return nil
}

func catalogResult(rules []detections.Rule) *query.Result {
	res := &query.Result{Columns: []string{"id", "severity", "title", "tactics", "techniques", "data_sources", "status", "origin"}}
	for _, r := range rules {
		res.Rows = append(res.Rows, []any{r.ID, r.Severity, r.Title, strings.Join(r.Attack.Tactics, ","),
			strings.Join(r.Attack.Techniques, ","), strings.Join(r.DataSources, ","), r.Status, r.Origin})
	}
	return res
}

func writeSummary(w io.Writer, rep *detections.Report) error {
	s := detections.Summarize(rep.Findings, rep.Rules)
	start, end := "beginning", "end"
	if !rep.Window.Start.IsZero() {
		start = rep.Window.Start.UTC().Format(time.RFC3339)
	}
	if !rep.Window.End.IsZero() {
		end = rep.Window.End.UTC().Format(time.RFC3339)
	}
	mode := "window"
	if rep.Incremental {
		mode = "incremental window"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d findings (%d new) from %d rules, %s %s .. %s\n", len(rep.Findings), rep.New, len(rep.Rules), mode, start, end)
	var sev []string
	for i := len(detections.Severities) - 1; i >= 0; i-- {
		if n := s.BySeverity[detections.Severities[i]]; n > 0 {
			sev = append(sev, fmt.Sprintf("%s %d", detections.Severities[i], n))
		}
	}
	if len(sev) > 0 {
		fmt.Fprintf(&b, "by severity: %s\n", strings.Join(sev, ", "))
	}
	tactics := make([]string, 0, len(s.ByTactic))
	for t := range s.ByTactic {
		tactics = append(tactics, t)
	}
	sort.Slice(tactics, func(i, j int) bool {
		if s.ByTactic[tactics[i]] != s.ByTactic[tactics[j]] {
			return s.ByTactic[tactics[i]] > s.ByTactic[tactics[j]]
		}
		return tactics[i] < tactics[j]
	})
	var tac []string
	for _, t := range tactics {
		tac = append(tac, fmt.Sprintf("%s %d", t, s.ByTactic[t]))
	}
	if len(tac) > 0 {
		fmt.Fprintf(&b, "by ATT&CK tactic: %s\n", strings.Join(tac, ", "))
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, terminalSafe(strings.TrimSuffix(line, "\n"))+"\n"); err != nil {
			return err
		}
	}
	return nil
}
