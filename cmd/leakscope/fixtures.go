package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/fixtures"
)

type fixturesConfig struct {
	scenario string
	seed     int64
	days     int
	scale    int
	start    string
	baseline int
}

func fixturesCommand() command {
	return command{
		name:    "fixtures",
		args:    "DIR",
		summary: "write a synthetic AWS log tree with a planted data leak and its truth.json",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &fixturesConfig{}
			scen := fixtures.Scenarios()
			c.scenario = scen[0]
			fs.Var(&enumValue{val: &c.scenario, allowed: scen}, "scenario", "incident to plant: "+strings.Join(scen, "|"))
			fs.Int64Var(&c.seed, "seed", 1, "random seed (same seed, same tree)")
			fs.IntVar(&c.days, "days", 1, "days of logs")
			fs.IntVar(&c.scale, "scale", 1, "background activity multiplier")
			fs.StringVar(&c.start, "start", "2026-11-14", "first day (YYYY-MM-DD); the incident is planted on it")
			fs.IntVar(&c.baseline, "baseline-days", 0, "days of normal activity before the first day (history a responder compares with)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("fixtures: give one output folder, e.g. leakscope fixtures ./demo/logs")
				}
				start, err := time.Parse(time.DateOnly, c.start)
				if err != nil {
					return usageErrorf("fixtures: --start %q is not a date like 2026-11-14", c.start)
				}
				if c.days < 1 || c.scale < 1 || c.baseline < 0 {
					return usageErrorf("fixtures: --days and --scale must be at least 1, --baseline-days at least 0")
				}
				truth, err := fixtures.Generate(args[0], fixtures.Options{Scenario: c.scenario, Seed: c.seed, Start: start, Days: c.days, Scale: c.scale, BaselineDays: c.baseline})
				if err != nil {
					return fmt.Errorf("fixtures: %w", err)
				}
				_ = truth
				_, err = fmt.Fprintf(e.stdout, "wrote the %s incident to %s (ground truth: %s/truth.json)\n", c.scenario, args[0], strings.TrimRight(args[0], "/"))
				return err
			}
		},
	}
}
