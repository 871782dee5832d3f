package cloudtrail

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRepeatedIdentityMatchesFreshParse checks that the shortcuts taken
// for runs of events from one principal (a replayed userIdentity parse, the
// reused identity columns) give the rows a fresh parse gives.
func TestRepeatedIdentityMatchesFreshParse(t *testing.T) {
	const (
		head    = `{"eventVersion":"1.08","eventTime":"2024-05-06T07:08:09Z","eventName":"GetObject","awsRegion":"us-east-1",`
		assumed = `"userIdentity":{"type":"AssumedRole","principalId":"AROAX:s","arn":"arn:aws:sts::111122223333:assumed-role/R/s","accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/R","userName":"R"},"attributes":{"creationDate":"2024-05-06T06:00:00Z","mfaAuthenticated":"true"}}}`
		breaker = `{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::9:user/breaker"}}`
	)
	records := []string{
		head + assumed + `,"eventID":"1"}`,
		head + assumed + `,"eventID":"2","requestParameters":{"bucketName":"b","key":"k"}}`,
		// Whitespace inside userIdentity.
		head + `"userIdentity": {"type": "IAMUser",` + "\n\t" + `"arn": "arn:aws:iam::1:user/u", "accountId": "1"}}`,
		// Escapes inside userIdentity.
		head + `"userIdentity":{"type":"IAMUser","userName":"a\"b\u00e9","arn":"arn:aws:iam::1:user/a\/b"}}`,
		// Two userIdentity objects: the first leaves invokedBy behind.
		head + `"userIdentity":{"type":"AWSService","invokedBy":"x.amazonaws.com"},` + assumed + `}`,
		head + `"userIdentity":{"type":"AWSService","invokedBy":"y.amazonaws.com"},` + assumed + `}`,
		// The actor's partition comes from outside userIdentity.
		head + `"userIdentity":{"type":"AWSAccount","accountId":"2"},"requestParameters":{"x":"arn:aws-cn:s3:::b"}}`,
		head + `"userIdentity":{"type":"AWSAccount","accountId":"2"},"requestParameters":{"x":"arn:aws-us-gov:s3:::b"}}`,
		head + `"userIdentity":{"type":"Root","accountId":"2"},"resources":[{"ARN":"arn:aws-cn:s3:::b"}]}`,
		head + `"userIdentity":{"type":"Root","accountId":"2"}}`,
	}
	var pretty []string
	for _, r := range records {
		var b bytes.Buffer
		if err := json.Indent(&b, []byte(r), "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty = append(pretty, b.String())
	}
	for _, set := range [][]string{records, pretty} {
		// Each record on its own, after a record of another principal.
		var want []Row
		for _, r := range set {
			res := decodeBytes([]byte(breaker + r))
			if res.err != nil || len(res.rows) != 2 {
				t.Fatalf("%s: err %v, %d rows, bad %+v", r, res.err, len(res.rows), res.bad)
			}
			want = append(want, res.rows[1])
		}
		// Every record three times in a row, then all of them again, in
		// JSON Lines and in a Records array.
		var order []int
		for i := range set {
			order = append(order, i, i, i)
		}
		for i := range set {
			order = append(order, i)
		}
		var lines, array []string
		for _, i := range order {
			lines = append(lines, strings.ReplaceAll(set[i], "\n", " "))
			array = append(array, set[i])
		}
		for _, in := range []string{
			strings.Join(lines, "\n") + "\n",
			`{"Records":[` + strings.Join(array, ",") + `]}`,
		} {
			res := decodeBytes([]byte(in))
			if res.err != nil || len(res.rows) != len(order) {
				t.Fatalf("err %v, %d rows for %d records, bad %+v", res.err, len(res.rows), len(order), res.bad)
			}
			for k, got := range res.rows {
				w := want[order[k]]
				got.SourceOffset, w.SourceOffset = 0, 0
				if !reflect.DeepEqual(got, w) {
					t.Errorf("row %d (record %d):\n got %+v\nwant %+v", k, order[k], got, w)
				}
			}
		}
	}
}
