package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/detections/scope"
	"github.com/leakscope/leakscope/query"
)

// scopeFormats are the formats of leakscope scope.
var scopeFormats = []string{"json", "md", "table"}

type scopeConfig struct {
	lake      string
	seeds     seedFlags
	format    string
	config    string
	awsRanges string
	baseline  int
	out       string
}

func (c *scopeConfig) validate(args []string) (query.Seeds, error) {
	if len(args) > 0 {
		return query.Seeds{}, usageErrorf("scope: unexpected argument %q: seeds are flags, e.g. leakscope scope --access-key AKIA...", args[0])
	}
	seeds, err := c.seeds.seeds()
	if err != nil {
		return query.Seeds{}, err
	}
	if len(seeds.Objects) > 0 {
		return query.Seeds{}, usageErrorf("scope: --object is not a scope seed; name the identity (--principal, --access-key, --ip) or the --bucket")
	}
	if seeds.Empty() {
		return query.Seeds{}, usageErrorf("scope: no seed given: name at least one --principal, --access-key, --ip or --bucket")
	}
	if c.baseline < 1 {
		return query.Seeds{}, usageErrorf("scope: --baseline-days must be at least 1")
	}
	return seeds, nil
}

func scopeCommand() command {
	return command{
		name:    "scope",
		args:    "(seeds: --principal ARN | --access-key ID | --ip ADDR | --bucket NAME)",
		summary: "reconstruct a leak from seeds: identities, AI principals, objects read, transfers and network egress (SPEC §6)",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &scopeConfig{format: "json", baseline: 14}
			if e.stdoutTTY {
				c.format = "table"
			}
			lakeFlag(fs, e, &c.lake)
			c.seeds.register(fs)
			fs.Var(&enumValue{val: &c.format, allowed: scopeFormats}, "format", "output format: "+strings.Join(scopeFormats, "|")+" (default table on a terminal, else json)")
			fs.StringVar(&c.config, "config", "", "JSON file: AI principal patterns, interface inventory, internal networks")
			fs.StringVar(&c.awsRanges, "aws-ip-ranges", "", "AWS ip-ranges.json: AWS service addresses are never egress destinations")
			fs.IntVar(&c.baseline, "baseline-days", 14, "days before the window that make a role's baseline of addresses and user agents")
			fs.StringVarP(&c.out, "out", "o", "", "write the result to this file instead of standard output")
			return func(ctx context.Context, args []string) error {
				seeds, err := c.validate(args)
				if err != nil {
					return err
				}
				return runScope(ctx, e, c, seeds)
			}
		},
	}
}

func runScope(ctx context.Context, e *env, c *scopeConfig, seeds query.Seeds) error {
	opt := scope.Options{BaselineDays: c.baseline}
	if c.config != "" {
		cfg, err := scope.LoadConfig(c.config)
		if err != nil {
			return usageErrorf("scope: --config: %v", err)
		}
		opt.Config = cfg
	}
	if c.awsRanges != "" {
		r, err := scope.LoadIPRanges(c.awsRanges)
		if err != nil {
			return usageErrorf("scope: --aws-ip-ranges: %v (download it from https://ip-ranges.amazonaws.com/ip-ranges.json)", err)
		}
		opt.AWSRanges = r
	}
	eng, err := openLake(ctx, c.lake)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := scope.Build(ctx, eng, seeds, opt)
	if errors.Is(err, scope.ErrNoEvidence) {
		return fmt.Errorf("scope: %w in lake %s", err, c.lake)
	}
	if err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	return writeOutput(e, c.out, func(w io.Writer) error {
		switch c.format {
		case "md":
			return scope.Markdown(w, res, c.lake)
		case "table":
			return scope.Table(w, res)
		default:
			return scope.JSON(w, res)
		}
	})
}
