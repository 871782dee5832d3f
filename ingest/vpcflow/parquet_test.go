package vpcflow

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/leakscope/leakscope/ingest"
)

// awsParquet is the schema of AWS Parquet delivery (the fields of the
// v5 custom format of awsdocs_vpc-userguide_v5_traffic-path): AWS names
// with '_', int32/int64/string types.
type awsParquet struct {
	Version          int32  `parquet:"version"`
	Srcaddr          string `parquet:"srcaddr,optional"`
	Dstaddr          string `parquet:"dstaddr,optional"`
	Srcport          *int32 `parquet:"srcport,optional"`
	Dstport          *int32 `parquet:"dstport,optional"`
	Protocol         *int32 `parquet:"protocol,optional"`
	Start            int64  `parquet:"start"`
	End              int64  `parquet:"end"`
	Type             string `parquet:"type,optional"`
	Packets          *int64 `parquet:"packets,optional"`
	Bytes            *int64 `parquet:"bytes,optional"`
	AccountID        string `parquet:"account_id"`
	VPCID            string `parquet:"vpc_id,optional"`
	SubnetID         string `parquet:"subnet_id,optional"`
	InstanceID       string `parquet:"instance_id,optional"`
	InterfaceID      string `parquet:"interface_id,optional"`
	Region           string `parquet:"region,optional"`
	AZID             string `parquet:"az_id,optional"`
	SublocationType  string `parquet:"sublocation_type,optional"`
	SublocationID    string `parquet:"sublocation_id,optional"`
	Action           string `parquet:"action,optional"`
	TCPFlags         *int32 `parquet:"tcp_flags,optional"`
	PktSrcaddr       string `parquet:"pkt_srcaddr,optional"`
	PktDstaddr       string `parquet:"pkt_dstaddr,optional"`
	PktSrcAWSService string `parquet:"pkt_src_aws_service,optional"`
	PktDstAWSService string `parquet:"pkt_dst_aws_service,optional"`
	TrafficPath      *int32 `parquet:"traffic_path,optional"`
	FlowDirection    string `parquet:"flow_direction,optional"`
	LogStatus        string `parquet:"log_status"`
}

func p32(v int32) *int32 { return &v }
func p64(v int64) *int64 { return &v }

// TestParquetAWSSchema writes the v5 doc example as AWS Parquet delivery
// would and expects the same rows as from the text file.
func TestParquetAWSSchema(t *testing.T) {
	recs := []awsParquet{
		{5, "52.95.128.179", "10.0.0.71", p32(80), p32(34210), p32(6), 1616729292, 1616729349, "IPv4", p64(14), p64(15044),
			"123456789012", "vpc-abcdefab012345678", "subnet-aaaaaaaa012345678", "i-0c50d5961bcb2d47b", "eni-1235b8ca123456789",
			"ap-southeast-2", "apse2-az3", "", "", "ACCEPT", p32(19), "52.95.128.179", "10.0.0.71", "S3", "", nil, "ingress", "OK"},
		{5, "10.0.0.71", "52.95.128.179", p32(34210), p32(80), p32(6), 1616729292, 1616729349, "IPv4", p64(7), p64(471),
			"123456789012", "vpc-abcdefab012345678", "subnet-aaaaaaaa012345678", "i-0c50d5961bcb2d47b", "eni-1235b8ca123456789",
			"ap-southeast-2", "apse2-az3", "", "", "ACCEPT", p32(3), "10.0.0.71", "52.95.128.179", "", "S3", p32(8), "egress", "OK"},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	text := runString(t, string(corpusFile(t, "awsdocs_vpc-userguide_v5_traffic-path_custom_with-header.log")), nil)
	if len(text.rows) != 2 {
		t.Fatalf("text rows %d", len(text.rows))
	}
	for name, r := range map[string]struct {
		key string
		r   io.Reader
	}{
		"readerat": {"AWSLogs/123456789012/vpcflowlogs/ap-southeast-2/2021/03/26/x.parquet", bytes.NewReader(buf.Bytes())},
		"sniffed":  {"x.log", struct{ io.Reader }{bytes.NewReader(buf.Bytes())}},
	} {
		got := run(t, ingest.ObjectInfo{URI: "u", Key: r.key}, r.r)
		if got.err != nil || len(got.rows) != 2 || len(got.bad) != 0 {
			t.Fatalf("%s: err %v rows %d bad %v", name, got.err, len(got.rows), got.bad)
		}
		for i := range got.rows {
			g, w := got.rows[i], text.rows[i]
			if g.SourceOffset != int64(i) || g.SourceLine != int64(i+1) || g.Hash == (ingest.Hash{}) {
				t.Errorf("%s: row %d offset %d line %d", name, i, g.SourceOffset, g.SourceLine)
			}
			g.SourceOffset, g.SourceLine, g.Hash = w.SourceOffset, w.SourceLine, w.Hash
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: row %d:\n got %s\nwant %s", name, i, renderRow(&g), renderRow(&w))
			}
		}
		if got.rows[0].Hash == got.rows[1].Hash {
			t.Errorf("%s: rows share a hash", name)
		}
	}
}

// TestParquetOddTypes: integer account ids are zero-padded, TIMESTAMP
// columns become seconds, a non-number in a numeric string column is
// quarantined with the row number, unknown columns go to extra_fields.
func TestParquetOddTypes(t *testing.T) {
	type odd struct {
		AccountID int64     `parquet:"account_id"`
		Start     time.Time `parquet:"start,timestamp(millisecond)"`
		Bytes     string    `parquet:"bytes"`
		Packets   float64   `parquet:"packets"`
		Future    string    `parquet:"encryption_status,optional"`
	}
	recs := []odd{
		{12345, time.Unix(1616729292, 999e6), "None", 3, "1"},
		{123456789012, time.Unix(1616729293, 0), "12x", 4, ""},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got := run(t, ingest.ObjectInfo{Key: "a.parquet", Size: int64(buf.Len())}, bytes.NewReader(buf.Bytes()))
	if got.err != nil || len(got.rows) != 1 || len(got.bad) != 1 {
		t.Fatalf("err %v rows %d bad %v", got.err, len(got.rows), got.bad)
	}
	r := got.rows[0]
	if r.AccountID != "000000012345" || *r.StartTime != 1616729292e6 || r.Bytes != nil || *r.Packets != 3 ||
		r.Ext == nil || r.Ext.ExtraFields != `{"encryption_status":"1"}` {
		t.Errorf("row = %s", renderRow(&r))
	}
	if b := got.bad[0]; b.Line != 2 || b.Offset != 1 || b.Reason != `field bytes: "12x" is not a number` ||
		string(b.Snippet) != "123456789012 1616729293 12x 4 -" {
		t.Errorf("bad = %+v %q", b, b.Snippet)
	}
}

func TestParquetErrors(t *testing.T) {
	// truncated file
	b, err := os.ReadFile(filepath.Join(corpusDir, "obsrvbl-oss-flowlogs-reader_v2_pandas-written-not-AWS-schema.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, ingest.ObjectInfo{Key: "t.parquet", Size: int64(len(b) - 10)}, bytes.NewReader(b[:len(b)-10]))
	var pe *ingest.ParseError
	if got.err == nil || !asParseError(got.err, &pe) {
		t.Errorf("truncated: err = %v, want ParseError", got.err)
	}
	// a Parquet file with no flow-log columns
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []struct {
		A string `parquet:"eventName"`
	}{{"x"}}); err != nil {
		t.Fatal(err)
	}
	got = run(t, ingest.ObjectInfo{Key: "t.parquet"}, bytes.NewReader(buf.Bytes()))
	if !asParseError(got.err, &pe) {
		t.Errorf("foreign schema: err = %v, want ParseError", got.err)
	}
}

func asParseError(err error, pe **ingest.ParseError) bool {
	e, ok := err.(*ingest.ParseError)
	*pe = e
	return ok
}
