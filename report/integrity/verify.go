package integrity

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/leakscope/leakscope/ingest"
)

// Statuses of digests, log files and acquired objects.
const (
	Valid        = "valid"
	Missing      = "missing"       // listed in a digest, absent from the sources
	Modified     = "modified"      // present, hash differs from the digest
	Unlisted     = "unlisted"      // a CloudTrail log file no digest lists
	BadSignature = "bad_signature" // the digest's signature does not verify
	Unverifiable = "unverifiable"  // no public key or no signature for the digest
	Invalid      = "invalid"       // the digest cannot be parsed or uses another algorithm; also the overall verdict
	Changed      = "changed_since_acquisition"
	Gone         = "missing_since_acquisition"
	Unchanged    = "unchanged"
	NotAcquired  = "not_acquired"
)

// Chain break kinds.
const (
	BreakMissingPrevious   = "missing_previous"   // the predecessor named is not in the sources
	BreakHashMismatch      = "hash_mismatch"      // previousDigestHashValue differs from the predecessor's hash
	BreakSignatureMismatch = "signature_mismatch" // previousDigestSignature differs from the predecessor's signature
	BreakRestart           = "restart"            // empty previous fields in the middle of a chain
)

// Options configure Verify.
type Options struct {
	// Keys are the CloudTrail public keys (LoadPublicKeys).
	Keys []PublicKey
	// Signatures maps a digest (s3://bucket/key, key, local path or file
	// name) to its hex signature (LoadSignatures).
	Signatures map[string]string
	// Lake is the lake folder whose manifest is cross-checked; empty or
	// absent skips the check.
	Lake string
}

// Digest is the verdict on one digest file.
type Digest struct {
	Path        string    `json:"path"`
	S3          string    `json:"s3_uri"`
	Account     string    `json:"account,omitempty"`
	Start       time.Time `json:"start,omitzero"`
	End         time.Time `json:"end,omitzero"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	SHA256      string    `json:"sha256"`
	Signature   string    `json:"signature_source,omitempty"` // signatures-file or sidecar
	LogFiles    int       `json:"log_files"`
	Backfill    bool      `json:"backfill,omitempty"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Notes       []string  `json:"notes,omitempty"`

	prevS3, prevHash, prevSig string
	hasPrev                   bool
	sig                       string
	chain                     string
}

// LogFile is the verdict on one CloudTrail log file.
type LogFile struct {
	S3       string `json:"s3_uri,omitempty"`
	Path     string `json:"path,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Status   string `json:"status"`
	Expected string `json:"expected_sha256,omitempty"`
	Actual   string `json:"actual_sha256,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ChainBreak is one broken link between consecutive digests.
type ChainBreak struct {
	Digest   string `json:"digest"`
	Previous string `json:"previous,omitempty"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
}

// ObjectCheck compares an object's current bytes with the manifest.
type ObjectCheck struct {
	URI      string `json:"uri"`
	Status   string `json:"status"`
	Acquired string `json:"acquired_sha256,omitempty"`
	Current  string `json:"current_sha256,omitempty"`
	Run      string `json:"run,omitempty"`
}

// Summary counts the verdicts.
type Summary struct {
	Digests             int `json:"digests"`
	DigestsValid        int `json:"digests_valid"`
	DigestsBadSignature int `json:"digests_bad_signature"`
	DigestsUnverifiable int `json:"digests_unverifiable"`
	DigestsInvalid      int `json:"digests_invalid"`
	LogFiles            int `json:"log_files"`
	LogsValid           int `json:"logs_valid"`
	LogsMissing         int `json:"logs_missing"`
	LogsModified        int `json:"logs_modified"`
	LogsUnlisted        int `json:"logs_unlisted"`
	ChainBreaks         int `json:"chain_breaks"`
	Objects             int `json:"objects"`
	ObjectsUnchanged    int `json:"objects_unchanged"`
	ObjectsChanged      int `json:"objects_changed"`
	ObjectsGone         int `json:"objects_gone"`
	ObjectsNotAcquired  int `json:"objects_not_acquired"`
}

// Result is the outcome of Verify.
type Result struct {
	Verdict     string        `json:"verdict"` // valid or invalid
	Sources     []string      `json:"sources"`
	Lake        string        `json:"lake,omitempty"`
	Summary     Summary       `json:"summary"`
	Digests     []Digest      `json:"digests"`
	LogFiles    []LogFile     `json:"log_files"`
	ChainBreaks []ChainBreak  `json:"chain_breaks"`
	Objects     []ObjectCheck `json:"objects"`
	Notes       []string      `json:"notes,omitempty"`
}

// OK reports whether everything verified.
func (r *Result) OK() bool { return r.Verdict == Valid }

// Problems lists every non-valid verdict as one sentence each.
func (r *Result) Problems() []string {
	var out []string
	for _, d := range r.Digests {
		if d.Status != Valid {
			out = append(out, fmt.Sprintf("digest %s is %s: %s", d.S3, d.Status, d.Reason))
		}
	}
	for _, b := range r.ChainBreaks {
		out = append(out, fmt.Sprintf("chain break (%s) at %s: %s", b.Kind, b.Digest, b.Reason))
	}
	for _, l := range r.LogFiles {
		if l.Status != Valid {
			name := l.S3
			if name == "" {
				name = l.Path
			}
			out = append(out, fmt.Sprintf("log file %s is %s: %s", name, l.Status, l.Reason))
		}
	}
	for _, o := range r.Objects {
		if o.Status == Changed || o.Status == Gone {
			out = append(out, fmt.Sprintf("object %s is %s", o.URI, strings.ReplaceAll(o.Status, "_", " ")))
		}
	}
	return out
}

var (
	// ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz
	digestName = regexp.MustCompile(`^(.+_CloudTrail-Digest_.+)_([0-9]{8}T[0-9]{6}Z)(_backfill)?\.json(\.gz)?$`)
	// ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz
	logName = regexp.MustCompile(`^[0-9]{12}_CloudTrail_[a-z0-9-]+_[0-9]{8}T[0-9]{4}Z_[A-Za-z0-9]+\.json(\.gz)?$`)
)

// file is one listed source file with its hashes.
type file struct {
	path      string
	slash     string // forward-slash path for suffix matching
	rawSHA    string
	contentSH string // SHA-256 of the decompressed content
	decodeErr error
	digest    []byte // decompressed content, for digest candidates
}

// Verify validates the CloudTrail digests and log files below sources and
// cross-checks the lake manifest. Only a failure to list the sources,
// read the manifest or cancellation is an error; everything else is a
// verdict in the Result.
func Verify(ctx context.Context, sources []string, opt Options) (*Result, error) {
	objs, err := ingest.ListLocal(sources, opt.Lake)
	if err != nil {
		return nil, err
	}
	res := &Result{Sources: sources, Digests: []Digest{}, LogFiles: []LogFile{}, ChainBreaks: []ChainBreak{}, Objects: []ObjectCheck{}}
	var files []*file
	byBase := map[string][]*file{}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if strings.HasSuffix(o.URI, ".sig") {
			continue // signature sidecar
		}
		f, err := hashFile(o.URI)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		byBase[path.Base(f.slash)] = append(byBase[path.Base(f.slash)], f)
	}

	// Digests.
	keys := map[string][]PublicKey{}
	for _, k := range opt.Keys {
		keys[k.Fingerprint] = append(keys[k.Fingerprint], k)
	}
	digestFiles := map[*file]bool{}
	var digests []*digestWithLogs
	for _, f := range files {
		if f.digest == nil {
			continue
		}
		d, ok := parseDigest(f)
		if !ok {
			continue
		}
		digestFiles[f] = true
		d.sig, d.Signature = findSignature(f, d.S3, opt.Signatures)
		checkSignature(d, keys)
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool {
		if !digests[i].End.Equal(digests[j].End) {
			return digests[i].End.Before(digests[j].End)
		}
		return digests[i].S3 < digests[j].S3
	})

	// Log files listed by digests.
	listed := map[*file]bool{}
	for _, d := range digests {
		for _, lf := range d.listed {
			out := LogFile{S3: "s3://" + lf.S3Bucket + "/" + lf.S3Object, Digest: d.S3, Expected: strings.ToLower(lf.HashValue)}
			f := locate(byBase, lf.S3Bucket, lf.S3Object)
			switch {
			case f == nil:
				out.Status, out.Reason = Missing, "listed in the digest but not found in the sources"
			case f.decodeErr != nil:
				listed[f] = true
				out.Path, out.Actual = f.path, f.rawSHA
				out.Status, out.Reason = Modified, "cannot be decompressed: "+f.decodeErr.Error()
			case !strings.EqualFold(lf.HashAlgorithm, "SHA-256") && lf.HashAlgorithm != "":
				listed[f] = true
				out.Path = f.path
				out.Status, out.Reason = Modified, fmt.Sprintf("unsupported hash algorithm %q", lf.HashAlgorithm)
			case out.Expected == f.contentSH:
				listed[f] = true
				out.Path, out.Actual, out.Status = f.path, f.contentSH, Valid
			case out.Expected == f.rawSHA:
				listed[f] = true
				out.Path, out.Actual, out.Status = f.path, f.rawSHA, Valid
				out.Reason = "hash matches the stored (compressed) bytes"
			default:
				listed[f] = true
				out.Path, out.Actual = f.path, f.contentSH
				out.Status, out.Reason = Modified, "SHA-256 of the content differs from the digest's hashValue"
			}
			res.LogFiles = append(res.LogFiles, out)
		}
	}
	for _, f := range files {
		if listed[f] || digestFiles[f] || !logName.MatchString(path.Base(f.slash)) {
			continue
		}
		res.LogFiles = append(res.LogFiles, LogFile{Path: f.path, Status: Unlisted, Actual: f.contentSH,
			Reason: "no digest in the sources lists this CloudTrail log file (delivered after the newest digest copied, or not delivered by CloudTrail)"})
	}

	res.ChainBreaks = chain(digests, res)
	for _, d := range digests {
		res.Digests = append(res.Digests, d.Digest)
	}

	if err := crossCheck(ctx, opt.Lake, sources, files, res); err != nil {
		return nil, err
	}
	res.summarise()
	if len(files) == 0 {
		res.Notes = append(res.Notes, "no files found in the sources")
	}
	return res, nil
}

// hashFile hashes the stored bytes and the decompressed content in one
// pass, and keeps the content of small JSON that looks like a digest.
func hashFile(p string) (*file, error) {
	f := &file{path: p, slash: filepath.ToSlash(p)}
	fh, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer fh.Close()
	raw := sha256.New()
	br := bufio.NewReader(io.TeeReader(fh, raw))
	content := sha256.New()
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.decodeErr = err
			r = nil
		} else {
			defer zr.Close()
			r = zr
		}
	}
	maybeDigest := strings.Contains(path.Base(f.slash), "CloudTrail-Digest") || strings.Contains(f.slash, "/CloudTrail-Digest/")
	var keep bytes.Buffer
	if r != nil {
		w := io.Writer(content)
		// Peek at the start of the content to spot digests under any name.
		head := make([]byte, 4096)
		n, rerr := io.ReadFull(r, head)
		head = head[:n]
		content.Write(head)
		if maybeDigest || (bytes.Contains(head, []byte(`"digestStartTime"`)) && bytes.Contains(head, []byte(`"digestS3Object"`))) {
			maybeDigest = true
			keep.Write(head)
			w = io.MultiWriter(content, &limitWriter{w: &keep, n: 64 << 20})
		}
		if rerr == nil {
			_, rerr = io.Copy(w, r)
		} else if rerr == io.ErrUnexpectedEOF || rerr == io.EOF {
			rerr = nil
		}
		if rerr != nil {
			f.decodeErr = rerr
		}
	}
	// Drain whatever the decompressor did not read so the raw hash covers
	// every stored byte.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	f.rawSHA = hex.EncodeToString(raw.Sum(nil))
	f.contentSH = hex.EncodeToString(content.Sum(nil))
	if f.decodeErr != nil {
		f.contentSH = ""
	}
	if maybeDigest && f.decodeErr == nil {
		f.digest = keep.Bytes()
	}
	return f, nil
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errors.New("digest file larger than 64 MiB")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

type listedLog struct {
	S3Bucket      string `json:"s3Bucket"`
	S3Object      string `json:"s3Object"`
	HashValue     string `json:"hashValue"`
	HashAlgorithm string `json:"hashAlgorithm"`
}

type digestJSON struct {
	AWSAccountID                *string     `json:"awsAccountId"`
	DigestStartTime             *string     `json:"digestStartTime"`
	DigestEndTime               *string     `json:"digestEndTime"`
	DigestS3Bucket              *string     `json:"digestS3Bucket"`
	DigestS3Object              *string     `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string      `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string      `json:"digestSignatureAlgorithm"`
	PreviousDigestS3Bucket      *string     `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string     `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string     `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string     `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string     `json:"previousDigestSignature"`
	LogFiles                    []listedLog `json:"logFiles"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// parseDigest recognises a digest; ok is false for JSON that is not one.
func parseDigest(f *file) (*digestWithLogs, bool) {
	var dj digestJSON
	d := &digestWithLogs{Digest: Digest{Path: f.path, SHA256: f.contentSH}}
	if err := json.Unmarshal(f.digest, &dj); err != nil {
		if !strings.Contains(path.Base(f.slash), "CloudTrail-Digest") {
			return nil, false
		}
		d.S3 = f.path
		d.Status, d.Reason = Invalid, "not valid JSON: "+err.Error()
		return d, true
	}
	if dj.DigestStartTime == nil || dj.DigestS3Object == nil || dj.DigestEndTime == nil {
		if !strings.Contains(path.Base(f.slash), "CloudTrail-Digest") {
			return nil, false
		}
		d.S3 = f.path
		d.Status, d.Reason = Invalid, "missing digestStartTime, digestEndTime or digestS3Object"
		return d, true
	}
	d.S3 = "s3://" + str(dj.DigestS3Bucket) + "/" + str(dj.DigestS3Object)
	d.Account = str(dj.AWSAccountID)
	d.Fingerprint = strings.ToLower(dj.DigestPublicKeyFingerprint)
	d.endRaw = *dj.DigestEndTime
	d.bucket, d.object = str(dj.DigestS3Bucket), str(dj.DigestS3Object)
	d.Start, _ = time.Parse(time.RFC3339, *dj.DigestStartTime)
	d.End, _ = time.Parse(time.RFC3339, *dj.DigestEndTime)
	d.LogFiles = len(dj.LogFiles)
	d.listed = dj.LogFiles
	if dj.PreviousDigestSignature != nil {
		d.prevSig = strings.ToLower(*dj.PreviousDigestSignature)
	}
	d.signedPrev = "null"
	if dj.PreviousDigestSignature != nil {
		d.signedPrev = *dj.PreviousDigestSignature
	}
	if str(dj.PreviousDigestS3Object) != "" {
		d.hasPrev = true
		d.prevS3 = "s3://" + str(dj.PreviousDigestS3Bucket) + "/" + str(dj.PreviousDigestS3Object)
		d.prevHash = strings.ToLower(str(dj.PreviousDigestHashValue))
	}
	base := path.Base(d.object)
	if m := digestName.FindStringSubmatch(base); m != nil {
		d.chain = d.bucket + "/" + m[1]
		d.Backfill = m[3] != ""
	} else {
		d.chain = d.bucket + "/" + d.Account
	}
	if path.Base(f.slash) != base {
		d.Notes = append(d.Notes, fmt.Sprintf("stored as %s, not under its original name %s", path.Base(f.slash), base))
	}
	switch {
	case dj.DigestSignatureAlgorithm != "SHA256withRSA":
		d.Status, d.Reason = Invalid, fmt.Sprintf("unsupported digestSignatureAlgorithm %q", dj.DigestSignatureAlgorithm)
	case d.End.IsZero():
		d.Status, d.Reason = Invalid, fmt.Sprintf("digestEndTime %q is not RFC 3339", d.endRaw)
	}
	return d, true
}

// digestWithLogs carries what checking needs beside the public verdict.
type digestWithLogs struct {
	Digest
	listed         []listedLog
	endRaw         string
	bucket, object string
	signedPrev     string
}

// findSignature looks the digest's signature up in the mapping, then in
// a .sig sidecar.
func findSignature(f *file, s3uri string, m map[string]string) (sig, source string) {
	key := strings.TrimPrefix(s3uri, "s3://")
	if i := strings.IndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	for _, k := range []string{s3uri, key, f.path, path.Base(f.slash)} {
		if s, ok := m[k]; ok {
			return s, "signatures-file"
		}
	}
	b, err := os.ReadFile(f.path + ".sig")
	if err != nil {
		return "", ""
	}
	b = bytes.TrimSpace(b)
	if s, err := signatureValue(b); err == nil {
		return s, "sidecar"
	}
	if s, err := normSig(string(b)); err == nil {
		return s, "sidecar"
	}
	return "", ""
}

func checkSignature(d *digestWithLogs, keys map[string][]PublicKey) {
	if d.Status != "" {
		return // already invalid
	}
	if d.sig == "" {
		d.Status = Unverifiable
		d.Reason = "no signature: AWS keeps it in the x-amz-meta-signature metadata of " + d.S3 + "; save it with aws s3api head-object into " + path.Base(d.Path) + ".sig or pass --signatures"
		return
	}
	cands := keys[d.Fingerprint]
	if len(cands) == 0 {
		d.Status = Unverifiable
		d.Reason = "no public key with fingerprint " + d.Fingerprint + "; fetch them with aws cloudtrail list-public-keys for the digest's region and time and pass --public-keys"
		return
	}
	sig, _ := hex.DecodeString(d.sig)
	msg := fmt.Sprintf("%s\n%s/%s\n%s\n%s", d.endRaw, d.bucket, d.object, d.SHA256, d.signedPrev)
	sum := sha256.Sum256([]byte(msg))
	for _, k := range cands {
		if rsa.VerifyPKCS1v15(k.Key, crypto.SHA256, sum[:], sig) == nil {
			d.Status = Valid
			if !k.covers(d.End) {
				d.Notes = append(d.Notes, "the signing key's validity period does not cover digestEndTime")
			}
			return
		}
	}
	d.Status = BadSignature
	d.Reason = "the RSA signature does not verify over the digest (content, location, end time or previous signature altered, or a forged signature)"
}

// locate finds the local copy of s3://bucket/key: a path ending in the
// key (preferably bucket/key), else a unique file of the same name.
func locate(byBase map[string][]*file, bucket, key string) *file {
	cands := byBase[path.Base(key)]
	for _, f := range cands {
		if strings.HasSuffix(f.slash, "/"+bucket+"/"+key) {
			return f
		}
	}
	for _, f := range cands {
		if strings.HasSuffix(f.slash, "/"+key) || f.slash == key {
			return f
		}
	}
	if len(cands) == 1 {
		return cands[0]
	}
	return nil
}

// chain checks the links between consecutive digests of each trail.
func chain(digests []*digestWithLogs, res *Result) []ChainBreak {
	breaks := []ChainBreak{}
	byS3 := map[string]*digestWithLogs{}
	groups := map[string][]*digestWithLogs{}
	var order []string
	for _, d := range digests {
		if d.Status == Invalid && d.bucket == "" {
			continue
		}
		byS3[d.S3] = d
		if d.Backfill {
			continue // backfill digests sit beside the chain
		}
		if _, ok := groups[d.chain]; !ok {
			order = append(order, d.chain)
		}
		groups[d.chain] = append(groups[d.chain], d)
	}
	for _, c := range order {
		g := groups[c]
		for i, d := range g {
			if !d.hasPrev {
				if i > 0 {
					breaks = append(breaks, ChainBreak{Digest: d.S3, Previous: g[i-1].S3, Kind: BreakRestart,
						Reason: fmt.Sprintf("previous-digest fields are empty after %s: logging or validation was stopped and restarted between %s and %s", g[i-1].S3, g[i-1].End.Format(time.RFC3339), d.Start.Format(time.RFC3339))})
				}
				continue
			}
			prev, ok := byS3[d.prevS3]
			if !ok {
				if i == 0 {
					res.Notes = append(res.Notes, fmt.Sprintf("chain %s starts at %s; its predecessor %s is not in the sources", c, d.S3, d.prevS3))
					continue
				}
				breaks = append(breaks, ChainBreak{Digest: d.S3, Previous: d.prevS3, Kind: BreakMissingPrevious,
					Reason: "the previous digest it names is not in the sources (deleted or not copied)"})
				continue
			}
			if d.prevHash != prev.SHA256 {
				breaks = append(breaks, ChainBreak{Digest: d.S3, Previous: d.prevS3, Kind: BreakHashMismatch,
					Reason: fmt.Sprintf("previousDigestHashValue %s differs from the SHA-256 %s of the previous digest's content", d.prevHash, prev.SHA256)})
			}
			if prev.sig != "" && d.prevSig != prev.sig {
				breaks = append(breaks, ChainBreak{Digest: d.S3, Previous: d.prevS3, Kind: BreakSignatureMismatch,
					Reason: "previousDigestSignature differs from the previous digest's signature"})
			}
		}
	}
	return breaks
}

// crossCheck compares the current hash of every source file with the
// hash recorded when it was ingested.
func crossCheck(ctx context.Context, lake string, sources []string, files []*file, res *Result) error {
	if lake == "" {
		return nil
	}
	if st, err := os.Stat(lake); err != nil || !st.IsDir() {
		return nil
	}
	m, err := ingest.LoadManifest(lake)
	if err != nil {
		return err
	}
	res.Lake = lake
	seen := map[string]bool{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		seen[f.path] = true
		e, ok := m.Lookup(f.path)
		switch {
		case !ok || e.SHA256 == "":
			res.Objects = append(res.Objects, ObjectCheck{URI: f.path, Status: NotAcquired, Current: f.rawSHA})
		case e.SHA256 == f.rawSHA:
			res.Objects = append(res.Objects, ObjectCheck{URI: f.path, Status: Unchanged, Acquired: e.SHA256, Current: f.rawSHA, Run: e.Run})
		default:
			res.Objects = append(res.Objects, ObjectCheck{URI: f.path, Status: Changed, Acquired: e.SHA256, Current: f.rawSHA, Run: e.Run})
		}
	}
	// Acquired objects under a source folder that are no longer there.
	var roots []string
	for _, s := range sources {
		if abs, err := filepath.Abs(s); err == nil {
			roots = append(roots, abs)
		}
	}
	for _, e := range m.Entries() {
		if seen[e.URI] || e.SHA256 == "" {
			continue
		}
		for _, r := range roots {
			if e.URI == r || strings.HasPrefix(e.URI, r+string(filepath.Separator)) {
				if _, err := os.Stat(e.URI); os.IsNotExist(err) {
					res.Objects = append(res.Objects, ObjectCheck{URI: e.URI, Status: Gone, Acquired: e.SHA256, Run: e.Run})
				}
				break
			}
		}
	}
	return nil
}

func (r *Result) summarise() {
	s := Summary{Digests: len(r.Digests), LogFiles: len(r.LogFiles), ChainBreaks: len(r.ChainBreaks), Objects: len(r.Objects)}
	for _, d := range r.Digests {
		switch d.Status {
		case Valid:
			s.DigestsValid++
		case BadSignature:
			s.DigestsBadSignature++
		case Unverifiable:
			s.DigestsUnverifiable++
		default:
			s.DigestsInvalid++
		}
	}
	for _, l := range r.LogFiles {
		switch l.Status {
		case Valid:
			s.LogsValid++
		case Missing:
			s.LogsMissing++
		case Modified:
			s.LogsModified++
		case Unlisted:
			s.LogsUnlisted++
		}
	}
	for _, o := range r.Objects {
		switch o.Status {
		case Unchanged:
			s.ObjectsUnchanged++
		case Changed:
			s.ObjectsChanged++
		case Gone:
			s.ObjectsGone++
		case NotAcquired:
			s.ObjectsNotAcquired++
		}
	}
	r.Summary = s
	r.Verdict = Valid
	if s.DigestsValid != s.Digests || s.LogsValid != s.LogFiles || s.ChainBreaks > 0 || s.ObjectsChanged > 0 || s.ObjectsGone > 0 {
		r.Verdict = "invalid"
	}
}
