package query

import (
	"fmt"
	"strings"
	"time"
)

// Seeds are what an investigation starts from: the identities, addresses
// and data a responder already suspects, and a time window. Zero times
// mean unbounded (scope infers the window from the evidence).
type Seeds struct {
	Principals []string // principal or role ARNs, as logged or normalised
	AccessKeys []string // AKIA… / ASIA… key ids
	IPs        []string // source or peer addresses
	Buckets    []string // bucket names
	Objects    []string // s3://bucket/key or bucket/key
	Since      time.Time
	Until      time.Time
}

// Empty reports whether no identity, address or data seed is given.
func (s Seeds) Empty() bool {
	return len(s.Principals)+len(s.AccessKeys)+len(s.IPs)+len(s.Buckets)+len(s.Objects) == 0
}

// ParseTime reads an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC).
// until reports whether a bare date is an upper bound, which then means the
// end of that day.
func ParseTime(s string, until bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if until {
			t = t.Add(24*time.Hour - time.Microsecond)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-14T02:00:00Z) or a date (2026-11-14)", s)
}
