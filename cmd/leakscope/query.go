package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/detections"
	"github.com/leakscope/leakscope/query"
)

type queryConfig struct {
	lake   string
	format string
	out    string
}

func formatFlag(fs *pflag.FlagSet, e *env, p *string, allowed []query.Format) {
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	*p = string(query.JSONL)
	if e.stdoutTTY {
		*p = string(query.TableFormat)
	}
	fs.Var(&enumValue{val: p, allowed: names}, "format", "output format: "+strings.Join(names, "|")+" (default table on a terminal, else jsonl)")
}

func queryCommand() command {
	return command{
		name:    "query",
		args:    "SQL",
		summary: "run read-only SQL over the lake's views (cloudtrail, s3_access, vpc_flow, manifest, quarantine)",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &queryConfig{}
			lakeFlag(fs, e, &c.lake)
			formatFlag(fs, e, &c.format, query.Formats)
			fs.StringVarP(&c.out, "out", "o", "", "write the result to this file instead of standard output")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("query: give the SQL as one argument, e.g. leakscope query \"SELECT count(*) FROM cloudtrail\"")
				}
				return runQuery(ctx, e, c, args[0])
			}
		},
	}
}

// openLake opens the lake's views: the log tables and the findings.
func openLake(ctx context.Context, lake string) (*query.Engine, error) {
	return query.Open(ctx, lake, append(query.LakeTables(), detections.FindingsTable()))
}

func runQuery(ctx context.Context, e *env, c *queryConfig, sql string) error {
	eng, err := openLake(ctx, c.lake)
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.CheckReadOnly(ctx, sql); err != nil {
		if errors.Is(err, query.ErrNotReadOnly) {
			return usageErrorf("query: %v", err)
		}
		return fmt.Errorf("query: %w", err)
	}
	rows, err := eng.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	res, err := query.Scan(rows)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return writeOutput(e, c.out, func(w io.Writer) error {
		return query.Render(w, query.Format(c.format), res)
	})
}

// writeOutput writes to --out atomically, or to stdout.
func writeOutput(e *env, out string, fn func(io.Writer) error) error {
	if out == "" {
		return fn(e.stdout)
	}
	f, err := os.CreateTemp(dirOf(out), ".leakscope-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}
