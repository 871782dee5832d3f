package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/query"
)

type timelineConfig struct {
	lake     string
	seeds    seedFlags
	sources  []string
	limit    int
	noFollow bool
	summary  bool
	format   string
	out      string
}

// enumList is a repeatable pflag.Value restricted to a set of words.
type enumList struct {
	vals    *[]string
	allowed []string
}

func (v *enumList) String() string { return strings.Join(*v.vals, ",") }
func (v *enumList) Type() string   { return "string" }
func (v *enumList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		ok := false
		for _, a := range v.allowed {
			if part == a {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("must be one of %s", strings.Join(v.allowed, "|"))
		}
		*v.vals = append(*v.vals, part)
	}
	return nil
}

func (c *timelineConfig) validate(args []string) (query.Seeds, error) {
	if len(args) > 0 {
		return query.Seeds{}, usageErrorf("timeline: unexpected argument %q: seeds are flags, e.g. leakscope timeline --access-key AKIA...", args[0])
	}
	seeds, err := c.seeds.seeds()
	if err != nil {
		return query.Seeds{}, err
	}
	if seeds.Empty() {
		return query.Seeds{}, usageErrorf("timeline: no seed given: name at least one --principal, --access-key, --ip, --bucket or --object")
	}
	if c.limit < 0 {
		return query.Seeds{}, usageErrorf("timeline: --limit must be 0 (no limit) or more")
	}
	return seeds, nil
}

func timelineCommand() command {
	return command{
		name:    "timeline",
		args:    "(seeds: --principal ARN | --access-key ID | --ip ADDR | --bucket NAME | --object URI)",
		summary: "one time-ordered story across CloudTrail, S3 access logs and VPC flow logs, following the seeds' credentials",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &timelineConfig{}
			lakeFlag(fs, e, &c.lake)
			c.seeds.register(fs)
			fs.Var(&enumList{vals: &c.sources, allowed: query.Sources}, "source", "only this table: "+strings.Join(query.Sources, "|")+" (repeatable)")
			fs.IntVar(&c.limit, "limit", 0, "at most this many events (0 = all)")
			fs.BoolVar(&c.noFollow, "no-follow", false, "use the seeds as given; do not follow the credentials and addresses they lead to")
			fs.BoolVar(&c.summary, "summary", false, "print per principal: first/last seen, regions, addresses, user agents, keys, calls, objects and bytes read")
			formatFlag(fs, e, &c.format, query.TimelineFormats)
			fs.StringVarP(&c.out, "out", "o", "", "write the result to this file instead of standard output")
			return func(ctx context.Context, args []string) error {
				seeds, err := c.validate(args)
				if err != nil {
					return err
				}
				return runTimeline(ctx, e, c, seeds)
			}
		},
	}
}

func runTimeline(ctx context.Context, e *env, c *timelineConfig, seeds query.Seeds) error {
	eng, err := openLake(ctx, c.lake)
	if err != nil {
		return err
	}
	defer eng.Close()
	opts := query.TimelineOptions{Seeds: seeds, Sources: c.sources, NoFollow: c.noFollow, Limit: c.limit}
	if c.summary {
		opts.Limit = 0
	}
	tl, err := eng.Timeline(ctx, opts)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	f := query.Format(c.format)
	colour := e.stdoutTTY && c.out == "" && f == query.TableFormat
	return writeOutput(e, c.out, func(w io.Writer) error {
		if c.summary {
			return query.RenderSummary(w, f, tl.Summary())
		}
		return query.RenderTimeline(w, f, tl, colour)
	})
}
