package ingest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zeebo/xxh3"
)

// Selection narrows the objects a run ingests: delivery days, accounts
// and regions read from the AWS key layouts, and one shard of N. Objects
// whose key does not say their day, account or region are kept.
type Selection struct {
	// From and To are the first and last delivery day (UTC, inclusive)
	// as the key layouts name them (AWSLogs/.../YYYY/MM/DD/, the S3 access
	// log date prefixes, year=/month=/day=). Zero = unbounded. On S3 they
	// become per-day key prefixes, so only those days are listed.
	From, To time.Time
	// Accounts and Regions, when not empty, keep only objects of these
	// accounts and regions (organisation trails, multi-account buckets).
	Accounts, Regions []string
	// Shard, when Shard.N > 1, keeps only the objects of shard K of N.
	Shard Shard
}

// Shard is one of N disjoint parts of the object list (K from 0 to N-1).
type Shard struct{ K, N int }

// ParseShard parses "K/N".
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 0 || ki >= ni {
		return Shard{}, fmt.Errorf("shard %q: want K/N with 0 <= K < N, e.g. 0/8", s)
	}
	return Shard{K: ki, N: ni}, nil
}

func (s Shard) String() string {
	if s.N <= 1 {
		return ""
	}
	return fmt.Sprintf("%d-of-%d", s.K, s.N)
}

func (s *Selection) narrowsDays() bool { return !s.From.IsZero() || !s.To.IsZero() }

func (s *Selection) narrows() bool {
	return s.narrowsDays() || len(s.Accounts) > 0 || len(s.Regions) > 0
}

// days lists the delivery days to read, or nil when unbounded.
func (s *Selection) days() []time.Time {
	if !s.narrowsDays() {
		return nil
	}
	from, to := s.From, s.To
	if from.IsZero() {
		from = time.Date(2006, 3, 14, 0, 0, 0, 0, time.UTC) // S3 launch
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	var out []time.Time
	for d := day(from); !d.After(day(to)); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (s *Selection) keepDay(d string) bool {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return true
	}
	return (s.From.IsZero() || !t.Before(day(s.From))) && (s.To.IsZero() || !t.After(day(s.To)))
}

func (s *Selection) keepAccount(a string) bool {
	return a == "" || len(s.Accounts) == 0 || slices.Contains(s.Accounts, a)
}

func (s *Selection) keepRegion(r string) bool {
	return r == "" || len(s.Regions) == 0 || slices.Contains(s.Regions, r)
}

// keyFacts is what an object key says about its content.
type keyFacts struct{ account, region, date string }

var (
	keyDate      = regexp.MustCompile(`(?:^|/)((?:19|20)[0-9]{2})/([01][0-9])/([0-3][0-9])/`)
	keyHiveDate  = regexp.MustCompile(`(?:^|/)year=((?:19|20)[0-9]{2})/month=([01][0-9])/day=([0-3][0-9])/`)
	keyStampDate = regexp.MustCompile(`(?:^|/|[^0-9])((?:19|20)[0-9]{2})-([01][0-9])-([0-3][0-9])-[0-2][0-9]-[0-5][0-9]-[0-6][0-9]-[0-9A-Za-z]+(?:\.[a-z0-9.]+)?$`)
)

// facts reads the account, region and delivery day from a key that
// follows one of the AWS layouts.
func facts(key string, srcs []Source) keyFacts {
	var f keyFacts
	for _, s := range srcs {
		if a, r, ok := s.layout(key); ok {
			f.account, f.region = a, r
			break
		}
	}
	if f.account == "" && f.region == "" {
		f.account, f.region = awsLayout(key)
	}
	for _, re := range []*regexp.Regexp{keyDate, keyHiveDate, keyStampDate} {
		if m := re.FindStringSubmatch(key); m != nil {
			f.date = m[1] + "-" + m[2] + "-" + m[3]
			break
		}
	}
	return f
}

// keep reports whether the selection keeps the object.
func (s *Selection) keep(o *Object, srcs []Source) bool {
	if !s.narrows() && s.Shard.N <= 1 {
		return true
	}
	f := facts(o.Key, srcs)
	if !s.keepDay(f.date) || !s.keepAccount(f.account) || !s.keepRegion(f.region) {
		return false
	}
	return s.Shard.N <= 1 || shardOf(cmpOr(o.rel, o.Key), f, s.Shard.N) == s.Shard.K
}

// shardOf places an object in one of n shards by a hash of its key
// relative to the SOURCE it was listed from (so that workers that mount
// the evidence at different paths agree). Objects whose key names
// its account, region and delivery day are placed by those: an
// organisation trail's copy of a day lands on the same worker as the
// account trail's copy, so the duplicates between them are still dropped
// and concurrent shards rarely write the same partition. Other objects
// are placed by their URI.
func shardOf(rel string, f keyFacts, n int) int {
	h := xxh3.HashString(rel)
	if f.account != "" && f.region != "" && f.date != "" {
		h = xxh3.HashString(f.account + "/" + f.region + "/" + f.date)
	}
	return int(h % uint64(n))
}

// Select keeps the objects the selection names, in order.
func (s *Selection) Select(objs []Object, srcs []Source) []Object {
	out := objs[:0:0]
	for _, o := range objs {
		if s.keep(&o, srcs) {
			out = append(out, o)
		}
	}
	return out
}
