// Command leakscope is an AWS data-leak forensics tool: it ingests
// CloudTrail, S3 server access logs and VPC Flow Logs into a Parquet lake
// and answers questions about it with an embedded DuckDB.
//
// Usage:
//
//	leakscope ingest   [--lake L] [--type auto|cloudtrail|s3access|vpcflow] [--stats FILE] SOURCE...
//	leakscope query    [--lake L] [--format table|csv|json|jsonl] [--out FILE] SQL
//	leakscope timeline [--lake L] [seeds] [--since T] [--until T] [--summary] [--format F]
//	leakscope detect   [--lake L] [--rules DIR] [--sigma DIR] [--since T] [--until T] [--fail-on SEVERITY]
//	leakscope scope    [--lake L] [seeds] [--since T] [--until T] [--format json|md|table]
//	leakscope report   [--lake L] [seeds] [--since T] [--until T] --out FILE
//	leakscope verify   [--lake L] [--public-keys FILE] SOURCE...
//	leakscope fixtures [--scenario S] [--seed N] [--days N] [--scale N] DIR
//	leakscope version
//
// Seeds are repeatable: --principal ARN, --access-key ID, --ip ADDR,
// --bucket NAME. --lake defaults to $LEAKSCOPE_LAKE, else ./lake.
//
// Run "leakscope help COMMAND" for a command's flags.
//
// Exit codes: 0 success, 1 error, 2 usage error, 3 detect found findings at
// or above --fail-on.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
