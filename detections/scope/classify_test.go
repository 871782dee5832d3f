package scope

import (
	"testing"

	"github.com/leakscope/leakscope/report"
)

func TestClassify(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"ai_principals":[{"match":"arn:aws:iam::*:role/ml-*","service":"sagemaker","reason":"ML platform"},{"match":"arn:aws:iam::111122223333:user/rag-*","service":"bedrock"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sess := func(role, s string) string { return "arn:aws:sts::111122223333:assumed-role/" + role + "/" + s }
	for _, tc := range []struct {
		name string
		f    aiFacts
		want string
	}{
		{"sagemaker trust", aiFacts{ARN: sess("data-role", "botocore-session-1"), Issuers: []string{"sagemaker.amazonaws.com"}}, report.AISageMaker},
		{"bedrock agent trust", aiFacts{ARN: sess("kb-role", "x"), Issuers: []string{"bedrock.amazonaws.com"}}, report.AIAgent},
		{"lambda trust", aiFacts{ARN: sess("fn-role", "fn"), Issuers: []string{"lambda.amazonaws.com"}}, report.AILambda},
		{"ec2 trust is not AI", aiFacts{ARN: sess("web", "i-0123456789abcdef0"), Issuers: []string{"ec2.amazonaws.com"}}, ""},
		{"invoked by sagemaker", aiFacts{ARN: sess("r", "s"), InvokedBy: []string{"sagemaker.amazonaws.com"}}, report.AISageMaker},
		{"sagemaker role name", aiFacts{ARN: sess("AmazonSageMaker-ExecutionRole-2025", "s")}, report.AISageMaker},
		{"agent role name", aiFacts{ARN: sess("AmazonBedrockExecutionRoleForAgents_X1", "s")}, report.AIAgent},
		{"bedrock role name", aiFacts{ARN: sess("bedrock-rag-app", "s")}, report.AIBedrock},
		{"lambda role name", aiFacts{ARN: "arn:aws:iam::111122223333:role/orders-lambda-role"}, report.AILambda},
		{"sagemaker session name", aiFacts{ARN: sess("data-role", "SageMaker")}, report.AISageMaker},
		{"lambda runtime ua", aiFacts{ARN: sess("fn", "fn"), LambdaRuntime: true}, report.AILambda},
		{"model invoker", aiFacts{ARN: "arn:aws:iam::111122223333:user/app", InvokesModels: true}, report.AIBedrock},
		{"config role glob", aiFacts{ARN: sess("ml-train", "s")}, report.AISageMaker},
		{"config user glob", aiFacts{ARN: "arn:aws:iam::111122223333:user/rag-indexer"}, report.AIBedrock},
		{"config wins over trust", aiFacts{ARN: sess("ml-x", "s"), Issuers: []string{"lambda.amazonaws.com"}}, report.AISageMaker},
		{"plain user", aiFacts{ARN: "arn:aws:iam::111122223333:user/ci"}, ""},
		{"plain role", aiFacts{ARN: sess("deploy", "GitHubActions")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := classify(cfg, tc.f)
			if got != tc.want {
				t.Errorf("classify(%+v) = %q (%s), want %q", tc.f, got, why, tc.want)
			}
			if got != "" && why == "" {
				t.Errorf("no reason for %q", got)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, doc := range []string{
		`{"ai_principals":[{"match":"x","service":"gpt"}]}`,
		`{"ai_principal":[]}`,
		`{"interfaces":[{"resource":"nb"}]}`,
		`{"internal_networks":["10.0.0.0/33"]}`,
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil {
			t.Errorf("ParseConfig(%s) accepted", doc)
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	in := "a|b`c*d_e<f>g\x1b[31mh\u202e"
	got := mdText(in)
	for _, bad := range []string{"|b", "`c", "*d", "_e", "<f", ">g", "\x1b", "\u202e"} {
		if contains(got, bad) && !contains(got, "\\"+bad[:1]) {
			t.Errorf("mdText(%q) = %q: %q not escaped", in, got, bad)
		}
	}
	if contains(got, "\x1b") || contains(got, "\u202e") {
		t.Errorf("mdText kept a control character: %q", got)
	}
	if c := mdCode("x`y|z\x1b"); contains(c, "\x1b") || !contains(c, `\|`) || c[:2] != "``" {
		t.Errorf("mdCode = %q", c)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
