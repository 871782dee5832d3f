package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestAthenaDDL(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"athena-ddl", "--lake", "s3://ir-lake/case-7/", "--database", "ir", "--regions", "us-east-1,eu-west-1"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	ddl := out.String()
	for _, table := range []string{"cloudtrail", "s3_access", "vpc_flow", "findings"} {
		if !strings.Contains(ddl, "CREATE EXTERNAL TABLE IF NOT EXISTS `ir`.`"+table+"` (") {
			t.Errorf("no table %s", table)
		}
		if !strings.Contains(ddl, "LOCATION 's3://ir-lake/case-7/"+table+"/'") {
			t.Errorf("no location for %s", table)
		}
	}
	for _, want := range []string{
		"`event_time` timestamp", "`read_only` boolean", "`bytes_out` bigint", "`start_time` timestamp",
		"`http_status` int", "`finding_id` string",
		"PARTITIONED BY (`account` string, `region` string, `date` string)",
		"'projection.account.type'='injected'",
		"'projection.region.values'='us-east-1,eu-west-1'",
		"'projection.date.range'='2013-11-01,NOW'",
		"'storage.location.template'='s3://ir-lake/case-7/vpc_flow/account=${account}/region=${region}/date=${date}/'",
		"'storage.location.template'='s3://ir-lake/case-7/findings/date=${date}/'",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %s", want)
		}
	}
	// A partition key is never also a data column.
	for _, stmt := range strings.Split(ddl, "CREATE EXTERNAL TABLE")[1:] {
		cols, rest, _ := strings.Cut(stmt, "PARTITIONED BY")
		parts, _, _ := strings.Cut(rest, "\n")
		for _, m := range regexp.MustCompile("`([a-z_]+)` string").FindAllStringSubmatch(parts, -1) {
			if strings.Contains(cols, "`"+m[1]+"` ") {
				t.Errorf("partition column %s repeated in %s", m[1], strings.SplitN(stmt, "\n", 2)[0])
			}
		}
	}
}

func TestAthenaDDLRefusesALocalLake(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"athena-ddl", "--lake", "./lake"}, nil, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "s3://bucket/prefix") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
