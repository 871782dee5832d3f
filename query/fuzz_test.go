package query

import (
	"testing"
	"unicode/utf8"
)

// FuzzNeutralise: whatever a log field holds, the terminal form carries no
// control character, escape or bidirectional override and is valid UTF-8,
// and the spreadsheet form never starts a formula.
func FuzzNeutralise(f *testing.F) {
	for _, s := range []string{"plain", "\x1b]0;pwned\x07", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "a\u202eb", "\xff\xfe", "\t=cmd", "%0A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Terminal(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Terminal(%q) = %q is not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("Terminal(%q) = %q keeps %U", s, out, r)
			}
		}
		if c := SpreadsheetSafe(s); c != "" {
			switch c[0] {
			case '=', '+', '-', '@', '\t', '\r', '|', '%':
				t.Fatalf("SpreadsheetSafe(%q) = %q starts a formula", s, c)
			}
		}
	})
}
