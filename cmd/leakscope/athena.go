package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/detections"
	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/query"
)

// awsRegions are the commercial regions enumerated for the region
// partition when --regions is not given ("unknown" is leakscope's value
// for rows whose region no log said).
var awsRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
	"eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
	"us-west-2", "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1", "unknown",
}

type athenaConfig struct {
	lake     string
	database string
	accounts []string
	regions  []string
	from     string
}

var (
	glueName  = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)
	accountID = regexp.MustCompile(`^(?:[0-9]{12}|unknown)$`)
	regionID  = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

func (c *athenaConfig) validate(args []string) error {
	if len(args) > 0 {
		return usageErrorf("athena-ddl: unexpected argument %q", args[0])
	}
	if !ingest.IsS3(c.lake) {
		return usageErrorf("athena-ddl: --lake must be the S3 lake, s3://bucket/prefix (ingest writes it with --lake s3://...)")
	}
	if strings.ContainsAny(c.lake, "'\\\n") {
		return usageErrorf("athena-ddl: --lake %q contains a quote or a newline", c.lake)
	}
	if !glueName.MatchString(c.database) {
		return usageErrorf("athena-ddl: --database %q: use lower-case letters, digits and _", c.database)
	}
	c.accounts, c.regions = splitList(c.accounts), splitList(c.regions)
	for _, a := range c.accounts {
		if !accountID.MatchString(a) {
			return usageErrorf("athena-ddl: --accounts: %q is not a 12-digit account id", a)
		}
	}
	for _, r := range c.regions {
		if !regionID.MatchString(r) {
			return usageErrorf("athena-ddl: --regions: %q is not a region name", r)
		}
	}
	if _, err := time.Parse(time.DateOnly, c.from); err != nil {
		return usageErrorf("athena-ddl: --from %q: want a date such as 2013-11-01", c.from)
	}
	return nil
}

func athenaCommand() command {
	return command{
		name:    "athena-ddl",
		summary: "print Glue/Athena CREATE EXTERNAL TABLE statements for a lake on S3",
		flags: func(fs *pflag.FlagSet, e *env) func(context.Context, []string) error {
			c := &athenaConfig{}
			lakeFlag(fs, e, &c.lake)
			fs.Lookup("lake").Usage = "the lake on S3, s3://bucket/prefix (default $LEAKSCOPE_LAKE)"
			fs.StringVar(&c.database, "database", "leakscope", "Glue database for the tables")
			fs.StringSliceVar(&c.accounts, "accounts", nil, "account ids to enumerate for the account partition (default: injected, so every query names its account)")
			fs.StringSliceVar(&c.regions, "regions", nil, "regions to enumerate for the region partition (default: every AWS region and unknown)")
			fs.StringVar(&c.from, "from", "2013-11-01", "first day of the date partition range (the range ends at NOW)")
			return func(ctx context.Context, args []string) error {
				if err := c.validate(args); err != nil {
					return err
				}
				tables := append(query.LakeTables(), detections.FindingsTable())
				return writeAthenaDDL(e.stdout, c, tables)
			}
		},
	}
}

// writeAthenaDDL prints a database and one table per lake table, with
// columns and types read from the tables' Parquet schemas and partition
// projection, so that Athena finds new partitions without MSCK REPAIR.
func writeAthenaDDL(w io.Writer, c *athenaConfig, tables []query.Table) error {
	lake := strings.TrimSuffix(c.lake, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "-- Athena / Glue tables over the leakscope lake %s (leakscope %s).\n", lake, version)
	fmt.Fprintf(&b, "-- Partitions are projected: no crawler and no MSCK REPAIR TABLE are needed.\n")
	if len(c.accounts) == 0 {
		fmt.Fprintf(&b, "-- The account partition is injected: every query names it, e.g. WHERE account = '111122223333'.\n")
	}
	fmt.Fprintf(&b, "-- Rows whose day no log said (date=unknown) are not projected.\n\n")
	fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS `%s`;\n", c.database)
	for _, t := range tables {
		var buf bytes.Buffer
		if err := t.Empty(&buf); err != nil {
			return fmt.Errorf("schema of %s: %w", t.Name, err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			return fmt.Errorf("schema of %s: %w", t.Name, err)
		}
		b.WriteString("\n")
		tableDDL(&b, c, lake, t, f.Schema())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tableDDL(b *strings.Builder, c *athenaConfig, lake string, t query.Table, schema *parquet.Schema) {
	parts := make([]string, len(t.Partitions))
	for i, p := range t.Partitions {
		parts[i] = p.Name
	}
	var cols []string
	for _, f := range schema.Fields() {
		if slices.Contains(parts, f.Name()) {
			fmt.Fprintf(b, "-- %s: the files' column %s is read as the partition column of that name.\n", t.Name, f.Name())
			continue
		}
		cols = append(cols, fmt.Sprintf("  `%s` %s", f.Name(), hiveType(f)))
	}
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n%s\n)\n", c.database, t.Name, strings.Join(cols, ",\n"))
	var pcols []string
	for _, p := range parts {
		pcols = append(pcols, fmt.Sprintf("`%s` string", p))
	}
	loc := lake + "/" + t.Name + "/"
	fmt.Fprintf(b, "PARTITIONED BY (%s)\nSTORED AS PARQUET\nLOCATION '%s'\nTBLPROPERTIES (\n", strings.Join(pcols, ", "), loc)
	props := [][2]string{{"parquet.compression", "ZSTD"}, {"projection.enabled", "true"}}
	tmpl := loc
	for _, p := range parts {
		tmpl += p + "=${" + p + "}/"
		switch p {
		case "account":
			if len(c.accounts) == 0 {
				props = append(props, [2]string{"projection.account.type", "injected"})
			} else {
				props = append(props, [2]string{"projection.account.type", "enum"}, [2]string{"projection.account.values", strings.Join(c.accounts, ",")})
			}
		case "region":
			regions := c.regions
			if len(regions) == 0 {
				regions = awsRegions
			}
			props = append(props, [2]string{"projection.region.type", "enum"}, [2]string{"projection.region.values", strings.Join(regions, ",")})
		case "date":
			props = append(props,
				[2]string{"projection.date.type", "date"},
				[2]string{"projection.date.format", "yyyy-MM-dd"},
				[2]string{"projection.date.range", c.from + ",NOW"},
				[2]string{"projection.date.interval", "1"},
				[2]string{"projection.date.interval.unit", "DAYS"})
		}
	}
	props = append(props, [2]string{"storage.location.template", tmpl})
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  '%s'='%s'%s\n", p[0], p[1], sep)
	}
	b.WriteString(");\n")
}

// hiveType is the Glue/Athena type of a Parquet schema node.
func hiveType(n parquet.Node) string {
	if n.Repeated() {
		return "array<" + nodeType(n) + ">"
	}
	return nodeType(n)
}

func nodeType(n parquet.Node) string {
	var lt any
	if l := n.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	if !n.Leaf() {
		fields := n.Fields()
		switch lt.(type) {
		case *format.ListType:
			if len(fields) == 1 && !fields[0].Leaf() && len(fields[0].Fields()) == 1 {
				return "array<" + hiveType(fields[0].Fields()[0]) + ">"
			}
		case *format.MapType:
			if len(fields) == 1 && len(fields[0].Fields()) == 2 {
				kv := fields[0].Fields()
				return "map<" + hiveType(kv[0]) + "," + hiveType(kv[1]) + ">"
			}
		}
		var members []string
		for _, f := range fields {
			members = append(members, f.Name()+":"+hiveType(f))
		}
		return "struct<" + strings.Join(members, ",") + ">"
	}
	switch t := lt.(type) {
	case *format.StringType, *format.JsonType, *format.EnumType, *format.UUIDType:
		return "string"
	case *format.TimestampType:
		return "timestamp"
	case *format.DateType:
		return "date"
	case *format.DecimalType:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *format.IntType:
		switch t.BitWidth {
		case 8:
			return "tinyint"
		case 16:
			return "smallint"
		case 32:
			if !t.IsSigned {
				return "bigint"
			}
			return "int"
		default:
			return "bigint"
		}
	}
	switch n.Type().Kind() {
	case parquet.Boolean:
		return "boolean"
	case parquet.Int32:
		return "int"
	case parquet.Int64:
		return "bigint"
	case parquet.Int96:
		return "timestamp"
	case parquet.Float:
		return "float"
	case parquet.Double:
		return "double"
	}
	return "binary"
}
