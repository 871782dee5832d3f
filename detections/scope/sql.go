package scope

import (
	"strings"
	"time"
)

// span is a closed time range; a zero end is open.
type span struct{ start, end time.Time }

func (w span) open() bool { return w.start.IsZero() || w.end.IsZero() }

// farPast and farFuture stand in for open bounds in SQL.
var (
	farPast   = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

func tsArg(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") }

// pred returns a predicate limiting tcol (and the date partition) to w.
func (w span) pred(tcol string) (string, []any) {
	s, e := w.start, w.end
	if s.IsZero() {
		s = farPast
	}
	if e.IsZero() {
		e = farFuture
	}
	return "date BETWEEN ?::DATE AND ?::DATE AND " + tcol + " BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP",
		[]any{s.UTC().Format(time.DateOnly), e.UTC().Format(time.DateOnly), tsArg(s), tsArg(e)}
}

// inList returns "col IN (?, …)" with its arguments, or "false".
func inList(col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return "false", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}

// prefixAny returns "(starts_with(col, ?) OR …)" or "false".
func prefixAny(col string, prefixes []string) (string, []any) {
	if len(prefixes) == 0 {
		return "false", nil
	}
	parts := make([]string, len(prefixes))
	args := make([]any, len(prefixes))
	for i, p := range prefixes {
		parts[i] = "starts_with(" + col + ", ?)"
		args[i] = p
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// or joins predicates with OR, dropping "false".
func or(preds ...string) string {
	var keep []string
	for _, p := range preds {
		if p != "false" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return "false"
	}
	return "(" + strings.Join(keep, " OR ") + ")"
}

func cat(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
