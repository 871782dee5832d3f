package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/leakscope/leakscope/ingest"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// version is the tool version stamped into every lake file and report.
var version = "0.1.0"

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
	// terminal reports whether stdout / stderr are terminals.
	stdoutTTY, stderrTTY bool
	getenv               func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	args    string // usage after the flags
	summary string
	// flags registers the command's flags into fs and returns the
	// function that runs it with the positional arguments.
	flags func(fs *pflag.FlagSet, e *env) func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		ingestCommand(),
		queryCommand(),
		detectCommand(),
		timelineCommand(),
		scopeCommand(),
		reportCommand(),
		fixturesCommand(),
		verifyCommand(),
		athenaCommand(),
		{name: "version", summary: "print the version", flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				_, err := fmt.Fprintf(e.stdout, "leakscope %s (gzip: %s)\n", version, ingest.GunzipEngine)
				return err
			}
		}},
	}
}

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process exit code for the error.
func (e *exitError) ExitCode() int { return e.code }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func isTTY(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{
		stdin: stdin, stdout: stdout, stderr: stderr,
		stdoutTTY: isTTY(stdout), stderrTTY: isTTY(stderr),
		getenv: os.Getenv,
	}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := dispatch(ctx, e, args)
	if err == nil {
		return 0
	}
	code := 1
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(stderr, "leakscope: %s\n", oneLine(err.Error()))
	} else {
		code = 0
	}
	return code
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "leakscope %s: AWS data-leak forensics over CloudTrail, S3 access logs and VPC Flow Logs\n\nUsage: leakscope COMMAND [flags] [args]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'leakscope help COMMAND' for a command's flags.\nExit codes: 0 success, 1 error, 2 usage error, 3 findings at or above --fail-on.\n")
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stderr)
		return &exitError{code: 2, err: errors.New("no command given")}
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			return dispatch(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
		fs.SetOutput(e.stderr)
		fs.SortFlags = false
		runFn := c.flags(fs, e)
		fs.Usage = func() {
			fmt.Fprintf(e.stderr, "Usage: leakscope %s [flags] %s\n\n%s\n\nFlags:\n%s", c.name, c.args, c.summary, fs.FlagUsages())
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return err
			}
			return usageErrorf("%s: %v (see leakscope help %s)", c.name, err, c.name)
		}
		return runFn(ctx, fs.Args())
	}
	usage(e.stderr)
	return usageErrorf("unknown command %q", name)
}

// lakeFlag registers --lake with its default from $LEAKSCOPE_LAKE.
func lakeFlag(fs *pflag.FlagSet, e *env, p *string) {
	def := e.getenv("LEAKSCOPE_LAKE")
	if def == "" {
		def = "lake"
	}
	fs.StringVarP(p, "lake", "l", def, "lake folder (default $LEAKSCOPE_LAKE or ./lake)")
}
