package main

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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verifyTrail writes one signed digest listing one gzip log file, a .sig
// sidecar and the public-keys JSON; it returns the trail folder, the log
// path and the keys file.
func verifyTrail(t *testing.T) (dir, logPath, keysPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	const acct, bucket = "111122223333", "trail-bucket"
	logKey := "AWSLogs/" + acct + "/CloudTrail/eu-west-1/2026/11/14/" + acct + "_CloudTrail_eu-west-1_20261114T0205Z_q1w2e3.json.gz"
	digestKey := "AWSLogs/" + acct + "/CloudTrail-Digest/eu-west-1/2026/11/14/" + acct + "_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261114T030000Z.json.gz"
	plain := []byte(`{"Records":[]}`)
	sum := sha256.Sum256(plain)
	logPath = filepath.Join(dir, filepath.FromSlash(logKey))
	verifyWrite(t, logPath, verifyGzip(plain))
	digest, _ := json.Marshal(map[string]any{
		"awsAccountId": acct, "digestStartTime": "2026-11-14T02:00:00Z", "digestEndTime": "2026-11-14T03:00:00Z",
		"digestS3Bucket": bucket, "digestS3Object": digestKey, "digestPublicKeyFingerprint": "feedface",
		"digestSignatureAlgorithm": "SHA256withRSA", "previousDigestSignature": nil,
		"logFiles": []map[string]string{{"s3Bucket": bucket, "s3Object": logKey, "hashValue": hex.EncodeToString(sum[:]), "hashAlgorithm": "SHA-256"}},
	})
	dsum := sha256.Sum256(digest)
	msg := sha256.Sum256(fmt.Appendf(nil, "2026-11-14T03:00:00Z\n%s/%s\n%s\nnull", bucket, digestKey, hex.EncodeToString(dsum[:])))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, msg[:])
	if err != nil {
		t.Fatal(err)
	}
	dp := filepath.Join(dir, filepath.FromSlash(digestKey))
	verifyWrite(t, dp, verifyGzip(digest))
	verifyWrite(t, dp+".sig", []byte(hex.EncodeToString(sig)))
	keysPath = filepath.Join(t.TempDir(), "keys.json")
	verifyWrite(t, keysPath, fmt.Appendf(nil, `{"PublicKeyList":[{"Value":%q,"Fingerprint":"feedface"}]}`,
		base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&key.PublicKey))))
	return dir, logPath, keysPath
}

func verifyGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func verifyWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func verifyRunCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyCommand(t *testing.T) {
	dir, logPath, keys := verifyTrail(t)
	lake := filepath.Join(t.TempDir(), "nolake")

	code, out, errs := verifyRunCLI("verify", "--lake", lake, "--public-keys", keys, "--format", "json", dir)
	if code != 0 {
		t.Fatalf("valid trail: exit %d\n%s%s", code, out, errs)
	}
	var res struct {
		Verdict string
		Summary map[string]int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict != "valid" || res.Summary["digests_valid"] != 1 || res.Summary["logs_valid"] != 1 {
		t.Fatalf("json output %v: %s", err, out)
	}

	code, out, _ = verifyRunCLI("verify", "--lake", lake, "--format", "table", dir)
	if code != 1 || !strings.Contains(out, "UNVERIFIABLE") && !strings.Contains(out, "unverifiable") {
		t.Errorf("without keys: exit %d\n%s", code, out)
	}

	verifyWrite(t, logPath, verifyGzip([]byte(`{"Records":[{"eventName":"\u001b]0;pwned\u0007"}]}`)))
	code, out, errs = verifyRunCLI("verify", "--lake", lake, "--public-keys", keys, "--format", "table", dir)
	if code != 1 || !strings.Contains(out, "is modified") || !strings.Contains(out, "INVALID") || !strings.Contains(errs, "did not verify") {
		t.Errorf("tampered: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Error("escape sequence reached the terminal")
	}
}

func TestVerifyCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "no SOURCE given"},
		{[]string{"verify", "--public-keys", "/nonexistent/keys.json", "."}, "--public-keys"},
		{[]string{"verify", "--format", "xml", "."}, "must be one of"},
	} {
		code, _, errs := verifyRunCLI(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
	bad := filepath.Join(t.TempDir(), "k.json")
	verifyWrite(t, bad, []byte(`{"nope":1}`))
	if code, _, errs := verifyRunCLI("verify", "--public-keys", bad, "."); code != 2 || !strings.Contains(errs, "PublicKeyList") {
		t.Errorf("bad keys file: exit %d %s", code, errs)
	}
}
