package vpcflow

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyLayout(t *testing.T) {
	cases := []struct {
		key, account, region string
		ok                   bool
	}{
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20240102T0000Z_hash.log.gz", "123456789012", "us-east-1", true},
		{"bucket/prefix/AWSLogs/123456789012/vpcflowlogs/eu-central-2/2024/12/31/03/x.log.gz", "123456789012", "eu-central-2", true},
		{"prefix/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-gov-west-1/year=2024/month=01/day=02/hour=03/f.parquet", "123456789012", "us-gov-west-1", true},
		{"/tmp/copy/123456789012_vpcflowlogs_ap-southeast-2_fl-0a1b2c3d_20210326T0000Z_1a2b3c4d.log.gz", "123456789012", "ap-southeast-2", true},
		{"AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/x.json.gz", "", "", false},
		{"AWSLogs/12345678901/vpcflowlogs/us-east-1/2024/01/02/x.log.gz", "", "", false},
		{"AWSLogs/123456789012/vpcflowlogs/../../2024/01/02/x.log.gz", "", "", false},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/x.log.gz", "", "", false},
		{"AWSLogs/aws-account-id=123456789012/aws-service=cloudtrail/aws-region=us-east-1/year=2024/x", "", "", false},
		{"vpcflowlogs", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		a, r, ok := KeyLayout(c.key)
		if a != c.account || r != c.region || ok != c.ok {
			t.Errorf("KeyLayout(%q) = %q, %q, %v; want %q, %q, %v", c.key, a, r, ok, c.account, c.region, c.ok)
		}
	}
}

func TestSniff(t *testing.T) {
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(corpusDir, "..", dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name, key string
		head      []byte
		min, max  int
	}{
		{"key layout", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/x.log.gz", nil, 100, 100},
		{"v2 no header", "x.log", corpusFile(t, "awsdocs_vpc-userguide_v2_default-format_examples_no-header.log"), 90, 99},
		{"v2 header", "x.log", corpusFile(t, "grafana-loki_lambda-promtail_vpcflowlog_v2_with-header.log.gz"), 90, 99},
		{"alphabetical header", "x", corpusFile(t, "obsrvbl-oss-flowlogs-reader_v5_custom-alphabetical-order_with-header_bogus-trailing-line.log"), 90, 99},
		{"nat header", "x", corpusFile(t, "elastic_beats_vpcflow_custom-nat-gateway_with-header.log"), 90, 99},
		{"v7 no header", "x", corpusFile(t, "elastic_integrations_vpcflow_v7_ecs-fields.log"), 80, 99},
		{"tgw no header", "x", corpusFile(t, "elastic_integrations_vpcflow_tgw-samples.log"), 90, 99},
		{"json wrapper", "x", corpusFile(t, "elastic_integrations_vpcflow_v2_cloudwatch-json-message-wrapper.jsonl"), 80, 90},
		{"cut head", "x", corpusFile(t, "awsdocs_vpc-userguide_v2_default-format_examples_no-header.log")[:40], 0, 0},
		{"parquet", "flows.parquet", corpusFile(t, "obsrvbl-oss-flowlogs-reader_v2_pandas-written-not-AWS-schema.parquet"), 50, 70},
		{"garbage", "x", corpusFile(t, "elastic_beats_vpcflow_bad-unsupported-format.log"), 0, 0},
		{"cloudtrail records", "x.json", read("cloudtrail", "stratus_aws.defense-evasion.cloudtrail-stop.json"), 0, 0},
		{"cloudtrail jsonl", "x.jsonl", read("cloudtrail", "otrf_ec2_proxy_s3_exfiltration_2020-09-14.jsonl"), 0, 0},
		{"cloudtrail compact", "x", []byte(`{"Records":[{"eventVersion":"1.08","eventName":"GetObject"}]}` + "\n"), 0, 0},
		{"s3 access", "x", read("s3access", "awsdocs_s3-userguide_LogFormat-example.log"), 0, 0},
		{"empty", "x", nil, 0, 0},
	}
	for _, c := range cases {
		head := c.head
		if len(head) > 4096 {
			head = head[:4096]
		}
		if got := Sniff(c.key, head); got < c.min || got > c.max {
			t.Errorf("%s: Sniff = %d, want %d..%d", c.name, got, c.min, c.max)
		}
	}
	// every s3access corpus file scores 0
	ents, _ := os.ReadDir(filepath.Join(corpusDir, "..", "s3access"))
	for _, e := range ents {
		if got := Sniff(e.Name(), read("s3access", e.Name())); got != 0 {
			t.Errorf("s3access %s: Sniff = %d", e.Name(), got)
		}
	}
}
