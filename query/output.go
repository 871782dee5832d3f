package query

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// Format is an output format.
type Format string

// Output formats.
const (
	TableFormat Format = "table"
	CSV         Format = "csv"
	JSON        Format = "json"
	JSONL       Format = "jsonl"
)

// Formats lists the formats Render supports.
var Formats = []Format{TableFormat, CSV, JSON, JSONL, Parquet}

// ParseFormat validates a --format value.
func ParseFormat(s string, allowed []Format) (Format, error) {
	for _, f := range allowed {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q: use one of %s", s, strings.Join(names, ", "))
}

// Result is a fully typed row set: column names and rows of Go values.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Scan reads every row of rows.
func Scan(rows *sql.Rows) (*Result, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// Render writes rows in format f. Cells from logs are neutralised for the
// medium: control characters and escape sequences never reach a terminal,
// formula-leading cells never reach a spreadsheet as formulas.
func Render(w io.Writer, f Format, res *Result) error {
	bw := bufio.NewWriter(w)
	var err error
	switch f {
	case CSV:
		err = renderCSV(bw, res)
	case JSON:
		err = renderJSON(bw, res, false)
	case JSONL:
		err = renderJSON(bw, res, true)
	case Parquet:
		err = renderParquet(bw, res)
	default:
		err = renderTable(bw, res, nil)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Text renders a value as plain text (not yet neutralised).
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *big.Int:
		return x.String()
	case fmt.Stringer:
		return x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// Terminal neutralises a string for a terminal: control characters,
// escape sequences and bidirectional overrides are shown escaped.
func Terminal(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return true
	}
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return r == utf8.RuneError || unicode.Is(unicode.Cf, r) && r != 0x200d
}

// SpreadsheetSafe prefixes a cell that a spreadsheet would run as a
// formula with an apostrophe (OWASP CSV injection guidance).
func SpreadsheetSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '|', '%':
		return "'" + s
	}
	return s
}

func renderCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			s := Text(v)
			switch v.(type) {
			case int64, int32, int, uint64, float64, bool, time.Time, *big.Int:
				// typed values are never formulas
			default:
				s = SpreadsheetSafe(s)
			}
			rec[i] = s
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonValue makes a value JSON-encodable with stable text for times.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(x.String())
	}
	return v
}

func renderJSON(w io.Writer, res *Result, lines bool) error {
	if !lines {
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
	}
	for n, row := range res.Rows {
		var b strings.Builder
		b.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(res.Columns[i])
			b.Write(k)
			b.WriteByte(':')
			val, err := json.Marshal(jsonValue(v))
			if err != nil {
				val, _ = json.Marshal(Text(v))
			}
			b.Write(val)
		}
		b.WriteByte('}')
		sep := "\n"
		if !lines {
			sep = ""
			if n > 0 {
				io.WriteString(w, ",\n")
			} else {
				io.WriteString(w, "\n")
			}
		}
		if _, err := io.WriteString(w, b.String()+sep); err != nil {
			return err
		}
	}
	if !lines {
		_, err := io.WriteString(w, "\n]\n")
		return err
	}
	return nil
}

// maxCell bounds a table cell's width.
const maxCell = 72

// renderTable writes an aligned table. colour, when set, may return an
// ANSI colour for a row (the cells themselves are always neutralised).
func renderTable(w io.Writer, res *Result, colour func(row []any) string) error {
	var paint func(int) string
	if colour != nil {
		paint = func(i int) string { return colour(res.Rows[i]) }
	}
	return renderTableWidth(w, res, paint, maxCell)
}

// renderTableWidth is renderTable with cells cut at limit runes and the
// colour chosen by row index.
func renderTableWidth(w io.Writer, res *Result, colour func(row int) string, limit int) error {
	cells := make([][]string, len(res.Rows))
	width := make([]int, len(res.Columns))
	for i, c := range res.Columns {
		width[i] = utf8.RuneCountInString(c)
	}
	for r, row := range res.Rows {
		cells[r] = make([]string, len(row))
		for i, v := range row {
			s := Terminal(Text(v))
			if utf8.RuneCountInString(s) > limit {
				rs := []rune(s)
				s = string(rs[:limit-1]) + "…"
			}
			cells[r][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string) string {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(v)
			if i < len(vals)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)))
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	head := make([]string, len(res.Columns))
	rule := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = Terminal(c)
		rule[i] = strings.Repeat("─", width[i])
	}
	fmt.Fprintln(w, line(head))
	fmt.Fprintln(w, line(rule))
	for r, row := range cells {
		s := line(row)
		if colour != nil {
			if c := colour(r); c != "" {
				s = c + s + "\x1b[0m"
			}
		}
		if _, err := fmt.Fprintln(w, s); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "(%d rows)\n", len(res.Rows))
	return err
}
