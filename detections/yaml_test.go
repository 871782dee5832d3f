package detections

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestYAMLBasics(t *testing.T) {
	src := `title: A 'quoted' title # comment
id: 1234
description: |
    line one
    line two
tags:
    - attack.t1530
    - 'attack.exfiltration'
detection:
    selection:
        eventName:
            - 'A'
            - "B\tC"
        userAgent|contains: 'it''s'
        errorCode: null
    filter:
    - eventSource: x.amazonaws.com
      eventName: [Y, 'Z']
    condition: selection and not filter
plainwrap: first part
    second part
`
	v, err := parseYAML(src)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(*ymap)
	if m.str("title") != "A 'quoted' title" || m.str("id") != "1234" {
		t.Errorf("scalars: %q %q", m.str("title"), m.str("id"))
	}
	if m.str("description") != "line one\nline two\n" {
		t.Errorf("block scalar %q", m.str("description"))
	}
	if m.str("plainwrap") != "first part second part" {
		t.Errorf("plain continuation %q", m.str("plainwrap"))
	}
	det := m.vals["detection"].(*ymap)
	sel := det.vals["selection"].(*ymap)
	if !reflect.DeepEqual(sel.vals["eventName"], []any{"A", "B\tC"}) || sel.vals["userAgent|contains"] != "it's" || sel.vals["errorCode"] != nil {
		t.Errorf("selection %#v", sel.vals)
	}
	f := det.vals["filter"].([]any)[0].(*ymap)
	if !reflect.DeepEqual(f.vals["eventName"], []any{"Y", "Z"}) || f.str("eventSource") != "x.amazonaws.com" {
		t.Errorf("filter %#v", f.vals)
	}
	for _, bad := range []string{"a: &x 1", "a: {b: 1}", "a: 1\na: 2", "a: 'open", "a: 1\n---\nb: 2"} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestYAMLCorpus parses every Sigma file of the shared corpus.
func TestYAMLCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sigmaCorpus, "*.yml"))
	if len(files) == 0 {
		t.Skip("no Sigma corpus at " + sigmaCorpus)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseYAML(string(data))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		m, ok := v.(*ymap)
		if !ok || m.str("title") == "" || m.vals["detection"] == nil {
			t.Errorf("%s: no title or detection", filepath.Base(f))
		}
	}
}
