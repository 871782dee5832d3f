package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/report/integrity"
)

type verifyConfig struct {
	lake       string
	publicKeys []string
	signatures string
	format     string
	out        string
}

func (c *verifyConfig) validate(args []string) error {
	if len(args) == 0 {
		return usageErrorf("verify: no SOURCE given: name the folder holding the trail's AWSLogs copy, e.g. leakscope verify --public-keys keys.json ./trail-bucket")
	}
	return nil
}

func verifyCommand() command {
	return command{
		name:    "verify",
		args:    "SOURCE...",
		summary: "check CloudTrail digest chains and acquired-object hashes (exit 1 if anything fails)",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &verifyConfig{format: "json"}
			if e.stdoutTTY {
				c.format = "table"
			}
			lakeFlag(fs, e, &c.lake)
			fs.StringArrayVar(&c.publicKeys, "public-keys", nil, "CloudTrail public keys as printed by 'aws cloudtrail list-public-keys' (repeatable)")
			fs.StringVar(&c.signatures, "signatures", "", "JSON object mapping each digest (s3://bucket/key, key or file name) to its x-amz-meta-signature; else DIGEST.sig sidecars are read")
			fs.Var(&enumValue{val: &c.format, allowed: []string{"table", "json"}}, "format", "output format: table|json (default table on a terminal, else json)")
			fs.StringVarP(&c.out, "out", "o", "", "write the result to this file instead of standard output")
			return func(ctx context.Context, args []string) error {
				if err := c.validate(args); err != nil {
					return err
				}
				return runVerify(ctx, e, c, args)
			}
		},
	}
}

func runVerify(ctx context.Context, e *env, c *verifyConfig, args []string) error {
	opt := integrity.Options{Lake: c.lake}
	for _, p := range c.publicKeys {
		f, err := os.Open(p)
		if err != nil {
			return usageErrorf("verify: --public-keys %s: %v", p, err)
		}
		keys, err := integrity.LoadPublicKeys(f)
		f.Close()
		if err != nil {
			return usageErrorf("verify: --public-keys %s: %v", p, err)
		}
		opt.Keys = append(opt.Keys, keys...)
	}
	if c.signatures != "" {
		f, err := os.Open(c.signatures)
		if err != nil {
			return usageErrorf("verify: --signatures %s: %v", c.signatures, err)
		}
		sigs, err := integrity.LoadSignatures(f)
		f.Close()
		if err != nil {
			return usageErrorf("verify: --signatures %s: %v", c.signatures, err)
		}
		opt.Signatures = sigs
	}
	res, err := integrity.Verify(ctx, args, opt)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	err = writeOutput(e, c.out, func(w io.Writer) error {
		if c.format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		return printVerify(w, res)
	})
	if err != nil {
		return err
	}
	if !res.OK() {
		s := res.Summary
		return &exitError{code: 1, err: fmt.Errorf("verify: evidence did not verify: %d of %d digests valid, %d of %d log files valid, %d chain breaks, %d objects changed and %d gone since acquisition; see the report above for each problem",
			s.DigestsValid, s.Digests, s.LogsValid, s.LogFiles, s.ChainBreaks, s.ObjectsChanged, s.ObjectsGone)}
	}
	return nil
}

func printVerify(w io.Writer, r *integrity.Result) error {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "verdict      %s\n", strings.ToUpper(r.Verdict))
	fmt.Fprintf(&b, "digests      %d: %d valid, %d bad signature, %d unverifiable, %d invalid\n", s.Digests, s.DigestsValid, s.DigestsBadSignature, s.DigestsUnverifiable, s.DigestsInvalid)
	fmt.Fprintf(&b, "log files    %d: %d valid, %d missing, %d modified, %d unlisted\n", s.LogFiles, s.LogsValid, s.LogsMissing, s.LogsModified, s.LogsUnlisted)
	fmt.Fprintf(&b, "chain        %d breaks\n", s.ChainBreaks)
	if r.Lake != "" {
		fmt.Fprintf(&b, "lake         %s: %d objects unchanged, %d changed since acquisition, %d gone, %d not acquired\n", terminalSafe(r.Lake), s.ObjectsUnchanged, s.ObjectsChanged, s.ObjectsGone, s.ObjectsNotAcquired)
	}
	if p := r.Problems(); len(p) > 0 {
		b.WriteString("\nproblems\n")
		for _, line := range p {
			fmt.Fprintf(&b, "  %s\n", terminalSafe(line))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nnotes\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  %s\n", terminalSafe(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
