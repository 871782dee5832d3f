package integrity

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/sources"
)

const (
	acct   = "111122223333"
	bucket = "trail-bucket"
	region = "us-east-1"
)

var (
	keyOnce        sync.Once
	awsKey, badKey *rsa.PrivateKey
)

func keysForTest(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if awsKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if badKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return awsKey, badKey
}

// fingerprint of the test key as CloudTrail would print it.
const fp = "0123456789abcdef0123456789abcdef"

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// trail is a synthetic trail bucket: three hourly digests, two gzip log
// files each, signed with the test key; signatures in .sig sidecars.
type trail struct {
	root    string // folder holding the bucket copy
	logs    []string
	digests []string // local paths
	sigs    []string // hex
	keys    string   // list-public-keys JSON file
}

func (tr *trail) bucketDir() string { return filepath.Join(tr.root, bucket) }

func logKey(h, n int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2026/11/14/%s_CloudTrail_%s_20261114T%02d%02dZ_abc%dx%d.json.gz", acct, region, acct, region, h, 5+n*10, h, n)
}

func digestKey(h int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/2026/11/14/%s_CloudTrail-Digest_%s_main-trail_%s_20261114T%02d0000Z.json.gz", acct, region, acct, region, region, h+1)
}

func event(h, n int) []byte {
	return fmt.Appendf(nil, `{"Records":[{"eventVersion":"1.09","eventTime":"2026-11-14T%02d:%02d:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.66","eventID":"e-%d-%d","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"recipientAccountId":"111122223333"}]}`, h, 5+n*10, h, n)
}

// signDigest signs content the way CloudTrail does.
func signDigest(t *testing.T, key *rsa.PrivateKey, end, object string, content []byte, prevSig string) string {
	t.Helper()
	msg := fmt.Sprintf("%s\n%s/%s\n%s\n%s", end, bucket, object, hexSHA(content), prevSig)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

func newTrail(t *testing.T) *trail {
	t.Helper()
	key, _ := keysForTest(t)
	tr := &trail{root: t.TempDir()}
	prevSig, prevObj, prevHash := "", "", ""
	for h := 1; h <= 3; h++ {
		var files []map[string]any
		for n := 0; n < 2; n++ {
			plain := event(h, n)
			k := logKey(h, n)
			p := filepath.Join(tr.bucketDir(), filepath.FromSlash(k))
			write(t, p, gz(t, plain))
			tr.logs = append(tr.logs, p)
			files = append(files, map[string]any{"s3Bucket": bucket, "s3Object": k, "hashValue": hexSHA(plain), "hashAlgorithm": "SHA-256",
				"newestEventTime": "2026-11-14T00:00:00Z", "oldestEventTime": "2026-11-14T00:00:00Z"})
		}
		end := fmt.Sprintf("2026-11-14T%02d:00:00Z", h+1)
		d := map[string]any{
			"awsAccountId": acct, "digestStartTime": fmt.Sprintf("2026-11-14T%02d:00:00Z", h), "digestEndTime": end,
			"digestS3Bucket": bucket, "digestS3Object": digestKey(h), "digestPublicKeyFingerprint": fp,
			"digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": nil, "oldestEventTime": nil,
			"previousDigestS3Bucket": nil, "previousDigestS3Object": nil, "previousDigestHashValue": nil,
			"previousDigestHashAlgorithm": nil, "previousDigestSignature": nil, "logFiles": files,
		}
		signedPrev := "null"
		if h > 1 {
			d["previousDigestS3Bucket"], d["previousDigestS3Object"], d["previousDigestHashValue"] = bucket, prevObj, prevHash
			d["previousDigestHashAlgorithm"], d["previousDigestSignature"] = "SHA-256", prevSig
			signedPrev = prevSig
		}
		content, _ := json.Marshal(d)
		sig := signDigest(t, key, end, digestKey(h), content, signedPrev)
		p := filepath.Join(tr.bucketDir(), filepath.FromSlash(digestKey(h)))
		write(t, p, gz(t, content))
		write(t, p+".sig", []byte(sig+"\n"))
		tr.digests = append(tr.digests, p)
		tr.sigs = append(tr.sigs, sig)
		prevSig, prevObj, prevHash = sig, digestKey(h), hexSHA(content)
	}
	tr.keys = filepath.Join(t.TempDir(), "keys.json")
	writeKeys(t, tr.keys, &key.PublicKey, fp)
	return tr
}

func writeKeys(t *testing.T, p string, pub *rsa.PublicKey, fingerprint string) {
	t.Helper()
	kl := map[string]any{"PublicKeyList": []map[string]any{{
		"Value":             base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(pub)),
		"ValidityStartTime": "2026-01-01T00:00:00+00:00", "ValidityEndTime": "2027-01-01T00:00:00+00:00",
		"Fingerprint": fingerprint,
	}}}
	b, _ := json.Marshal(kl)
	write(t, p, b)
}

func loadKeys(t *testing.T, p string) []PublicKey {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := LoadPublicKeys(f)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func statusOf(res *Result, suffix string) string {
	for _, l := range res.LogFiles {
		if strings.HasSuffix(l.S3, suffix) || strings.HasSuffix(l.Path, filepath.FromSlash(suffix)) {
			return l.Status
		}
	}
	for _, d := range res.Digests {
		if strings.HasSuffix(d.S3, suffix) {
			return d.Status
		}
	}
	return "absent"
}

func breakKinds(res *Result) []string {
	var out []string
	for _, b := range res.ChainBreaks {
		out = append(out, b.Kind+"@"+b.Digest[strings.LastIndexByte(b.Digest, '_')+1:])
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	_, other := keysForTest(t)
	cases := []struct {
		name    string
		tamper  func(t *testing.T, tr *trail, opt *Options)
		ok      bool
		want    map[string]string // suffix -> status
		breaks  []string
		summary func(s Summary) bool
	}{
		{name: "clean", ok: true, want: map[string]string{digestKey(1): Valid, digestKey(3): Valid, logKey(2, 1): Valid},
			summary: func(s Summary) bool {
				return s.Digests == 3 && s.DigestsValid == 3 && s.LogFiles == 6 && s.LogsValid == 6
			}},
		{name: "modified log", tamper: func(t *testing.T, tr *trail, _ *Options) {
			write(t, tr.logs[2], gz(t, bytes.Replace(event(2, 0), []byte("203.0.113.66"), []byte("198.51.100.1"), 1)))
		}, want: map[string]string{logKey(2, 0): Modified, logKey(2, 1): Valid, digestKey(2): Valid}},
		{name: "deleted log", tamper: func(t *testing.T, tr *trail, _ *Options) { os.Remove(tr.logs[5]) },
			want: map[string]string{logKey(3, 1): Missing, logKey(3, 0): Valid}},
		{name: "log decompressed in place still valid", ok: true, tamper: func(t *testing.T, tr *trail, _ *Options) {
			write(t, tr.logs[0], event(1, 0))
		}, want: map[string]string{logKey(1, 0): Valid}},
		{name: "unlisted log planted", tamper: func(t *testing.T, tr *trail, _ *Options) {
			write(t, filepath.Join(tr.bucketDir(), filepath.FromSlash(logKey(2, 7))), gz(t, event(2, 7)))
		}, want: map[string]string{logKey(2, 7): Unlisted}},
		{name: "deleted middle digest breaks the chain", tamper: func(t *testing.T, tr *trail, _ *Options) {
			os.Remove(tr.digests[1])
		}, want: map[string]string{digestKey(1): Valid, digestKey(3): Valid, logKey(2, 0): Unlisted},
			breaks: []string{"missing_previous@20261114T040000Z.json.gz"}},
		{name: "rewritten digest", tamper: func(t *testing.T, tr *trail, _ *Options) {
			// Drop a log from digest 2 and re-gzip: the signature and the
			// next digest's previousDigestHashValue both catch it.
			b := readGz(t, tr.digests[1])
			var d map[string]any
			json.Unmarshal(b, &d)
			d["logFiles"] = d["logFiles"].([]any)[:1]
			nb, _ := json.Marshal(d)
			write(t, tr.digests[1], gz(t, nb))
			os.Remove(tr.logs[3])
		}, want: map[string]string{digestKey(2): BadSignature, digestKey(1): Valid, digestKey(3): Valid},
			breaks: []string{"hash_mismatch@20261114T040000Z.json.gz"}},
		{name: "broken chain pointer", tamper: func(t *testing.T, tr *trail, _ *Options) {
			// Attacker re-signs digest 3 with their own key, pointing at a
			// made-up predecessor.
			b := readGz(t, tr.digests[2])
			var d map[string]any
			json.Unmarshal(b, &d)
			d["previousDigestS3Object"] = strings.Replace(digestKey(2), "T030000Z", "T025959Z", 1)
			nb, _ := json.Marshal(d)
			write(t, tr.digests[2], gz(t, nb))
			write(t, tr.digests[2]+".sig", []byte(signDigest(t, other, "2026-11-14T04:00:00Z", digestKey(3), nb, tr.sigs[1])))
		}, want: map[string]string{digestKey(3): BadSignature},
			breaks: []string{"missing_previous@20261114T040000Z.json.gz"}},
		{name: "forged signature", tamper: func(t *testing.T, tr *trail, _ *Options) {
			// Change one hex digit to another hex digit, so the
			// signature still parses but no longer verifies.
			sig := []byte(tr.sigs[0])
			if sig[10] == '0' {
				sig[10] = '1'
			} else {
				sig[10] = '0'
			}
			write(t, tr.digests[0]+".sig", sig)
		}, want: map[string]string{digestKey(1): BadSignature, digestKey(2): Valid},
			breaks: []string{"signature_mismatch@20261114T030000Z.json.gz"}},
		{name: "wrong key", tamper: func(t *testing.T, tr *trail, opt *Options) {
			p := filepath.Join(t.TempDir(), "k.json")
			writeKeys(t, p, &other.PublicKey, fp)
			opt.Keys = loadKeys(t, p)
		}, want: map[string]string{digestKey(1): BadSignature, digestKey(2): BadSignature, digestKey(3): BadSignature, logKey(1, 0): Valid}},
		{name: "no key", tamper: func(t *testing.T, tr *trail, opt *Options) { opt.Keys = nil },
			want: map[string]string{digestKey(1): Unverifiable}},
		{name: "no signature", tamper: func(t *testing.T, tr *trail, _ *Options) { os.Remove(tr.digests[2] + ".sig") },
			want: map[string]string{digestKey(3): Unverifiable, digestKey(2): Valid}},
		{name: "signatures file instead of sidecars", ok: true, tamper: func(t *testing.T, tr *trail, opt *Options) {
			opt.Signatures = map[string]string{}
			for i, d := range tr.digests {
				os.Remove(d + ".sig")
				opt.Signatures["s3://"+bucket+"/"+digestKey(i+1)] = tr.sigs[i]
			}
		}, want: map[string]string{digestKey(1): Valid, digestKey(2): Valid, digestKey(3): Valid}},
		{name: "restart in the middle", tamper: func(t *testing.T, tr *trail, _ *Options) {
			key, _ := keysForTest(t)
			b := readGz(t, tr.digests[2])
			var d map[string]any
			json.Unmarshal(b, &d)
			for _, k := range []string{"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestHashAlgorithm", "previousDigestSignature"} {
				d[k] = nil
			}
			nb, _ := json.Marshal(d)
			write(t, tr.digests[2], gz(t, nb))
			write(t, tr.digests[2]+".sig", []byte(signDigest(t, key, "2026-11-14T04:00:00Z", digestKey(3), nb, "null")))
		}, want: map[string]string{digestKey(3): Valid}, breaks: []string{"restart@20261114T040000Z.json.gz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrail(t)
			opt := Options{Keys: loadKeys(t, tr.keys)}
			if tc.tamper != nil {
				tc.tamper(t, tr, &opt)
			}
			res, err := Verify(t.Context(), []string{tr.root}, opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() != tc.ok {
				t.Errorf("OK = %v, want %v; problems:\n%s", res.OK(), tc.ok, strings.Join(res.Problems(), "\n"))
			}
			for suffix, want := range tc.want {
				if got := statusOf(res, suffix); got != want {
					t.Errorf("%s: status %s, want %s", suffix, got, want)
				}
			}
			if got := strings.Join(breakKinds(res), ","); got != strings.Join(tc.breaks, ",") {
				t.Errorf("chain breaks %q, want %q", got, tc.breaks)
			}
			if tc.summary != nil && !tc.summary(res.Summary) {
				t.Errorf("summary %+v", res.Summary)
			}
			if !tc.ok && len(res.Problems()) == 0 {
				t.Error("invalid result without problems")
			}
		})
	}
}

func readGz(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The documented and real-world digest samples are recognised, parsed and
// reported as unverifiable (no signature, no key), with their logs
// missing and chain starts noted, never crashing or passing as valid.
func TestCorpusDigests(t *testing.T) {
	src := "../../../shared/corpus/cloudtrail/digest"
	if _, err := os.Stat(src); err != nil {
		src = "/work/shared/corpus/cloudtrail/digest"
	}
	des, err := os.ReadDir(src)
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	dir := t.TempDir()
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, de.Name()), b)
	}
	res, err := Verify(t.Context(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Digests != len(des) {
		t.Fatalf("recognised %d digests of %d: %+v", res.Summary.Digests, len(des), res.Digests)
	}
	if res.OK() {
		t.Error("unsigned samples verified as valid")
	}
	for _, d := range res.Digests {
		if d.Status != Unverifiable || !strings.HasPrefix(d.S3, "s3://") || d.Fingerprint == "" || d.End.IsZero() {
			t.Errorf("digest %+v", d)
		}
	}
	if res.Summary.LogsMissing != 4 || res.Summary.ChainBreaks != 0 || len(res.Notes) != 3 {
		t.Errorf("summary %+v notes %q", res.Summary, res.Notes)
	}
}

func TestLoadPublicKeys(t *testing.T) {
	key, _ := keysForTest(t)
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	in := fmt.Sprintf(`{"PublicKeyList":[{"Value":%q,"ValidityStartTime":1700000000,"ValidityEndTime":"2027-01-01T00:00:00Z","Fingerprint":"ABCDEF"},{"Value":%q}]}`,
		base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&key.PublicKey)), base64.StdEncoding.EncodeToString(pkix))
	ks, err := LoadPublicKeys(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Fingerprint != "abcdef" || len(ks[1].Fingerprint) != 32 || ks[0].ValidFrom.Year() != 2023 || !ks[0].covers(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("keys %+v", ks)
	}
	for _, bad := range []string{`{}`, `{"PublicKeyList":[{"Value":"!!"}]}`, `{"PublicKeyList":[{"Value":"AAAA"}]}`, `[`} {
		if _, err := LoadPublicKeys(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadPublicKeys(%s) accepted", bad)
		}
	}
	sigs, err := LoadSignatures(strings.NewReader(`{"a":"ABCD","b":{"Metadata":{"signature":"00ff","signature-algorithm":"SHA256withRSA"}}}`))
	if err != nil || sigs["a"] != "abcd" || sigs["b"] != "00ff" {
		t.Errorf("signatures %v %v", sigs, err)
	}
	if _, err := LoadSignatures(strings.NewReader(`{"a":"xyz"}`)); err == nil {
		t.Error("non-hex signature accepted")
	}
}

// Objects whose bytes changed after ingest are reported against the lake
// manifest written by a real ingest run.
func TestManifestCrossCheck(t *testing.T) {
	tr := newTrail(t)
	lake := filepath.Join(t.TempDir(), "lake")
	_, err := ingest.Run(t.Context(), ingest.Config{Lake: lake, Sources: sources.All(), ToolVersion: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, []string{tr.root})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Keys: loadKeys(t, tr.keys), Lake: lake}
	res, err := Verify(context.Background(), []string{tr.root}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Summary.ObjectsUnchanged == 0 || res.Summary.ObjectsChanged != 0 {
		t.Fatalf("clean lake: %+v\n%s", res.Summary, strings.Join(res.Problems(), "\n"))
	}
	// Re-compress a log with another level: same content, so the digest
	// still validates, but the acquired bytes changed.
	plain := readGz(t, tr.logs[0])
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Header.Comment = "recompressed"
	zw.Write(plain)
	zw.Close()
	write(t, tr.logs[0], buf.Bytes())
	os.Remove(tr.logs[1])
	res, err = Verify(context.Background(), []string{tr.root}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || res.Summary.ObjectsChanged != 1 || res.Summary.ObjectsGone != 1 || statusOf(res, logKey(1, 0)) != Valid || statusOf(res, logKey(1, 1)) != Missing {
		t.Errorf("after tampering: %+v\n%s", res.Summary, strings.Join(res.Problems(), "\n"))
	}
}
