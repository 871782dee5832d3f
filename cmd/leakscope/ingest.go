package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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
	spillMiB   int

	from, to       string
	accountFilter  []string
	regionFilter   []string
	shard          string
	s3Region       string
	endpointURL    string
	pathStyle      bool
	pathStyleGiven bool

	sel ingest.Selection
}

func (c *ingestConfig) validate(args []string) error {
	if len(args) == 0 {
		return usageErrorf("ingest: no SOURCE given: name log files, folders or s3://bucket/prefix, e.g. leakscope ingest ./AWSLogs")
	}
	if c.workers < 0 {
		return usageErrorf("ingest: --workers must be 0 (one per CPU) or more")
	}
	if c.memoryMiB < 16 {
		return usageErrorf("ingest: --memory must be at least 16 MiB")
	}
	if c.spillMiB < 0 {
		return usageErrorf("ingest: --spill must be 0 (never) or more MiB")
	}
	var err error
	if c.from != "" {
		if c.sel.From, err = parseDay(c.from); err != nil {
			return usageErrorf("ingest: --from %q: %v", c.from, err)
		}
	}
	if c.to != "" {
		if c.sel.To, err = parseDay(c.to); err != nil {
			return usageErrorf("ingest: --to %q: %v", c.to, err)
		}
	}
	if !c.sel.From.IsZero() && !c.sel.To.IsZero() && c.sel.To.Before(c.sel.From) {
		return usageErrorf("ingest: --to %s is before --from %s", c.to, c.from)
	}
	if c.shard != "" {
		if c.sel.Shard, err = ingest.ParseShard(c.shard); err != nil {
			return usageErrorf("ingest: --%v", err)
		}
	}
	c.sel.Accounts, c.sel.Regions = splitList(c.accountFilter), splitList(c.regionFilter)
	if !c.pathStyleGiven {
		c.pathStyle = c.endpointURL != ""
	}
	return nil
}

// parseDay reads a date (2026-11-14) or an RFC 3339 time, as a UTC day.
func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date (2026-11-14) or an RFC 3339 time")
	}
	return t.UTC(), nil
}

// splitList flattens repeated and comma-separated flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// s3Flags registers the flags of the S3 client.
func s3Flags(fs *pflag.FlagSet, region, endpoint *string, pathStyle *bool) {
	fs.StringVar(region, "s3-region", "", "AWS region of the S3 API (default: AWS_REGION / the profile, else each bucket's own region)")
	fs.StringVar(endpoint, "endpoint-url", "", "URL of an S3-compatible server (MinIO, Ceph, ...) instead of AWS")
	fs.BoolVar(pathStyle, "path-style", false, "path-style S3 addressing (endpoint/bucket/key); default on with --endpoint-url")
}

func ingestCommand() command {
	return command{
		name:    "ingest",
		args:    "SOURCE... (files, folders, s3://bucket/prefix)",
		summary: "stream CloudTrail, S3 server access logs and VPC Flow Logs into the Parquet lake",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &ingestConfig{typ: "auto"}
			lakeFlag(fs, e, &c.lake)
			fs.Lookup("lake").Usage = "lake folder or s3://bucket/prefix (default $LEAKSCOPE_LAKE or ./lake)"
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
			fs.StringVar(&c.from, "from", "", "first delivery day to read (date or RFC 3339 time, UTC); on S3 only these days are listed")
			fs.StringVar(&c.to, "to", "", "last delivery day to read, inclusive (default: today)")
			fs.StringSliceVar(&c.accountFilter, "account-filter", nil, "only these account ids (comma-separated or repeated), e.g. within an organisation trail")
			fs.StringSliceVar(&c.regionFilter, "region-filter", nil, "only these regions (comma-separated or repeated)")
			fs.StringVar(&c.shard, "shard", "", "ingest only shard K of N (K/N, K from 0): N workers with K = 0..N-1 cover every object exactly once")
			s3Flags(fs, &c.s3Region, &c.endpointURL, &c.pathStyle)
			fs.StringVar(&c.account, "account", "", "partition account for objects whose key and content do not say (S3 access logs in the date-based layout)")
			fs.StringVar(&c.region, "region", "", "partition region for objects whose key and content do not say (not the S3 API region: see --s3-region)")
			fs.StringVar(&c.flowFormat, "flow-format", "", "VPC flow log format for files without a header, as AWS writes it: '${version} ${account-id} ...'")
			fs.IntVar(&c.memoryMiB, "memory", 64, "MiB of rows buffered before they are written")
			fs.IntVar(&c.spillMiB, "spill", 4096, "MiB of rows spilled, as sorted row groups, into each partition's files in progress before a commit makes them lake files; 0: a commit, and so a file per partition, per --memory/2")
			return func(ctx context.Context, args []string) error {
				c.pathStyleGiven = fs.Changed("path-style")
				if err := c.validate(args); err != nil {
					return err
				}
				return runIngest(ctx, e, c, args)
			}
		},
	}
}

// spillBytes is --spill as ingest.Config.SpillBytes (negative: never).
func spillBytes(mib int) int64 {
	if mib == 0 {
		return -1
	}
	return int64(mib) << 20
}

func runIngest(ctx context.Context, e *env, c *ingestConfig, args []string) error {
	// Keep the heap near the budget on any input size.
	ingest.TuneRuntime(int64(c.memoryMiB) << 20)
	cfg := ingest.Config{
		Lake:         c.lake,
		Sources:      sources.All(),
		Type:         c.typ,
		Workers:      c.workers,
		Force:        c.force,
		MemoryBudget: int64(c.memoryMiB) << 20,
		SpillBytes:   spillBytes(c.spillMiB),
		Account:      c.account,
		Region:       c.region,
		Select:       c.sel,
		S3:           ingest.S3Config{Region: c.s3Region, Endpoint: c.endpointURL, PathStyle: c.pathStyle},
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
	fmt.Fprintf(w, "ingested into %s (run %s)\n", terminalSafe(st.Lake), st.Run)
	if st.Shard != "" {
		fmt.Fprintf(w, "  shard        %s\n", st.Shard)
	}
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
