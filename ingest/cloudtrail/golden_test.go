package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type goldenBad struct {
	Line   int64  `json:"line"`
	Offset int64  `json:"offset"`
	Reason string `json:"reason"`
}

type goldenRow struct {
	EventTime         string `json:"event_time"`
	EventName         string `json:"event_name"`
	IdentityType      string `json:"identity_type,omitempty"`
	ActorARN          string `json:"actor_arn,omitempty"`
	SessionName       string `json:"session_name,omitempty"`
	AccessKeyID       string `json:"access_key_id,omitempty"`
	Account           string `json:"account"`
	Region            string `json:"region"`
	Bucket            string `json:"bucket,omitempty"`
	ObjectKey         string `json:"object_key,omitempty"`
	BytesIn           *int64 `json:"bytes_in,omitempty"`
	BytesOut          *int64 `json:"bytes_out,omitempty"`
	IssuedAccessKeyID string `json:"issued_access_key_id,omitempty"`
	SourceOffset      int64  `json:"source_offset"`
}

type golden struct {
	Records     int         `json:"records"`
	Rows        int         `json:"rows"`
	Quarantined int         `json:"quarantined"`
	Bad         []goldenBad `json:"bad,omitempty"`
	Projection  []goldenRow `json:"projection,omitempty"`
}

func project(r *result) golden {
	g := golden{Records: r.records(), Rows: len(r.rows), Quarantined: len(r.bad)}
	for _, b := range r.bad {
		g.Bad = append(g.Bad, goldenBad{Line: b.Line, Offset: b.Offset, Reason: b.Reason})
	}
	for _, row := range r.rows {
		g.Projection = append(g.Projection, goldenRow{
			EventTime:         time.UnixMicro(row.EventTime).UTC().Format(time.RFC3339Nano),
			EventName:         row.EventName,
			IdentityType:      row.IdentityType,
			ActorARN:          row.ActorARN,
			SessionName:       row.SessionName,
			AccessKeyID:       row.AccessKeyID,
			Account:           row.PartAcc,
			Region:            row.PartReg,
			Bucket:            row.Bucket,
			ObjectKey:         row.ObjectKey,
			BytesIn:           row.BytesIn,
			BytesOut:          row.BytesOut,
			IssuedAccessKeyID: row.IssuedAccessKeyID,
			SourceOffset:      row.SourceOffset,
		})
	}
	return g
}

func checkGolden(t *testing.T, name string, got golden) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden.json")
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from golden %s:\n%s", name, path, firstDiff(string(want), string(b)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want " + w + "\n  got  " + g
		}
	}
	return ""
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// samples lists the corpus files that must parse.
func samples(t testing.TB) []string {
	dir := needCorpus(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasSuffix(n, ".tsv") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

func TestCorpusGolden(t *testing.T) {
	files := samples(t)
	if len(files) < 40 {
		t.Fatalf("found only %d corpus files", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := readSample(t, path)
			res := decodeBytes(data)
			if res.err != nil {
				t.Fatalf("Decode: %v", res.err)
			}
			if res.records() == 0 {
				t.Fatalf("no records decoded")
			}
			// Byte-at-a-time reads give the same result.
			slow := decodeWith(t.Context(), objInfo(), &oneByteReader{b: data})
			if slow.err != nil || len(slow.rows) != len(res.rows) || len(slow.bad) != len(res.bad) {
				t.Fatalf("one-byte reader: err %v, %d rows, %d bad; want %d rows, %d bad", slow.err, len(slow.rows), len(slow.bad), len(res.rows), len(res.bad))
			}
			for i := range res.rows {
				if slow.rows[i].Hash != res.rows[i].Hash || slow.rows[i].SourceOffset != res.rows[i].SourceOffset {
					t.Fatalf("one-byte reader: row %d differs", i)
				}
			}
			checkRowsAreValidJSON(t, res.rows)
			checkGolden(t, name, project(res))
		})
	}
}

func TestMalformedCorpus(t *testing.T) {
	dir := filepath.Join(needCorpus(t), "malformed")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			res := decodeBytes(readSample(t, filepath.Join(dir, e.Name())))
			if res.err != nil {
				t.Fatalf("Decode: %v", res.err)
			}
			if len(res.bad) == 0 {
				t.Fatalf("nothing quarantined (%d rows)", len(res.rows))
			}
			for _, b := range res.bad {
				if b.Reason == "" || b.Line < 1 || len(b.Snippet) == 0 {
					t.Errorf("bad record lacks reason, line or snippet: %+v", b)
				}
			}
			checkGolden(t, filepath.Join("malformed", e.Name()), project(res))
		})
	}
}

func TestDigestFiles(t *testing.T) {
	dir := filepath.Join(needCorpus(t), "digest")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatal("no digest samples")
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			res := decodeBytes(readSample(t, filepath.Join(dir, e.Name())))
			if !isNotEvents(res.err) {
				t.Fatalf("Decode = %v, want ErrNotEvents", res.err)
			}
			if res.records() != 0 {
				t.Fatalf("digest emitted %d records", res.records())
			}
		})
	}
}

func checkRowsAreValidJSON(t *testing.T, rows []Row) {
	t.Helper()
	for i, r := range rows {
		for name, s := range map[string]string{
			"user_identity": r.UserIdentity, "request_parameters": r.RequestParameters,
			"response_elements": r.ResponseElements, "additional_event_data": r.AdditionalEventData,
			"resources": r.Resources, "service_event_details": r.ServiceEventDetails,
			"tls_details": r.TLSDetails, "insight_details": r.InsightDetails, "extra_fields": r.ExtraFields,
		} {
			if s == "" {
				continue
			}
			if !json.Valid([]byte(s)) {
				t.Fatalf("row %d: %s is not valid JSON: %.200s", i, name, s)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(s)); err != nil || buf.String() != s {
				t.Fatalf("row %d: %s is not compact: %.200s", i, name, s)
			}
		}
	}
}
