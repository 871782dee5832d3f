package query

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (rerun with -update if intended)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// portable replaces the temporary log folder in evidence URIs.
func portable(b []byte, lake string) []byte {
	logs := filepath.Join(filepath.Dir(lake), "logs")
	return bytes.ReplaceAll(b, []byte(logs), []byte("$LOGS"))
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseTime(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestTimelineGolden(t *testing.T) {
	e := openIncident(t)
	cases := []struct {
		name   string
		opts   TimelineOptions
		format Format
	}{
		{"stolen-key-follow.table", TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}}, TableFormat},
		{"stolen-key-follow.csv", TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}}, CSV},
		{"stolen-key-no-follow.table", TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}, NoFollow: true}, TableFormat},
		{"hop2-key-backward.table", TimelineOptions{Seeds: Seeds{AccessKeys: []string{incHop2Key}}}, TableFormat},
		{"attacker-ip.timesketch", TimelineOptions{Seeds: Seeds{IPs: []string{incAttackerIP}}, NoFollow: true}, Timesketch},
		{"bucket-window.jsonl", TimelineOptions{Seeds: Seeds{Buckets: []string{incBucket},
			Since: mustTime(t, "2026-11-14T02:05:15Z"), Until: mustTime(t, "2026-11-14T03:00:00Z")}}, JSONL},
		{"stolen-key-s3-only.table", TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}, Sources: []string{"s3_access"}}, TableFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl, err := e.Timeline(t.Context(), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := RenderTimeline(&b, c.format, tl, false); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("timeline", c.name), portable(b.Bytes(), e.Lake()))
		})
	}
}

func TestFollowIdentities(t *testing.T) {
	e := openIncident(t)
	for _, c := range []struct {
		name  string
		seeds Seeds
	}{
		{"stolen-key", Seeds{AccessKeys: []string{incStolenKey}}},
		{"hop2-key", Seeds{AccessKeys: []string{incHop2Key}}},
		{"hop2-session", Seeds{Principals: []string{incHop2ARN}}},
		{"user", Seeds{Principals: []string{incUserARN}}},
		{"window-before-chain", Seeds{AccessKeys: []string{incStolenKey}, Until: mustTime(t, "2026-11-14T02:02:00Z")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ids, err := e.FollowIdentities(t.Context(), c.seeds)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(ids, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("identity", c.name+".json"), append(b, '\n'))
		})
	}
}

// TestTimelineIncident states the incident's facts directly, so a wrong
// golden file cannot hide them.
func TestTimelineIncident(t *testing.T) {
	e := openIncident(t)
	ctx := t.Context()
	follow, err := e.Timeline(ctx, TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}})
	if err != nil {
		t.Fatal(err)
	}
	ids := follow.Identities
	for _, k := range []string{incStolenKey, incHop1Key, incHop2Key} {
		if _, ok := ids.Lookup(KindAccessKey, k); !ok {
			t.Errorf("following %s did not reach access key %s", incStolenKey, k)
		}
	}
	for _, s := range []string{incHop1ARN, incHop2ARN} {
		if _, ok := ids.Lookup(KindSession, s); !ok {
			t.Errorf("following did not reach session %s", s)
		}
	}
	if id, ok := ids.Lookup(KindAccessKey, incHop2Key); !ok || !strings.Contains(id.Why, "into account 222222222222") || id.Via != incHop1Key || id.Depth != 2 {
		t.Errorf("hop 2 key: %+v, want cross-account issue via %s at depth 2", id, incHop1Key)
	}
	if id, ok := ids.Lookup(KindAddress, incAttackerIP); !ok || !strings.HasPrefix(id.Why, "address used by key ") {
		t.Errorf("attacker address: %+v", id)
	}

	count := func(tl *Timeline, pred func(r TimelineRow) bool) int {
		n := 0
		for _, r := range tl.Rows {
			if pred(r) {
				n++
			}
		}
		return n
	}
	for _, rid := range []string{"REQ0001AAAA", "REQ0002BBBB"} {
		if n := count(follow, func(r TimelineRow) bool { return r.RequestID == rid }); n != 1 {
			t.Errorf("request %s appears %d times in the timeline, want once", rid, n)
		}
		if n := count(follow, func(r TimelineRow) bool {
			return r.RequestID == rid && slices.Equal(r.Evidence, []string{"cloudtrail", "s3_access"})
		}); n != 1 {
			t.Errorf("request %s: want evidence cloudtrail+s3_access", rid)
		}
	}
	if n := count(follow, func(r TimelineRow) bool { return r.RequestID == "REQ0003CCCC" && r.Source == "s3_access" }); n != 1 {
		t.Errorf("the read only the access log saw is missing")
	}
	if n := count(follow, func(r TimelineRow) bool { return r.Source == "vpc_flow" && r.Destination == incAttackerIP }); n != 1 {
		t.Errorf("the flow to the attacker address is missing")
	}
	if n := count(follow, func(r TimelineRow) bool {
		return strings.Contains(r.Principal, "alice") || strings.Contains(r.Principal, "job-42") || r.Destination == "198.51.100.7" || r.SourceIP == "198.51.100.7"
	}); n != 0 {
		t.Errorf("%d unrelated rows in the timeline", n)
	}
	for i := 1; i < len(follow.Rows); i++ {
		if follow.Rows[i].Time.Before(follow.Rows[i-1].Time) {
			t.Errorf("row %d is out of time order", i)
		}
	}
	if got := follow.Rows[0].Description; got != "ci-deployer GetCallerIdentity from 203.0.113.66" {
		t.Errorf("first description %q", got)
	}

	noFollow, err := e.Timeline(ctx, TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}, NoFollow: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(noFollow.Rows) != 2 {
		t.Errorf("--no-follow gave %d rows, want the 2 calls of the seed key", len(noFollow.Rows))
	}
	if len(follow.Rows) <= len(noFollow.Rows) {
		t.Errorf("following added nothing: %d vs %d rows", len(follow.Rows), len(noFollow.Rows))
	}

	limited, err := e.Timeline(ctx, TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(limited.Rows) != 3 || !limited.Truncated {
		t.Errorf("--limit 3 gave %d rows, truncated %v", len(limited.Rows), limited.Truncated)
	}

	if _, err := e.Timeline(ctx, TimelineOptions{}); err == nil {
		t.Error("a timeline without seeds must fail")
	}
	if _, err := e.Timeline(ctx, TimelineOptions{Seeds: Seeds{IPs: []string{incAttackerIP}}, Sources: []string{"cloudtrail; DROP"}}); err == nil {
		t.Error("an unknown source must fail")
	}
}

func TestTimelineSummary(t *testing.T) {
	e := openIncident(t)
	tl, err := e.Timeline(t.Context(), TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}})
	if err != nil {
		t.Fatal(err)
	}
	sums := tl.Summary()
	var hop2 *PrincipalSummary
	for i := range sums {
		if sums[i].Principal == incHop2ARN {
			hop2 = &sums[i]
		}
	}
	if hop2 == nil {
		t.Fatalf("no summary for %s: %+v", incHop2ARN, sums)
	}
	// Three GetObject (one also in the access log) and one read only the
	// access log saw: 1234567 + 2345678 + 512 + 3456789 bytes.
	if hop2.Objects != 4 || hop2.BytesRead != 7037546 {
		t.Errorf("hop 2 read %d objects, %d bytes; want 4, 7037546", hop2.Objects, hop2.BytesRead)
	}
	for _, f := range []Format{TableFormat, JSON} {
		var b bytes.Buffer
		if err := RenderSummary(&b, f, sums); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("timeline", "summary."+string(f)), b.Bytes())
	}
}

// TestTimelineHostileSeeds passes SQL and LIKE syntax as seeds: they are
// data, match nothing, and change nothing.
func TestTimelineHostileSeeds(t *testing.T) {
	e := openIncident(t)
	hostile := []string{
		`'`, `"`, `'; DROP TABLE cloudtrail; --`, `%`, `_`, `AKIA%`, `arn:aws:iam::111111111111:user/%`,
		"203.0.113.66\n", "line\nbreak", `\`, `') OR 1=1 --`, "", `*`,
	}
	seeds := Seeds{Principals: hostile, AccessKeys: hostile, IPs: hostile, Buckets: hostile, Objects: hostile}
	for _, noFollow := range []bool{false, true} {
		tl, err := e.Timeline(t.Context(), TimelineOptions{Seeds: seeds, NoFollow: noFollow})
		if err != nil {
			t.Fatalf("hostile seeds (no-follow %v): %v", noFollow, err)
		}
		if len(tl.Rows) != 0 {
			t.Errorf("hostile seeds matched %d rows: %+v", len(tl.Rows), tl.Rows[0])
		}
	}
	rows, err := e.Query(t.Context(), "SELECT count(*) FROM cloudtrail")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(rows)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] == int64(0) {
		t.Fatalf("cloudtrail after hostile seeds: %v %v", res, err)
	}
}

func TestTimelineOutputIsNeutralised(t *testing.T) {
	e := openIncident(t)
	tl, err := e.Timeline(t.Context(), TimelineOptions{Seeds: Seeds{AccessKeys: []string{incStolenKey}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		if err := RenderTimeline(&b, TableFormat, tl, colour); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "\x07") || strings.Contains(out, "\x1b]") {
			t.Errorf("terminal escape from a log reached the table (colour %v)", colour)
		}
		if !strings.Contains(out, `\x1b]0;pwned\x07`) {
			t.Errorf("the hostile key is not shown escaped")
		}
		stripped := out
		for _, c := range []string{colourError, colourRead, "\x1b[0m"} {
			stripped = strings.ReplaceAll(stripped, c, "")
		}
		if strings.Contains(stripped, "\x1b") {
			t.Errorf("unexpected escape in the table (colour %v)", colour)
		}
		if colour != strings.Contains(out, colourError) || colour != strings.Contains(out, colourRead) {
			t.Errorf("colour %v: error/read colours present = %v/%v", colour, strings.Contains(out, colourError), strings.Contains(out, colourRead))
		}
	}

	var b bytes.Buffer
	if err := RenderTimeline(&b, CSV, tl, false); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("CSV cell starts a formula: %q", cell)
			}
			if cell == "'"+incHostileUA {
				found = true
			}
		}
	}
	if !found {
		t.Error("the hostile user agent is not in the CSV, escaped")
	}

	b.Reset()
	if err := RenderTimeline(&b, Timesketch, tl, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(tl.Rows) {
		t.Fatalf("timesketch: %d lines for %d rows", len(lines), len(tl.Rows))
	}
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		dt, _ := ev["datetime"].(string)
		if _, err := time.Parse(time.RFC3339, dt); err != nil || ev["message"] == "" {
			t.Errorf("timesketch event without message or RFC 3339 datetime: %s", l)
		}
		want := "Event Time"
		if ev["source"] == "vpc_flow" {
			want = "Flow Start"
		}
		if ev["timestamp_desc"] != want {
			t.Errorf("timestamp_desc %v for %v", ev["timestamp_desc"], ev["source"])
		}
	}
}
