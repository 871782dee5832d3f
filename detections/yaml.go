package detections

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is a small YAML reader, enough for Sigma rules: block
// mappings and sequences by indentation, plain / single-quoted /
// double-quoted scalars, literal and folded block scalars, flow
// sequences of scalars, comments. Anchors, aliases, tags, flow mappings
// and multi-document streams are refused with an error.

// ymap is a YAML mapping that keeps key order.
type ymap struct {
	keys []string
	vals map[string]any
}

func (m *ymap) get(k string) (any, bool) {
	v, ok := m.vals[k]
	return v, ok
}

func (m *ymap) str(k string) string {
	v, _ := m.vals[k].(string)
	return v
}

type yline struct {
	n      int // 1-based line number
	indent int
	text   string // without indentation and comments
}

type yparser struct {
	lines []yline
	pos   int
}

// YAMLError is a YAML syntax problem at a line.
type YAMLError struct {
	Line int
	Msg  string
}

func (e *YAMLError) Error() string { return fmt.Sprintf("yaml line %d: %s", e.Line, e.Msg) }

// parseYAML reads one YAML document into ymap / []any / string / nil.
func parseYAML(src string) (any, error) {
	src = strings.TrimPrefix(src, "\ufeff")
	var p yparser
	raw := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i, l := range raw {
		if strings.Contains(l, "\t") && strings.TrimLeft(l, " ")[:1] == "\t" {
			return nil, &YAMLError{i + 1, "tab indentation"}
		}
		t := strings.TrimLeft(l, " ")
		ind := len(l) - len(t)
		if t == "---" && len(p.lines) == 0 {
			continue
		}
		if t == "---" || t == "..." {
			if t == "---" && p.hasContentAfter(raw[i+1:]) {
				return nil, &YAMLError{i + 1, "multiple documents are not supported"}
			}
			break
		}
		p.lines = append(p.lines, yline{n: i + 1, indent: ind, text: strings.TrimRight(l[ind:], " ")})
	}
	p.skipBlank()
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	v, err := p.block(p.lines[p.pos].indent)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.pos < len(p.lines) {
		return nil, &YAMLError{p.lines[p.pos].n, "unexpected indentation"}
	}
	return v, nil
}

func (p *yparser) hasContentAfter(rest []string) bool {
	for _, l := range rest {
		if t := strings.TrimSpace(stripComment(l)); t != "" {
			return true
		}
	}
	return false
}

// stripComment drops a trailing comment outside quotes.
func stripComment(s string) string {
	inS, inD := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' && !inD:
			inS = !inS
		case c == '"' && !inS:
			inD = !inD
		case c == '\\' && inD:
			i++
		case c == '#' && !inS && !inD && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " ")
		}
	}
	return s
}

func (p *yparser) skipBlank() {
	for p.pos < len(p.lines) && strings.TrimSpace(stripComment(p.lines[p.pos].text)) == "" {
		p.pos++
	}
}

func (p *yparser) cur() (yline, bool) {
	p.skipBlank()
	if p.pos >= len(p.lines) {
		return yline{}, false
	}
	l := p.lines[p.pos]
	l.text = stripComment(l.text)
	return l, true
}

// block parses the mapping or sequence starting at the current line,
// whose items sit at indent.
func (p *yparser) block(indent int) (any, error) {
	l, ok := p.cur()
	if !ok {
		return nil, nil
	}
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

func (p *yparser) seq(indent int) (any, error) {
	var out []any
	for {
		l, ok := p.cur()
		if !ok || l.indent < indent {
			return out, nil
		}
		if l.indent > indent {
			return nil, &YAMLError{l.n, "unexpected indentation in a sequence"}
		}
		if !(l.text == "-" || strings.HasPrefix(l.text, "- ")) {
			return out, nil
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.pos++
			nl, ok := p.cur()
			if !ok || nl.indent <= indent {
				out = append(out, nil)
				continue
			}
			v, err := p.block(nl.indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		itemIndent := indent + (len(l.text) - len(rest))
		if _, _, isKV := splitKey(rest); isKV {
			// A mapping inside the item: rewrite the line as its first key.
			p.lines[p.pos].indent = itemIndent
			p.lines[p.pos].text = rest
			v, err := p.mapping(itemIndent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		p.pos++
		v, err := p.scalarValue(rest, l, indent)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// splitKey splits "key: value" (value may be empty); quoted keys allowed.
func splitKey(s string) (key, val string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", false
		}
		k := s[1 : end+1]
		r := s[end+2:]
		if r == ":" || strings.HasPrefix(r, ": ") {
			return k, strings.TrimSpace(r[1:]), true
		}
		return "", "", false
	}
	if s[0] == '[' || s[0] == '{' || s[0] == '|' || s[0] == '>' {
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i == len(s)-1 || s[i+1] == ' ') {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
		}
	}
	return "", "", false
}

func (p *yparser) mapping(indent int) (any, error) {
	m := &ymap{vals: map[string]any{}}
	for {
		l, ok := p.cur()
		if !ok || l.indent < indent {
			return m, nil
		}
		if l.indent > indent {
			return nil, &YAMLError{l.n, "unexpected indentation in a mapping"}
		}
		if l.text == "-" || strings.HasPrefix(l.text, "- ") {
			return m, nil
		}
		k, v, ok := splitKey(l.text)
		if !ok {
			return nil, &YAMLError{l.n, fmt.Sprintf("expected \"key: value\", found %q", l.text)}
		}
		if strings.HasPrefix(k, "&") || strings.HasPrefix(k, "*") || strings.HasPrefix(k, "!") || k == "<<" {
			return nil, &YAMLError{l.n, "anchors, aliases, tags and merge keys are not supported"}
		}
		if _, dup := m.vals[k]; dup {
			return nil, &YAMLError{l.n, fmt.Sprintf("duplicate key %q", k)}
		}
		p.pos++
		var val any
		if v == "" {
			nl, ok := p.cur()
			switch {
			case ok && nl.indent > indent:
				b, err := p.block(nl.indent)
				if err != nil {
					return nil, err
				}
				val = b
			case ok && nl.indent == indent && (nl.text == "-" || strings.HasPrefix(nl.text, "- ")):
				b, err := p.seq(indent)
				if err != nil {
					return nil, err
				}
				val = b
			}
		} else {
			sv, err := p.scalarValue(v, l, indent)
			if err != nil {
				return nil, err
			}
			val = sv
		}
		m.keys = append(m.keys, k)
		m.vals[k] = val
	}
}

// scalarValue reads the scalar starting with s on line l (owner at
// indent), consuming continuation lines.
func (p *yparser) scalarValue(s string, l yline, indent int) (any, error) {
	switch {
	case s[0] == '&' || s[0] == '*' || s[0] == '!':
		return nil, &YAMLError{l.n, "anchors, aliases and tags are not supported"}
	case s[0] == '{':
		return nil, &YAMLError{l.n, "flow mappings are not supported"}
	case s[0] == '|' || s[0] == '>':
		return p.blockScalar(s, l, indent)
	case s[0] == '[':
		return flowSeq(s, l.n)
	case s[0] == '\'' || s[0] == '"':
		full := s
		for !closedQuote(full) {
			if p.pos >= len(p.lines) {
				return nil, &YAMLError{l.n, "unterminated quoted string"}
			}
			full += "\n" + strings.TrimSpace(p.lines[p.pos].text)
			p.pos++
		}
		v, rest, err := unquote(full, l.n)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(rest) != "" {
			return nil, &YAMLError{l.n, fmt.Sprintf("text after a quoted string: %q", rest)}
		}
		return v, nil
	}
	// Plain scalar, possibly continued on more-indented lines.
	parts := []string{s}
	for {
		nl, ok := p.cur()
		if !ok || nl.indent <= indent {
			break
		}
		parts = append(parts, strings.TrimSpace(nl.text))
		p.pos++
	}
	return plain(strings.Join(parts, " ")), nil
}

func closedQuote(s string) bool {
	q := s[0]
	for i := 1; i < len(s); i++ {
		if q == '"' && s[i] == '\\' {
			i++
			continue
		}
		if s[i] == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return true
		}
	}
	return false
}

// unquote decodes a quoted scalar at the start of s and returns the rest.
func unquote(s string, line int) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == q:
			return foldNewlines(b.String()), s[i+1:], nil
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '/':
				b.WriteByte(s[i])
			case 'u':
				if i+4 < len(s) {
					if r, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
						b.WriteRune(rune(r))
						i += 4
						continue
					}
				}
				return "", "", &YAMLError{line, "bad \\u escape"}
			default:
				return "", "", &YAMLError{line, fmt.Sprintf("unsupported escape \\%c", s[i])}
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", &YAMLError{line, "unterminated quoted string"}
}

func foldNewlines(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func plain(s string) any {
	switch s {
	case "null", "~", "Null", "NULL":
		return nil
	}
	return s
}

func flowSeq(s string, line int) (any, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, &YAMLError{line, "flow sequence must end on its line"}
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	var out []any
	for inner != "" {
		var item string
		if inner[0] == '\'' || inner[0] == '"' {
			v, rest, err := unquote(inner, line)
			if err != nil {
				return nil, err
			}
			item, inner = v, strings.TrimSpace(rest)
			out = append(out, item)
		} else {
			i := strings.IndexByte(inner, ',')
			if i < 0 {
				i = len(inner)
			}
			t := strings.TrimSpace(inner[:i])
			if strings.ContainsAny(t, "[]{}") {
				return nil, &YAMLError{line, "nested flow collections are not supported"}
			}
			out = append(out, plain(t))
			inner = strings.TrimSpace(inner[i:])
		}
		if strings.HasPrefix(inner, ",") {
			inner = strings.TrimSpace(inner[1:])
		} else if inner != "" {
			return nil, &YAMLError{line, "expected , in flow sequence"}
		}
	}
	return out, nil
}

func (p *yparser) blockScalar(h string, l yline, indent int) (any, error) {
	folded := h[0] == '>'
	chomp := strings.TrimLeft(h[1:], "0123456789")
	var body []string
	bi := -1
	for p.pos < len(p.lines) {
		nl := p.lines[p.pos]
		if strings.TrimSpace(nl.text) == "" {
			body = append(body, "")
			p.pos++
			continue
		}
		if nl.indent <= indent {
			break
		}
		if bi < 0 {
			bi = nl.indent
		}
		if nl.indent < bi {
			break
		}
		body = append(body, strings.Repeat(" ", nl.indent-bi)+nl.text)
		p.pos++
	}
	for len(body) > 0 && body[len(body)-1] == "" {
		body = body[:len(body)-1]
	}
	var s string
	if folded {
		s = strings.Join(body, " ")
	} else {
		s = strings.Join(body, "\n")
	}
	if chomp != "-" && s != "" {
		s += "\n"
	}
	_ = l
	return s, nil
}
