package scope

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/report"
)

// aiFacts is what the logs say about one principal (and its role) that
// bears on whether it is an AI workload.
type aiFacts struct {
	ARN string
	// Issuers are AWS services that called AssumeRole* for the role
	// (its trust in action), e.g. sagemaker.amazonaws.com.
	Issuers []string
	// InvokedBy are services that made calls as the principal or role.
	InvokedBy []string
	// LambdaRuntime: a user agent of the role names the Lambda runtime.
	LambdaRuntime bool
	// InvokesModels: the principal called Bedrock model or agent runtime APIs.
	InvokesModels bool
}

// serviceAI maps an AWS service principal to the AI service its roles run.
var serviceAI = map[string]string{
	"sagemaker.amazonaws.com":         report.AISageMaker,
	"bedrock.amazonaws.com":           report.AIAgent,
	"lambda.amazonaws.com":            report.AILambda,
	"edgelambda.amazonaws.com":        report.AILambda,
	"bedrock-agentcore.amazonaws.com": report.AIAgent,
}

// classify decides the AI service of a principal and says why. Order:
// the user's config, the service that assumes the role (trust in action),
// services acting as the principal, role and session naming conventions,
// the Lambda runtime user agent, and Bedrock model invocations.
func classify(cfg *Config, f aiFacts) (string, string) {
	role, session, isSession := sessionRole(f.ARN)
	roleARN := ""
	if isSession {
		roleARN = role.String()
	} else if r, ok := roleOfARN(f.ARN); ok {
		role, roleARN = r, r.String()
	}
	if cfg != nil {
		for _, p := range cfg.AIPrincipals {
			if globMatch(p.Match, f.ARN) || (roleARN != "" && globMatch(p.Match, roleARN)) {
				why := p.Reason
				if why == "" {
					why = "matches " + p.Match
				}
				return p.Service, "config: " + why
			}
		}
	}
	for _, s := range f.Issuers {
		if ai := serviceAI[s]; ai != "" {
			return ai, fmt.Sprintf("role %s is assumed by %s", role.name, s)
		}
	}
	for _, s := range f.InvokedBy {
		if ai := serviceAI[s]; ai != "" {
			return ai, fmt.Sprintf("calls made by %s on behalf of %s", s, shortName(f.ARN))
		}
	}
	if role.name != "" {
		n := strings.ToLower(role.name)
		switch {
		case strings.HasPrefix(n, "amazonbedrockexecutionrolefor"):
			return report.AIAgent, "role name " + role.name + " is a Bedrock agent / knowledge-base service role"
		case strings.Contains(n, "sagemaker"):
			return report.AISageMaker, "role name " + role.name + " names SageMaker"
		case strings.Contains(n, "bedrock"):
			return report.AIBedrock, "role name " + role.name + " names Bedrock"
		case strings.Contains(n, "lambda"):
			return report.AILambda, "role name " + role.name + " names Lambda"
		}
	}
	if isSession && session == "SageMaker" {
		return report.AISageMaker, "session name SageMaker is set by SageMaker jobs and notebooks"
	}
	if f.LambdaRuntime {
		return report.AILambda, "user agent names the AWS Lambda runtime (exec-env/AWS_Lambda)"
	}
	if f.InvokesModels {
		return report.AIBedrock, "invokes Bedrock models or agents"
	}
	return "", ""
}

func shortName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// classifyAll sets ai_service on each principal from the logs (and
// config), recording why.
func (b *builder) classifyAll(ctx context.Context, ps []report.Principal, why map[string]string) error {
	facts := map[string]*aiFacts{}
	roles := map[roleRef]bool{}
	var users []string
	for _, p := range ps {
		facts[p.ARN] = &aiFacts{ARN: p.ARN}
		if r, _, ok := sessionRole(p.ARN); ok {
			roles[r] = true
		} else if r, ok := roleOfARN(p.ARN); ok {
			roles[r] = true
		} else {
			users = append(users, p.ARN)
		}
	}
	var prefixes []string
	var names []string
	for r := range roles {
		prefixes = append(prefixes, r.sessionPrefix())
		names = append(names, r.name)
	}
	slices.Sort(prefixes)
	slices.Sort(names)
	slices.Sort(users)
	ctx2 := span{b.win.start.Add(-time.Duration(b.opt.BaselineDays) * 24 * time.Hour), b.win.end}
	wp, wa := ctx2.pred("event_time")
	issuers := map[roleRef][]string{}
	if len(names) > 0 {
		// The service that assumes a role is its trust in action.
		q := `SELECT DISTINCT role_arn, coalesce(invoked_by, actor_arn) FROM cloudtrail WHERE ` + wp + `
			AND event_name IN ('AssumeRole', 'AssumeRoleWithWebIdentity') AND identity_type = 'AWSService' AND role_arn IS NOT NULL
			ORDER BY 1, 2`
		rows, err := b.db.QueryContext(ctx, q, wa...)
		if err != nil {
			return fmt.Errorf("scope role trust: %w", err)
		}
		for rows.Next() {
			var role, svc sql.NullString
			if err := rows.Scan(&role, &svc); err != nil {
				rows.Close()
				return err
			}
			if r, ok := roleOfARN(role.String); ok && roles[r] && svc.Valid && !slices.Contains(issuers[r], svc.String) {
				issuers[r] = append(issuers[r], svc.String)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	pp, pa := prefixAny("principal_arn", prefixes)
	up, ua := inList("principal_arn", users)
	type behaviour struct {
		invokedBy     []string
		lambda, model bool
	}
	byRole := map[roleRef]*behaviour{}
	byUser := map[string]*behaviour{}
	if w := or(pp, up); w != "false" {
		q := `SELECT principal_arn, invoked_by, bool_or(user_agent LIKE '%exec-env/AWS_Lambda%'),
			bool_or(event_source IN ('bedrock.amazonaws.com', 'bedrock-runtime.amazonaws.com', 'bedrock-agent-runtime.amazonaws.com')
				AND event_name IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream', 'InvokeAgent', 'InvokeInlineAgent', 'RetrieveAndGenerate', 'Retrieve'))
		FROM cloudtrail WHERE ` + wp + ` AND ` + w + ` GROUP BY ALL ORDER BY ALL`
		rows, err := b.db.QueryContext(ctx, q, cat(wa, pa, ua)...)
		if err != nil {
			return fmt.Errorf("scope AI behaviour: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var arn, inv sql.NullString
			var lam, model bool
			if err := rows.Scan(&arn, &inv, &lam, &model); err != nil {
				return err
			}
			var bh *behaviour
			if r, _, ok := sessionRole(arn.String); ok {
				if bh = byRole[r]; bh == nil {
					bh = &behaviour{}
					byRole[r] = bh
				}
			} else {
				if bh = byUser[arn.String]; bh == nil {
					bh = &behaviour{}
					byUser[arn.String] = bh
				}
			}
			if inv.Valid && !slices.Contains(bh.invokedBy, inv.String) {
				bh.invokedBy = append(bh.invokedBy, inv.String)
			}
			bh.lambda = bh.lambda || lam
			bh.model = bh.model || model
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range ps {
		f := facts[ps[i].ARN]
		var bh *behaviour
		if r, _, ok := sessionRole(f.ARN); ok {
			f.Issuers, bh = issuers[r], byRole[r]
		} else if r, ok := roleOfARN(f.ARN); ok {
			f.Issuers, bh = issuers[r], byRole[r]
		} else {
			bh = byUser[f.ARN]
		}
		if bh != nil {
			slices.Sort(bh.invokedBy)
			f.InvokedBy, f.LambdaRuntime, f.InvokesModels = bh.invokedBy, bh.lambda, bh.model
		}
		ai, w := classify(b.opt.Config, *f)
		ps[i].AIService = report.AIService(ai)
		if ai != "" {
			why[ps[i].ARN] = w
		}
	}
	return nil
}
