package cloudtrail

import (
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/ingest"
)

// TestNormalize pins the normalised columns for the identity shapes and
// S3 cases that matter most, independently of the golden files.
func TestNormalize(t *testing.T) {
	const head = `"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1"`
	type want struct {
		identityType, actor, session, user, account, accessKey string
		bucket, key, issuedKey, issuedARN, roleARN             string
		partAcc, partReg                                       string
		bytesIn, bytesOut                                      int64 // -1: NULL
		mfa                                                    string
		sessionCreated                                         string
	}
	cases := []struct {
		name string
		rec  string
		obj  ingest.ObjectInfo
		want want
	}{
		{
			name: "assumed role uses the session issuer",
			rec:  `{` + head + `,"userIdentity":{"type":"AssumedRole","principalId":"AROA:sess","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/path/Admin","userName":"Admin"},"attributes":{"creationDate":"2024-01-02T02:00:00Z","mfaAuthenticated":"true"}}},"recipientAccountId":"111122223333"}`,
			want: want{identityType: "AssumedRole", actor: "arn:aws:iam::111122223333:role/path/Admin", session: "alice@example.com", user: "Admin",
				account: "111122223333", accessKey: "ASIAEXAMPLE", partAcc: "111122223333", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1,
				mfa: "true", sessionCreated: "2024-01-02T02:00:00Z"},
		},
		{
			name: "assumed role without issuer derives the role from the STS ARN (us-gov)",
			rec:  `{` + strings.Replace(head, "eu-west-1", "us-gov-east-1", 1) + `,"userIdentity":{"type":"AssumedRole","arn":"arn:aws-us-gov:sts::123456789012:assumed-role/Ec2Role/i-0abc","accountId":"123456789012"}}`,
			want: want{identityType: "AssumedRole", actor: "arn:aws-us-gov:iam::123456789012:role/Ec2Role", session: "i-0abc",
				account: "123456789012", partAcc: "123456789012", partReg: "us-gov-east-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "iam user",
			rec:  `{` + head + `,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob","accessKeyId":"AKIAEXAMPLE"}}`,
			want: want{identityType: "IAMUser", actor: "arn:aws:iam::111122223333:user/bob", user: "bob", account: "111122223333",
				accessKey: "AKIAEXAMPLE", partAcc: "111122223333", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "root without arn",
			rec:  `{` + head + `,"userIdentity":{"type":"Root","accountId":"111122223333"}}`,
			want: want{identityType: "Root", actor: "arn:aws:iam::111122223333:root", account: "111122223333", partAcc: "111122223333",
				partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "aws service is the invoking service",
			rec:  `{` + head + `,"userIdentity":{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"},"sourceIPAddress":"sagemaker.amazonaws.com","recipientAccountId":"444455556666"}`,
			want: want{identityType: "AWSService", actor: "sagemaker.amazonaws.com", partAcc: "444455556666", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "aws account is its root in the event's partition",
			rec:  `{` + head + `,"userIdentity":{"type":"AWSAccount","principalId":"AIDAEXAMPLE","accountId":"777788889999"},"requestParameters":{"roleArn":"arn:aws-cn:iam::111122223333:role/X"},"recipientAccountId":"111122223333"}`,
			want: want{identityType: "AWSAccount", actor: "arn:aws-cn:iam::777788889999:root", account: "777788889999",
				roleARN: "arn:aws-cn:iam::111122223333:role/X", partAcc: "111122223333", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "federated user uses the issuing user",
			rec:  `{` + head + `,"userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/fed","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/issuer","userName":"issuer"}}}}`,
			want: want{identityType: "FederatedUser", actor: "arn:aws:iam::111122223333:user/issuer", session: "fed", user: "issuer",
				account: "111122223333", partAcc: "111122223333", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "saml user without arn",
			rec:  `{` + head + `,"userIdentity":{"type":"SAMLUser","principalId":"x:SamlExample","userName":"SamlExample","identityProvider":"bdGOnTesti4+Example="},"responseElements":{"credentials":{"accessKeyId":"ASIAISSUED"},"assumedRoleUser":{"arn":"arn:aws:sts::444455556666:assumed-role/R/SamlExample"}},"requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/R"}}`,
			want: want{identityType: "SAMLUser", actor: "bdGOnTesti4+Example=:SamlExample", user: "SamlExample", issuedKey: "ASIAISSUED",
				issuedARN: "arn:aws:sts::444455556666:assumed-role/R/SamlExample", roleARN: "arn:aws:iam::444455556666:role/R",
				partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "web identity user without arn",
			rec:  `{` + head + `,"userIdentity":{"type":"WebIdentityUser","userName":"1234","identityProvider":"accounts.google.com"}}`,
			obj:  ingest.ObjectInfo{Account: "999999999999"},
			want: want{identityType: "WebIdentityUser", actor: "accounts.google.com:1234", user: "1234", partAcc: "999999999999", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "identity center user",
			rec:  `{` + head + `,"userIdentity":{"type":"IdentityCenterUser","arn":"","accountId":"111122223333","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}}}`,
			want: want{identityType: "IdentityCenterUser", actor: "arn:aws:identitystore::111122223333:identitystore/d-1/user/u-1",
				account: "111122223333", partAcc: "111122223333", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "s3 copy object: bucket and key from requestParameters, float byte counts",
			rec:  `{` + head + `,"requestParameters":{"bucketName":"dst","key":"a/b.txt","x-amz-copy-source":"src/a.txt"},"additionalEventData":{"bytesTransferredIn":0.0,"bytesTransferredOut":1024.0},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::dst/a/b.txt"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::dst"}]}`,
			want: want{bucket: "dst", key: "a/b.txt", partReg: "eu-west-1", bytesIn: 0, bytesOut: 1024},
		},
		{
			name: "s3 object from resources only",
			rec:  `{` + head + `,"requestParameters":{"key":7},"resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bkt"},{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bkt/dir/x.csv"}]}`,
			want: want{bucket: "bkt", key: "dir/x.csv", partReg: "eu-west-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "region and account fall back to the object layout",
			rec:  `{"eventTime":"2024-01-02T03:04:05Z","eventName":"X","userIdentity":null}`,
			obj:  ingest.ObjectInfo{Account: "123412341234", Region: "ap-south-1"},
			want: want{partAcc: "123412341234", partReg: "ap-south-1", bytesIn: -1, bytesOut: -1},
		},
		{
			name: "console session: basic-format creationDate, mfa false",
			rec:  `{` + head + `,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/x","accountId":"111122223333","sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":"20131102T010628Z"}}}}`,
			want: want{identityType: "IAMUser", actor: "arn:aws:iam::111122223333:user/x", account: "111122223333", partAcc: "111122223333",
				partReg: "eu-west-1", bytesIn: -1, bytesOut: -1, mfa: "false", sessionCreated: "2013-11-02T01:06:28Z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := tc.obj
			obj.URI, obj.Key = "file:///x.json", "x.json"
			res := decodeWith(t.Context(), obj, strings.NewReader(tc.rec))
			if res.err != nil || len(res.rows) != 1 {
				t.Fatalf("err %v, rows %d, bad %+v", res.err, len(res.rows), res.bad)
			}
			r := res.rows[0]
			got := want{
				identityType: r.IdentityType, actor: r.ActorARN, session: r.SessionName, user: r.UserName, account: r.AccountID,
				accessKey: r.AccessKeyID, bucket: r.Bucket, key: r.ObjectKey, issuedKey: r.IssuedAccessKeyID, issuedARN: r.IssuedARN,
				roleARN: r.RoleARN, partAcc: r.PartAcc, partReg: r.PartReg, bytesIn: -1, bytesOut: -1,
			}
			if r.BytesIn != nil {
				got.bytesIn = *r.BytesIn
			}
			if r.BytesOut != nil {
				got.bytesOut = *r.BytesOut
			}
			if r.MFAAuthenticated != nil {
				got.mfa = map[bool]string{true: "true", false: "false"}[*r.MFAAuthenticated]
			}
			if r.SessionCreated != nil {
				got.sessionCreated = time.UnixMicro(*r.SessionCreated).UTC().Format(time.RFC3339)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCorpusNormalize checks a few rows of real samples by hand.
func TestCorpusNormalize(t *testing.T) {
	dir := needCorpus(t)
	cases := []struct {
		file            string
		eventName       string
		identityType    string
		actor, session  string
		bucket, key     string
		issuedAccessKey string
	}{
		{"awsdocs_iam-user-guide_cloudtrail-examples.json", "AssumeRole", "AWSAccount", "arn:aws:iam::777788889999:root", "", "", "", "AKIAQRSTUVWXYZEXAMPLE"},
		{"elastic_integrations_assume-role-sso-email-session.jsonl", "AssumeRole", "AssumedRole", "arn:aws:iam::111111111111:role/AWSReservedSSO_SecurityAudit_8df5ccd37b", "firstname.lastname@example.com", "", "", "ASIAWHOJDLGPOEXAMPLE"},
		{"elastic_integrations_us-gov-arn.jsonl", "UpdateInstanceInformation", "AssumedRole", "arn:aws-us-gov:iam::111111111111:role/ExampleRole", "i-example1234567890", "", "", ""},
		{"elastic_integrations_copy-object-s3-data-event_trailing-blank-line.jsonl", "CopyObject", "IAMUser", "arn:aws:iam::000000000:user/test@elastic.co", "", "elastic-cspm-cloudtrail-test-bucket", "test-copy-object/README-copy.md", ""},
		{"elastic_integrations_assume-role-aws-service.jsonl", "AssumeRole", "AWSService", "ec2.amazonaws.com", "", "", "", "ASIAEXAMPLEEXAMPLE01"},
		{"stratus_aws.persistence.sts-federation-token.json", "GetCallerIdentity", "FederatedUser", "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user", "stratus_red_team", "", "", ""},
		{"awsdocs_iam-user-guide_saml-webidentity_REPAIRED.json", "AssumeRoleWithWebIdentity", "WebIdentityUser", "accounts.google.com:<id of user>", "", "", "", "ASIACQRSTUVWRAOEXAMPLE"},
		{"elastic_integrations_user-authentication_identity-center-redacted.jsonl", "UserAuthentication", "IdentityCenterUser", "arn:aws:identitystore::redacted:identitystore/redacted/user/redacted", "", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.eventName, func(t *testing.T) {
			res := decodeBytes(readSample(t, dir+"/"+tc.file))
			if res.err != nil {
				t.Fatal(res.err)
			}
			for _, r := range res.rows {
				if r.EventName != tc.eventName || r.IdentityType != tc.identityType {
					continue
				}
				if r.ActorARN != tc.actor || r.SessionName != tc.session || r.Bucket != tc.bucket || r.ObjectKey != tc.key || r.IssuedAccessKeyID != tc.issuedAccessKey {
					t.Errorf("got actor %q session %q bucket %q key %q issued %q", r.ActorARN, r.SessionName, r.Bucket, r.ObjectKey, r.IssuedAccessKeyID)
				}
				return
			}
			t.Fatalf("no %s row by %s", tc.eventName, tc.identityType)
		})
	}
}
