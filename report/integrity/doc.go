// Package integrity validates CloudTrail log-file integrity the way AWS
// specifies it ("Validating CloudTrail log file integrity" and its
// custom-implementation guide), over local copies of a trail's bucket,
// and cross-checks acquired objects against the lake's ingest manifest.
//
// For every digest file found in the sources (a key under
// CloudTrail-Digest/ or any JSON object carrying digestStartTime and
// digestS3Object):
//
//   - each listed log file is looked up locally (by its S3 key as a path
//     suffix, else by its file name) and its hashValue compared with the
//     SHA-256 of the uncompressed log content, as AWS computes it. A copy
//     whose stored bytes hash to the value is also accepted, and a copy
//     stored already decompressed matches naturally. Absent files are
//     "missing", mismatches "modified".
//
//   - the digest's RSA signature (SHA256withRSA, PKCS #1 v1.5) is checked
//     over AWS's data-signing string
//
//     digestEndTime "\n" digestS3Bucket "/" digestS3Object "\n"
//     hex(SHA-256(uncompressed digest content)) "\n" previousDigestSignature
//
//     (previousDigestSignature is the literal "null" for the first digest)
//     with the public key whose fingerprint equals
//     digestPublicKeyFingerprint, from the JSON that
//     "aws cloudtrail list-public-keys" prints. A digest without a key or
//     a signature is "unverifiable", never silently valid.
//
//   - digests of one trail, account and region form a chain: each names
//     its predecessor (previousDigestS3Bucket/Object), the SHA-256 of the
//     predecessor's uncompressed content (previousDigestHashValue) and the
//     predecessor's signature (previousDigestSignature). A missing
//     predecessor, a hash or signature mismatch, or empty previous fields
//     in the middle of a chain (logging stopped and restarted) is a chain
//     break. The oldest digest of a chain may name a predecessor that is
//     not in the sources; that is where the evidence starts, not a break.
//
// Log files that follow CloudTrail's naming (ACCOUNT_CloudTrail_REGION_...)
// and that no digest lists are "unlisted": either delivered after the
// newest digest copied, or planted.
//
// # Where the signature comes from
//
// AWS stores a digest's signature outside the file, in the S3 object
// metadata x-amz-meta-signature (hex). Local copies lose it, so Verify
// takes it, in this order, from:
//
//  1. Options.Signatures (the --signatures FILE mapping), a JSON object
//     from "s3://bucket/key", the object key, the local path or the file
//     name to the hex signature;
//  2. a sidecar file next to the digest named DIGEST.sig holding either
//     the hex signature or the JSON that "aws s3api head-object" prints
//     (Metadata.signature).
//
// A "digestSignature" value embedded in the digest JSON is deliberately
// not accepted: AWS never writes one, and because the signature covers
// the SHA-256 of the digest's own bytes, a file that carries its own
// signature has been altered after signing and could never verify.
//
// Sources are local files and folders; s3:// sources are not supported
// yet (sync them first with "aws s3 sync", keeping the metadata with
// "aws s3api head-object" into .sig sidecars).
package integrity
