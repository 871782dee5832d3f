package scope

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/leakscope/leakscope/report"
)

// accountOf returns the account field of an ARN, or the value itself when
// it is a bare 12-digit account id.
func accountOf(arn string) string {
	if isAccountID(arn) {
		return arn
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

func isAccountID(s string) bool { return accountRE.MatchString(s) }

// roleRef is a role by account and name (session ARNs carry no path).
type roleRef struct{ account, name string }

func (r roleRef) sessionPrefix() string {
	return "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/"
}

func (r roleRef) String() string { return "arn:aws:iam::" + r.account + ":role/" + r.name }

// sessionRole parses arn:aws:sts::A:assumed-role/R/S.
func sessionRole(arn string) (roleRef, string, bool) {
	head, rest, ok := strings.Cut(arn, ":assumed-role/")
	if !ok {
		return roleRef{}, "", false
	}
	name, sess, ok := strings.Cut(rest, "/")
	if !ok {
		return roleRef{}, "", false
	}
	return roleRef{accountOf(head + ":x"), name}, sess, true
}

// roleOfARN parses arn:aws:iam::A:role/[path/]R.
func roleOfARN(arn string) (roleRef, bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return roleRef{}, false
	}
	_, rest, ok := strings.Cut(arn, ":role/")
	if !ok {
		return roleRef{}, false
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest = rest[i+1:]
	}
	return roleRef{accountOf(arn), rest}, rest != ""
}

func isSessionARN(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && (strings.Contains(arn, ":assumed-role/") || strings.Contains(arn, ":federated-user/"))
}

// principalType maps an ARN to a SPEC §6 principal type.
func principalType(arn string) string {
	switch {
	case isAccountID(arn):
		return report.PrincipalAWSAccount
	case strings.HasSuffix(arn, ".amazonaws.com") && !strings.HasPrefix(arn, "arn:"):
		return report.PrincipalService
	case strings.Contains(arn, ":assumed-role/"):
		return report.PrincipalAssumedRole
	case strings.Contains(arn, ":federated-user/"):
		return report.PrincipalIAMUser
	case strings.HasSuffix(arn, ":root"):
		return report.PrincipalRoot
	case strings.Contains(arn, ":role/"):
		return report.PrincipalRole
	case strings.Contains(arn, ":user/"):
		return report.PrincipalIAMUser
	}
	return report.PrincipalAWSAccount
}

// cgnat is shared address space (RFC 6598), never a public destination.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// publicAddr reports whether s is a routable public IP address.
func publicAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() || cgnat.Contains(a))
}

func privateAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil && !publicAddr(s)
}
