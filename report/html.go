package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"reflect"
	"strings"
	"time"
)

//go:embed report.css
var css string

//go:embed report.html.tmpl
var htmlTemplate string

// cspHash is the CSP source for the one inline stylesheet.
var cspHash = func() string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// CSP is the Content-Security-Policy the HTML report carries: nothing may
// load or run but its own hashed stylesheet and data: images.
var CSP = "default-src 'none'; style-src " + cspHash + "; img-src data:; base-uri 'none'; form-action 'none'"

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"tm":  func(t time.Time) string { return fmtTime(t) },
	"num": func(n int64) string { return groupDigits(n) },
	"join": func(xs []string) string {
		return clean(strings.Join(xs, ", "))
	},
	"arrow": arrow,
	"sevclass": func(s string) string {
		switch s = strings.ToLower(s); s {
		case "critical", "high", "medium", "low":
			return "sev-" + s
		}
		return "sev-other"
	},
	"evidence": evidenceText,
	"add":      func(a, b int) int { return a + b },
	"sub":      func(a, b int) int { return a - b },
}).Parse(htmlTemplate))

type htmlView struct {
	D            *Document
	Title        string
	CSP          string
	CSS          template.CSS
	Sentences    []string
	KeyNumbers   [][2]string
	Verdict      string
	VerdictClass string
	Activity     lineChart
	Egress       lineChart
	Paths        pathGraph
}

// RenderHTML writes the Document as one self-contained HTML page.
func RenderHTML(w io.Writer, d *Document) error {
	v := htmlView{D: cleanDoc(d), CSP: CSP, CSS: template.CSS(css), Verdict: "not verified", VerdictClass: "none"}
	v.Title = v.D.Title
	if v.Title == "" {
		v.Title = "Data-leak forensic report"
	}
	v.Sentences = v.D.Sentences()
	v.KeyNumbers = keyNumbers(v.D)
	if vr := v.D.Verification; vr != nil {
		v.Verdict, v.VerdictClass = vr.Verdict, "invalid"
		if vr.Verdict == "valid" {
			v.VerdictClass = "valid"
		}
	}
	v.Activity = newLineChart(v.D.Charts.Activity, "events", func(n int64) string { return groupDigits(n) })
	v.Egress = newLineChart(v.D.Charts.Egress, "bytes", HumanBytes)
	v.Paths = newPathGraph(v.D.Charts.Paths)
	bw := bufio.NewWriter(w)
	if err := tmpl.Execute(bw, v); err != nil {
		return fmt.Errorf("render HTML: %w", err)
	}
	return bw.Flush()
}

// evidenceText shows a finding's evidence JSON compactly, cut at 600
// characters.
func evidenceText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	s := clean(string(raw))
	if r := []rune(s); len(r) > 600 {
		return string(r[:600]) + fmt.Sprintf("… (%d bytes; full text in the JSON report)", len(raw))
	}
	return s
}

// cleanDoc returns a deep copy of d with control characters stripped
// from every string the HTML shows; html/template does the escaping.
func cleanDoc(d *Document) *Document {
	c := deepClean(reflect.ValueOf(d).Elem()).Interface().(Document)
	return &c
}

// deepClean copies v, cleaning every string on the way.
func deepClean(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		out.SetString(clean(v.String()))
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			out.Set(v)
			break
		}
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(deepClean(v.Field(i)))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			break
		}
		if v.Type().Elem().Kind() == reflect.Uint8 { // json.RawMessage: cleaned when shown
			out.Set(v)
			break
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := range v.Len() {
			out.Index(i).Set(deepClean(v.Index(i)))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(deepClean(v.Elem()))
			out.Set(p)
		}
	case reflect.Map:
		if v.IsNil() {
			break
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(deepClean(it.Key()), deepClean(it.Value()))
		}
	default:
		out.Set(v)
	}
	return out
}
