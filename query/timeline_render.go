package query

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// ANSI colours of timeline rows on a terminal.
const (
	colourError = "\x1b[31m"
	colourRead  = "\x1b[33m"
)

// dataReads are actions that read object content.
var dataReads = []string{
	"GetObject", "GetObjectVersion", "GetObjectTorrent", "SelectObjectContent",
	"REST.GET.OBJECT", "REST.GET.OBJECT_TORRENT", "REST.POST.SELECT", "REST.COPY.OBJECT_GET",
	"WEBSITE.GET.OBJECT", "BATCH.GET.OBJECT",
}

// IsDataRead reports whether a row read object content.
func (r *TimelineRow) IsDataRead() bool { return slices.Contains(dataReads, r.Action) }

// Result is the timeline as rows of TimelineColumns.
func (tl *Timeline) Result() *Result {
	res := &Result{Columns: TimelineColumns}
	for i := range tl.Rows {
		res.Rows = append(res.Rows, tl.Rows[i].values())
	}
	return res
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (r *TimelineRow) values() []any {
	var bytes any
	if r.Bytes != nil {
		bytes = *r.Bytes
	}
	return []any{
		r.Time, r.Source, nullable(r.Actor), nullable(r.Action), nullable(r.Target), nullable(r.SourceIP),
		nullable(r.Destination), bytes, nullable(r.Region), nullable(r.Account), r.Outcome, nullable(r.Why),
		r.Description, strings.Join(r.Evidence, "+"), nullable(r.EvidenceURI), r.EvidenceOffset,
		nullable(r.Principal), nullable(r.AccessKeyID), nullable(r.UserAgent), nullable(r.RequestID), nullable(r.ErrorCode),
	}
}

// RenderTimeline writes the timeline in format f. The table shows time,
// source, account, outcome, description and why; colour (errors red, data
// reads yellow) is used only when colour is set, i.e. stdout is a
// terminal. Every log value is neutralised for the medium.
func RenderTimeline(w io.Writer, f Format, tl *Timeline, colour bool) error {
	bw := bufio.NewWriter(w)
	var err error
	switch f {
	case Timesketch:
		err = renderJSON(bw, tl.timesketch(), true)
	case CSV, JSON, JSONL:
		err = Render(bw, f, tl.Result())
	default:
		res := &Result{Columns: []string{"time", "source", "account", "outcome", "description", "why"}}
		for _, r := range tl.Rows {
			res.Rows = append(res.Rows, []any{r.Time.Format(time.RFC3339), strings.Join(r.Evidence, "+"), r.Account, r.Outcome, r.Description, r.Why})
		}
		var paint func(int) string
		if colour {
			paint = func(i int) string {
				switch r := &tl.Rows[i]; {
				case r.Outcome == "error":
					return colourError
				case r.IsDataRead():
					return colourRead
				}
				return ""
			}
		}
		err = renderTableWidth(bw, res, paint, 200)
		if err == nil && tl.Truncated {
			_, err = fmt.Fprintf(bw, "(stopped at --limit %d rows)\n", len(tl.Rows))
		}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// timesketch is the timeline with Timesketch's required fields first.
func (tl *Timeline) timesketch() *Result {
	res := &Result{Columns: append([]string{"message", "datetime", "timestamp_desc"}, TimelineColumns...)}
	for i := range tl.Rows {
		r := &tl.Rows[i]
		desc := "Event Time"
		if r.Source == "vpc_flow" {
			desc = "Flow Start"
		}
		res.Rows = append(res.Rows, append([]any{r.Description, r.Time.Format(time.RFC3339), desc}, r.values()...))
	}
	return res
}

// PrincipalSummary is what one principal did in a timeline.
type PrincipalSummary struct {
	Principal  string         `json:"principal"`
	FirstSeen  time.Time      `json:"first_seen"`
	LastSeen   time.Time      `json:"last_seen"`
	Events     int            `json:"events"`
	Regions    []string       `json:"regions"`
	SourceIPs  []string       `json:"source_ips"`
	UserAgents []string       `json:"user_agents"`
	AccessKeys []string       `json:"access_keys"`
	Calls      []CallCount    `json:"api_calls"`
	Objects    int            `json:"objects_read"`
	BytesRead  int64          `json:"bytes_read"`
	objects    map[string]int // object URI → reads
}

// CallCount counts one API call or operation.
type CallCount struct {
	Name   string `json:"name"`
	Count  int    `json:"count"`
	Errors int    `json:"errors"`
}

// Summary groups the timeline's CloudTrail and S3 access rows by
// principal (as logged), in order of first appearance.
func (tl *Timeline) Summary() []PrincipalSummary {
	var out []PrincipalSummary
	pos := map[string]int{}
	for i := range tl.Rows {
		r := &tl.Rows[i]
		if r.Source == "vpc_flow" {
			continue
		}
		name := firstOf(r.Principal, r.Actor, "unknown")
		j, ok := pos[name]
		if !ok {
			j = len(out)
			pos[name] = j
			out = append(out, PrincipalSummary{Principal: name, FirstSeen: r.Time, objects: map[string]int{}})
		}
		s := &out[j]
		s.Events++
		s.LastSeen = r.Time
		addUnique(&s.Regions, r.Region)
		addUnique(&s.SourceIPs, r.SourceIP)
		addUnique(&s.UserAgents, r.UserAgent)
		addUnique(&s.AccessKeys, r.AccessKeyID)
		k := slices.IndexFunc(s.Calls, func(c CallCount) bool { return c.Name == r.Action })
		if k < 0 {
			s.Calls = append(s.Calls, CallCount{Name: r.Action})
			k = len(s.Calls) - 1
		}
		s.Calls[k].Count++
		if r.Outcome == "error" {
			s.Calls[k].Errors++
		}
		if r.IsDataRead() && r.Outcome != "error" {
			s.objects[r.Target]++
			if r.Bytes != nil {
				s.BytesRead += *r.Bytes
			}
		}
	}
	for i := range out {
		out[i].Objects = len(out[i].objects)
		for _, l := range []*[]string{&out[i].Regions, &out[i].SourceIPs, &out[i].UserAgents, &out[i].AccessKeys} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return out
}

func addUnique(l *[]string, v string) {
	if v != "" && !slices.Contains(*l, v) {
		*l = append(*l, v)
	}
}

func (c CallCount) String() string {
	s := fmt.Sprintf("%s ×%d", c.Name, c.Count)
	switch {
	case c.Errors == 1:
		s += " (1 error)"
	case c.Errors > 1:
		s += fmt.Sprintf(" (%d errors)", c.Errors)
	}
	return s
}

// RenderSummary writes per-principal summaries in format f (Timesketch
// is rendered as JSON Lines).
func RenderSummary(w io.Writer, f Format, sums []PrincipalSummary) error {
	res := &Result{Columns: []string{"principal", "first_seen", "last_seen", "events", "regions", "source_ips",
		"user_agents", "access_keys", "api_calls", "objects_read", "bytes_read"}}
	structured := f == JSON || f == JSONL || f == Timesketch
	for _, s := range sums {
		list := func(l []string) any {
			if structured {
				return l
			}
			return strings.Join(l, ", ")
		}
		var calls any
		if structured {
			calls = s.Calls
		} else {
			names := make([]string, len(s.Calls))
			for i, c := range s.Calls {
				names[i] = c.String()
			}
			calls = strings.Join(names, ", ")
		}
		res.Rows = append(res.Rows, []any{s.Principal, s.FirstSeen, s.LastSeen, int64(s.Events), list(s.Regions),
			list(s.SourceIPs), list(s.UserAgents), list(s.AccessKeys), calls, int64(s.Objects), s.BytesRead})
	}
	if f == Timesketch {
		f = JSONL
	}
	if f == TableFormat {
		return renderSummaryText(w, sums)
	}
	return Render(w, f, res)
}

// renderSummaryText writes one block per principal for a terminal.
func renderSummaryText(w io.Writer, sums []PrincipalSummary) error {
	bw := bufio.NewWriter(w)
	for i, s := range sums {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		names := make([]string, len(s.Calls))
		for i, c := range s.Calls {
			names[i] = c.String()
		}
		fmt.Fprintf(bw, "%s\n", Terminal(s.Principal))
		line := func(k, v string) { fmt.Fprintf(bw, "  %-12s %s\n", k, Terminal(v)) }
		line("first seen", s.FirstSeen.Format(time.RFC3339))
		line("last seen", s.LastSeen.Format(time.RFC3339))
		line("events", fmt.Sprint(s.Events))
		line("regions", strings.Join(s.Regions, ", "))
		line("source ips", strings.Join(s.SourceIPs, ", "))
		line("user agents", strings.Join(s.UserAgents, ", "))
		line("access keys", strings.Join(s.AccessKeys, ", "))
		line("api calls", strings.Join(names, ", "))
		line("objects", fmt.Sprintf("%d read, %s", s.Objects, HumanBytes(s.BytesRead)))
	}
	if len(sums) == 0 {
		fmt.Fprintln(bw, "no principal in the timeline")
	}
	return bw.Flush()
}
