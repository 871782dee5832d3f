package integrity

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// PublicKey is one CloudTrail signing key.
type PublicKey struct {
	Fingerprint string // lower-case hex, as digestPublicKeyFingerprint
	Key         *rsa.PublicKey
	ValidFrom   time.Time // zero when not given
	ValidTo     time.Time // zero when not given
}

// covers reports whether t lies in the key's validity period (an absent
// bound does not restrict).
func (k PublicKey) covers(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	if !k.ValidFrom.IsZero() && t.Before(k.ValidFrom) {
		return false
	}
	if !k.ValidTo.IsZero() && t.After(k.ValidTo) {
		return false
	}
	return true
}

// awsTime accepts the timestamps the AWS CLI prints: RFC 3339 (with or
// without a zone offset) or epoch seconds.
type awsTime time.Time

func (a *awsTime) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		*a = awsTime(time.Unix(sec, int64((f-float64(sec))*1e9)).UTC())
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(layout, str); err == nil {
			*a = awsTime(t.UTC())
			return nil
		}
	}
	return fmt.Errorf("unrecognised time %q", str)
}

type keyList struct {
	PublicKeyList []struct {
		Value             string  `json:"Value"`
		ValidityStartTime awsTime `json:"ValidityStartTime"`
		ValidityEndTime   awsTime `json:"ValidityEndTime"`
		Fingerprint       string  `json:"Fingerprint"`
	} `json:"PublicKeyList"`
}

// LoadPublicKeys reads the JSON "aws cloudtrail list-public-keys" prints:
// {"PublicKeyList":[{"Value": base64 DER, "ValidityStartTime": ...,
// "ValidityEndTime": ..., "Fingerprint": hex}]}. Value is a PKCS #1
// RSAPublicKey (what CloudTrail publishes) or a PKIX SubjectPublicKeyInfo.
// A key without a Fingerprint gets the MD5 of its DER bytes.
func LoadPublicKeys(r io.Reader) ([]PublicKey, error) {
	var kl keyList
	dec := json.NewDecoder(r)
	if err := dec.Decode(&kl); err != nil {
		return nil, fmt.Errorf("not the JSON of aws cloudtrail list-public-keys: %w", err)
	}
	if kl.PublicKeyList == nil {
		return nil, errors.New(`no "PublicKeyList" array: expected the JSON of aws cloudtrail list-public-keys`)
	}
	var out []PublicKey
	for i, k := range kl.PublicKeyList {
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.Value))
		if err != nil {
			return nil, fmt.Errorf("PublicKeyList[%d].Value is not base64: %w", i, err)
		}
		pub, err := parseRSAPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("PublicKeyList[%d].Value: %w", i, err)
		}
		fp := strings.ToLower(strings.TrimSpace(k.Fingerprint))
		if fp == "" {
			sum := md5.Sum(der)
			fp = hex.EncodeToString(sum[:])
		}
		out = append(out, PublicKey{Fingerprint: fp, Key: pub, ValidFrom: time.Time(k.ValidityStartTime), ValidTo: time.Time(k.ValidityEndTime)})
	}
	return out, nil
}

func parseRSAPublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not an RSA public key in PKCS #1 or PKIX DER")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not RSA", k)
	}
	return rk, nil
}

// LoadSignatures reads a --signatures mapping: a JSON object from a digest
// (s3://bucket/key, object key, local path or file name) to its hex
// signature, or to the "aws s3api head-object" JSON of that digest.
func LoadSignatures(r io.Reader) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of digest to signature: %w", err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		sig, err := signatureValue(v)
		if err != nil {
			return nil, fmt.Errorf("signature of %s: %w", k, err)
		}
		out[k] = sig
	}
	return out, nil
}

// signatureValue accepts "hex" or {"Metadata":{"signature":"hex"}} or
// {"signature":"hex"}.
func signatureValue(b []byte) (string, error) {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return normSig(s)
	}
	var head struct {
		Metadata  map[string]string `json:"Metadata"`
		Signature string            `json:"signature"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", errors.New("neither a hex string nor head-object JSON")
	}
	for k, v := range head.Metadata {
		if strings.EqualFold(k, "signature") || strings.EqualFold(k, "x-amz-meta-signature") {
			return normSig(v)
		}
	}
	if head.Signature != "" {
		return normSig(head.Signature)
	}
	return "", errors.New("no Metadata.signature in head-object JSON")
}

func normSig(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("empty signature")
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", errors.New("signature is not hex")
	}
	return s, nil
}
