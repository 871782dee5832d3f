package s3access

import "testing"

func TestKeyLayout(t *testing.T) {
	tests := []struct {
		key                     string
		account, region, bucket string
		ok                      bool
	}{
		{"logs/123456789012/us-west-2/amzn-s3-demo-bucket/2024/03/05/2024-03-05-12-00-00-0A1B2C3D4E5F6789", "123456789012", "us-west-2", "amzn-s3-demo-bucket", true},
		{"123456789012/eu-central-1/my.bucket/2023/12/31/x", "123456789012", "eu-central-1", "my.bucket", true},
		{"s3-logs-123456789012/us-gov-west-1/b-1/2023/01/01/2023-01-01-00-00-00-ABC", "123456789012", "us-gov-west-1", "b-1", true},
		{"a/b/c/123456789012/cn-north-1/bkt/2023/01/01/f", "123456789012", "cn-north-1", "bkt", true},
		// date-based layout: no account or region in the key
		{"logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789", "", "", "", false},
		{"2024-03-05-12-00-00-0A1B2C3D4E5F6789", "", "", "", false},
		// near misses
		{"logs/12345678901/us-west-2/bkt/2024/03/05/f", "", "", "", false},  // 11-digit account
		{"logs/123456789012/uswest2/bkt/2024/03/05/f", "", "", "", false},   // not a region
		{"logs/123456789012/us-west-2/bkt/2024/13/05/f", "", "", "", false}, // month 13
		{"logs/123456789012/us-west-2/bkt/2024/03/05/", "", "", "", false},  // no file
		{"logs/123456789012/us-west-2/b/2024/03/05/f", "", "", "", false},   // bucket too short
		{"logs/123456789012/us-west-2/../2024/03/05/f", "", "", "", false},  // not a bucket
		{"AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/05/x.json.gz", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		a, r, b, ok := KeyLayout(tt.key)
		if a != tt.account || r != tt.region || b != tt.bucket || ok != tt.ok {
			t.Errorf("KeyLayout(%q) = %q %q %q %v, want %q %q %q %v", tt.key, a, r, b, ok, tt.account, tt.region, tt.bucket, tt.ok)
		}
	}
}

func TestIsDateLayout(t *testing.T) {
	for key, want := range map[string]bool{
		"logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789":        true,
		"access-log-2024-03-05-12-00-00-0A1B2C3D4E5F67":    true,
		"2024-03-05-12-00-00-ABCDEF.gz":                    true,
		"2024-03-05-12-00-00-":                             false,
		"2024-13-05-12-00-00-ABC":                          false,
		"AWSLogs/1/vpcflowlogs/x_20240305T1200Z_ab.log.gz": false,
		"x/2024-03-05-12-00-00-ABC/other":                  false,
	} {
		if got := isDateLayout(key); got != want {
			t.Errorf("isDateLayout(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestHostRegion(t *testing.T) {
	for host, want := range map[string]string{
		"bucket.s3.us-west-2.amazonaws.com":                      "us-west-2",
		"s3.eu-west-1.amazonaws.com":                             "eu-west-1",
		"s3.eu-west-1.amazonaws.com:443":                         "eu-west-1",
		"My.Bucket.S3.EU-WEST-1.AMAZONAWS.COM":                   "eu-west-1",
		"s3-us-west-2.amazonaws.com":                             "us-west-2",
		"bucket.s3-ap-southeast-1.amazonaws.com":                 "ap-southeast-1",
		"bucket.s3.dualstack.us-east-1.amazonaws.com":            "us-east-1",
		"ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com": "us-west-2",
		"s3-fips.us-gov-west-1.amazonaws.com":                    "us-gov-west-1",
		"bucket.s3-website-us-east-1.amazonaws.com":              "us-east-1",
		"bucket.s3-website.eu-west-3.amazonaws.com":              "eu-west-3",
		"bucket.s3.cn-north-1.amazonaws.com.cn":                  "cn-north-1",
		"bucket.s3.amazonaws.com":                                "", // global endpoint
		"s3.amazonaws.com":                                       "",
		"s3-external-1.amazonaws.com":                            "",
		"ec2.us-west-2.amazonaws.com":                            "",
		"bucket.s3.us-west-2.evil.example":                       "",
		"s3.us-west-2.amazonaws.com.evil.example":                "",
		"":  "",
		"-": "",
	} {
		if got := hostRegion(host); got != want {
			t.Errorf("hostRegion(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestSniff(t *testing.T) {
	line := []byte(base + "\n")
	tests := []struct {
		name string
		key  string
		head []byte
		want int
	}{
		{"line", "some/file.log", line, 90},
		{"line and date layout", "logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789", line, 100},
		{"line and partitioned layout", "p/123456789012/us-east-1/bkt/2024/03/05/f", line, 100},
		{"truncated head", "x", line[:len(owner)+120], 90},
		{"12-digit owner", "x", []byte("123456789012 bkt [06/Feb/2019:00:00:38 +0000] rest"), 90},
		{"date layout, empty head", "logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789", nil, 60},
		{"date layout, other content", "logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789", []byte("hello"), 50},
		{"cloudtrail json", "logs/2024-03-05-12-00-00-0A1B2C3D4E5F6789", []byte(`{"Records":[`), 0},
		{"json array", "x", []byte(`  [{"eventVersion":"1.08"}]`), 0},
		{"vpc flow header", "x", []byte("version account-id interface-id srcaddr dstaddr\n"), 0},
		{"vpc flow record", "x", []byte("2 123456789012 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"), 0},
		{"bad time", "x", []byte(owner + " bkt [06/Feb/2019:00:00:38] x"), 0},
		{"empty", "x", nil, 0},
	}
	for _, tt := range tests {
		if got := Sniff(tt.key, tt.head); got != tt.want {
			t.Errorf("%s: Sniff = %d, want %d", tt.name, got, tt.want)
		}
	}
	for _, path := range corpusFiles(t) {
		data := mustRead(t, path)
		if got := Sniff("x", data[:min(len(data), 4096)]); got != 90 {
			t.Errorf("%s: Sniff = %d, want 90", path, got)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "s3access" || s.Table != "s3_access" || s.Sniff == nil || s.Decode == nil || len(s.Bloom) == 0 {
		t.Fatalf("Spec() = %+v", s)
	}
	cols := map[string]bool{}
	for _, kv := range columns(&Row{}) {
		cols[kv[0].(string)] = true
	}
	for _, b := range s.Bloom {
		if !cols[b] {
			t.Errorf("bloom column %q is not a column", b)
		}
	}
}
