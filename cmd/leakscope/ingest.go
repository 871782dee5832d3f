package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
)

// enumValue is a pflag.Value restricted to a set of words.
type enumValue struct {
	val     *string
	allowed []string
}

func (v *enumValue) String() string { return *v.val }
func (v *enumValue) Type() string   { return "string" }
func (v *enumValue) Set(s string) error {
	for _, a := range v.allowed {
		if s == a {
			*v.val = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(v.allowed, "|"))
}

type ingestConfig struct {
	lake       string
	typ        string
	stats      string
	workers    int
	force      bool
	strict     bool
	quiet      bool
	account    string
	region     string
	flowFormat string
	memoryMiB  int
}

func (c *ingestConfig) validate(args []string) error {
	if len(args) == 0 {
		return usageErrorf("ingest: no SOURCE given: name log files or folders, e.g. leakscope ingest ./AWSLogs")
	}
	if c.workers < 0 {
		return usageErrorf("ingest: --workers must be 0 (one per CPU) or more")
	}
	if c.memoryMiB < 16 {
		return usageErrorf("ingest: --memory must be at least 16 MiB")
	}
	return nil
}

func ingestCommand() command {
	return command{
		name:    "ingest",
		args:    "SOURCE...",
		summary: "stream CloudTrail, S3 server access logs and VPC Flow Logs into the Parquet lake",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &ingestConfig{typ: "auto"}
			lakeFlag(fs, e, &c.lake)
			types := []string{"auto"}
			for _, s := range sources.All() {
				types = append(types, s.Name())
			}
			fs.Var(&enumValue{val: &c.typ, allowed: types}, "type", "log type: "+strings.Join(types, "|"))
			fs.StringVar(&c.stats, "stats", "", "write the run's accounting as JSON to this file")
			fs.IntVar(&c.workers, "workers", 0, "objects decoded at once (0 = one per CPU)")
			fs.BoolVar(&c.force, "force", false, "re-ingest objects the manifest already holds (duplicates are still dropped)")
			fs.BoolVar(&c.strict, "strict", false, "exit with an error when any record was quarantined or object failed")
			fs.BoolVarP(&c.quiet, "quiet", "q", false, "no progress and no summary")
			fs.StringVar(&c.account, "account", "", "account id for objects whose layout does not say (S3 access logs)")
			fs.StringVar(&c.region, "region", "", "region for objects whose layout does not say")
			fs.StringVar(&c.flowFormat, "flow-format", "", "VPC flow log format for files without a header, as AWS writes it: '${version} ${account-id} ...'")
			fs.IntVar(&c.memoryMiB, "memory", 64, "MiB of rows buffered before they are written")
			return func(ctx context.Context, args []string) error {
				if err := c.validate(args); err != nil {
					return err
				}
				return runIngest(ctx, e, c, args)
			}
		},
	}
}

func runIngest(ctx context.Context, e *env, c *ingestConfig, args []string) error {
	// Keep the heap near the budget on any input size.
	debug.SetMemoryLimit(int64(c.memoryMiB)<<20*4 + 128<<20)
	cfg := ingest.Config{
		Lake:         c.lake,
		Sources:      sources.All(),
		Type:         c.typ,
		Workers:      c.workers,
		Force:        c.force,
		MemoryBudget: int64(c.memoryMiB) << 20,
		Account:      c.account,
		Region:       c.region,
		ToolVersion:  version,
		Log:          e.log,
	}
	if c.flowFormat != "" {
		cfg.Options = map[string]string{"flow-format": c.flowFormat}
	}
	var bar *progressbar.ProgressBar
	switch {
	case c.quiet:
	case e.stderrTTY:
		cfg.OnProgress = func(p ingest.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions64(p.BytesTotal,
					progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("ingest"),
					progressbar.OptionShowBytes(true),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(200*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			rate := float64(p.Records) / max(p.Elapsed.Seconds(), 0.001)
			bar.Describe(fmt.Sprintf("ingest %d/%d objects, %.0f events/s", p.ObjectsDone, p.ObjectsTotal, rate))
			_ = bar.Set64(p.BytesDone)
		}
	default:
		last, lastDone := time.Time{}, int64(-1)
		cfg.OnProgress = func(p ingest.Progress) {
			if p.ObjectsDone == lastDone || (time.Since(last) < 10*time.Second && p.ObjectsDone < p.ObjectsTotal) {
				return
			}
			last, lastDone = time.Now(), p.ObjectsDone
			fmt.Fprintf(e.stderr, "ingest: %d/%d objects, %s of %s, %d records, %s elapsed\n",
				p.ObjectsDone, p.ObjectsTotal, humanBytes(p.BytesDone), humanBytes(p.BytesTotal), p.Records, p.Elapsed.Round(time.Second))
		}
	}
	st, err := ingest.Run(ctx, cfg, args)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if c.stats != "" {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.stats, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write --stats %s: %w", c.stats, err)
		}
	}
	if !c.quiet {
		printSummary(e, st)
	}
	if c.strict && (st.Quarantined > 0 || st.ObjectsFailed > 0) {
		return fmt.Errorf("ingest: %d records quarantined and %d objects failed (--strict); see leakscope query \"SELECT * FROM quarantine\"", st.Quarantined, st.ObjectsFailed)
	}
	return nil
}

func printSummary(e *env, st *ingest.Stats) {
	w := e.stderr
	fmt.Fprintf(w, "ingested into %s (run %s)\n", st.Lake, st.Run)
	fmt.Fprintf(w, "  objects      %d ingested, %d skipped (%d unchanged, %d without events, %d unrecognised), %d failed\n",
		st.Objects, st.ObjectsSkipped, st.SkippedUnchanged, st.SkippedNotEvents, st.SkippedUnknown, st.ObjectsFailed)
	fmt.Fprintf(w, "  records      %d read = %d written + %d quarantined + %d duplicates\n", st.RecordsRead, st.RowsWritten, st.Quarantined, st.Duplicates)
	fmt.Fprintf(w, "  bytes        %s read, %s decompressed\n", humanBytes(st.BytesRead), humanBytes(st.BytesDecoded))
	fmt.Fprintf(w, "  time         %.2fs, %.0f records/s, %.1f MB/s\n", st.Seconds, st.RecordsPerSecond(), st.MBPerSecond())
	for _, t := range sortedKeys(st.Tables) {
		c := st.Tables[t]
		fmt.Fprintf(w, "  %-12s %d objects, %d rows, %d quarantined, %d duplicates\n", t, c.Objects, c.RowsWritten, c.Quarantined, c.Duplicates)
	}
	for _, f := range st.Failures {
		fmt.Fprintf(w, "  %s: %s: %s\n", f.Status, terminalSafe(f.URI), terminalSafe(f.Reason))
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
