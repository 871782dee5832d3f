package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium; CI must have one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must run the real-browser HTML test (apt-get install chromium)")
	}
	t.Skip("chromium not installed; set CI=true to make this a failure")
	return ""
}

// artefacts is where screenshots are kept: $LEAKSCOPE_ARTIFACTS or a
// temporary folder.
func artefacts(t *testing.T) string {
	if d := os.Getenv("LEAKSCOPE_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check", "--mute-audio",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestHTMLInChromium renders the hostile report in a real browser: the
// key numbers are on the page, no injected script ran, and a screenshot
// is kept for review.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := artefacts(t)
	for _, tc := range []struct {
		name string
		doc  *Document
	}{{"sample", sampleDocument()}, {"hostile", hostileDocument()}} {
		t.Run(tc.name, func(t *testing.T) {
			page := filepath.Join(dir, "report-"+tc.name+".html")
			f, err := os.Create(page)
			if err != nil {
				t.Fatal(err)
			}
			if err := RenderHTML(f, tc.doc); err != nil {
				t.Fatal(err)
			}
			f.Close()
			url := "file://" + page
			dom := runChromium(t, bin, "--virtual-time-budget=2000", "--dump-dom", url)
			if strings.Contains(dom, "pwned") && strings.Contains(dom, "<title>pwned") {
				t.Error("injected script changed the title")
			}
			title := dom[strings.Index(dom, "<title>")+7 : strings.Index(dom, "</title>")]
			if !strings.HasPrefix(title, "Incident IR-2026-117") && !strings.HasPrefix(title, "Report ") {
				t.Errorf("title is %q", title)
			}
			for _, want := range []string{"3.3 GiB", "2,254,857,830", "1,446,445,056", "Executive summary", "<svg", "polyline", "Log integrity did NOT verify"} {
				if !strings.Contains(dom, want) {
					t.Errorf("rendered DOM lacks %q", want)
				}
			}
			// No element injected from log fields survives in the DOM.
			if n := strings.Count(dom, "<script"); n != 0 {
				t.Errorf("%d script elements in the DOM", n)
			}
			if strings.Contains(dom, "<img") {
				t.Error("img element injected")
			}
			shot := filepath.Join(dir, "report-"+tc.name+".png")
			runChromium(t, bin, "--hide-scrollbars", "--window-size=1280,2000", "--screenshot="+shot, url)
			st, err := os.Stat(shot)
			if err != nil || st.Size() < 10000 {
				t.Fatalf("screenshot %s: %v", shot, err)
			}
			t.Logf("screenshot: %s", shot)
		})
	}
}
