package main

import (
	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/query"
)

// seedFlags are the repeatable seed flags shared by timeline, scope and
// report.
type seedFlags struct {
	principals, accessKeys, ips, buckets, objects []string
	since, until                                  string
}

func (s *seedFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&s.principals, "principal", nil, "seed principal ARN (repeatable)")
	fs.StringArrayVar(&s.accessKeys, "access-key", nil, "seed access key id (repeatable)")
	fs.StringArrayVar(&s.ips, "ip", nil, "seed IP address (repeatable)")
	fs.StringArrayVar(&s.buckets, "bucket", nil, "seed bucket name (repeatable)")
	fs.StringArrayVar(&s.objects, "object", nil, "seed object s3://bucket/key (repeatable)")
	fs.StringVar(&s.since, "since", "", "window start: RFC 3339 time or date")
	fs.StringVar(&s.until, "until", "", "window end: RFC 3339 time or date (a date includes the whole day)")
}

// seeds validates the flags.
func (s *seedFlags) seeds() (query.Seeds, error) {
	since, err := query.ParseTime(s.since, false)
	if err != nil {
		return query.Seeds{}, usageErrorf("--since: %v", err)
	}
	until, err := query.ParseTime(s.until, true)
	if err != nil {
		return query.Seeds{}, usageErrorf("--until: %v", err)
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return query.Seeds{}, usageErrorf("--until %s is before --since %s", s.until, s.since)
	}
	return query.Seeds{Principals: s.principals, AccessKeys: s.accessKeys, IPs: s.ips, Buckets: s.buckets, Objects: s.objects, Since: since, Until: until}, nil
}
