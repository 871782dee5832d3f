package scope

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/report"
)

// IPRanges is AWS's published ip-ranges.json: prefixes of AWS services.
type IPRanges struct {
	prefixes []awsPrefix
}

type awsPrefix struct {
	p       netip.Prefix
	service string
}

// customerServices are ip-ranges.json services whose addresses customers
// rent (an EC2 instance of another account can receive stolen data);
// every other service's addresses are AWS endpoints.
var customerServices = map[string]bool{"AMAZON": true, "EC2": true, "GLOBALACCELERATOR": true}

// LoadIPRanges reads an AWS ip-ranges.json file.
func LoadIPRanges(file string) (*IPRanges, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read AWS ip ranges %s: %w", file, err)
	}
	r, err := ParseIPRanges(b)
	if err != nil {
		return nil, fmt.Errorf("AWS ip ranges %s: %w", file, err)
	}
	return r, nil
}

// ParseIPRanges decodes ip-ranges.json ({"prefixes":[{"ip_prefix":…,
// "service":…}], "ipv6_prefixes":[{"ipv6_prefix":…}]}).
func ParseIPRanges(b []byte) (*IPRanges, error) {
	var doc struct {
		Prefixes []struct {
			IPPrefix string `json:"ip_prefix"`
			Service  string `json:"service"`
		} `json:"prefixes"`
		IPv6Prefixes []struct {
			IPv6Prefix string `json:"ipv6_prefix"`
			Service    string `json:"service"`
		} `json:"ipv6_prefixes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not ip-ranges.json: %w", err)
	}
	r := &IPRanges{}
	for _, p := range doc.Prefixes {
		pr, err := netip.ParsePrefix(p.IPPrefix)
		if err != nil {
			return nil, fmt.Errorf("prefix %q: %w", p.IPPrefix, err)
		}
		r.prefixes = append(r.prefixes, awsPrefix{pr.Masked(), p.Service})
	}
	for _, p := range doc.IPv6Prefixes {
		pr, err := netip.ParsePrefix(p.IPv6Prefix)
		if err != nil {
			return nil, fmt.Errorf("prefix %q: %w", p.IPv6Prefix, err)
		}
		r.prefixes = append(r.prefixes, awsPrefix{pr.Masked(), p.Service})
	}
	if len(r.prefixes) == 0 {
		return nil, fmt.Errorf("no prefixes")
	}
	return r, nil
}

// Service returns the AWS service whose endpoint address a is, or "".
func (r *IPRanges) Service(a netip.Addr) string {
	if r == nil {
		return ""
	}
	for _, p := range r.prefixes {
		if !customerServices[p.service] && p.p.Contains(a) {
			return p.service
		}
	}
	return ""
}

var (
	eniRE      = regexp.MustCompile(`\beni-[0-9a-f]{8,17}\b`)
	instanceRE = regexp.MustCompile(`\bi-[0-9a-f]{8,17}\b`)
)

// links are the network identities of in-scope sessions.
type links struct {
	enis, instances, addrs map[string]string // value → why
}

// networkLinks finds interfaces, instances and private addresses tied to
// in-scope sessions: private source addresses of their calls (VPC
// endpoints), instances and interfaces named in their changing calls
// (RunInstances, CreateNetworkInterface, SSM sessions and commands, …),
// instance-profile sessions (named after the instance), notebook
// instances they used whose interfaces CloudTrail logged, and the
// --config interface inventory for resources they named.
func (b *builder) networkLinks(ctx context.Context) (*links, error) {
	l := &links{enis: map[string]string{}, instances: map[string]string{}, addrs: map[string]string{}}
	wp, wa := b.win.pred("event_time")
	cw, ca := b.ids.ctWho()
	q := `SELECT principal_arn, any_value(event_name), source_ip, session_name FROM cloudtrail WHERE ` + wp + ` AND ` + cw + `
		GROUP BY principal_arn, source_ip, session_name ORDER BY ALL`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ca)...)
	if err != nil {
		return nil, fmt.Errorf("scope network links: %w", err)
	}
	for rows.Next() {
		var who, ev, ip, sess sql.NullString
		if err := rows.Scan(&who, &ev, &ip, &sess); err != nil {
			rows.Close()
			return nil, err
		}
		if ip.Valid && privateAddr(ip.String) {
			l.addrs[ip.String] = fmt.Sprintf("%s called %s from private address %s", who.String, ev.String, ip.String)
		}
		if instanceRE.FindString(sess.String) == sess.String && sess.String != "" {
			l.instances[sess.String] = fmt.Sprintf("session %s is the instance profile of %s", who.String, sess.String)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Calls that change something name the resources the session used.
	q = `SELECT principal_arn, event_name, request_parameters, response_elements FROM cloudtrail WHERE ` + wp + ` AND ` + cw + `
		AND NOT coalesce(read_only, false) AND (request_parameters IS NOT NULL OR response_elements IS NOT NULL)
		ORDER BY event_time, source_uri, source_offset`
	rows, err = b.db.QueryContext(ctx, q, cat(wa, ca)...)
	if err != nil {
		return nil, fmt.Errorf("scope network links: %w", err)
	}
	named := map[string]string{}
	notebooks := map[string]string{}
	for rows.Next() {
		var who, ev, rp, re sql.NullString
		if err := rows.Scan(&who, &ev, &rp, &re); err != nil {
			rows.Close()
			return nil, err
		}
		why := fmt.Sprintf("%s named it in %s", who.String, ev.String)
		for _, txt := range []string{rp.String, re.String} {
			for _, m := range eniRE.FindAllString(txt, -1) {
				l.enis[m] = why
			}
			for _, m := range instanceRE.FindAllString(txt, -1) {
				l.instances[m] = why
			}
		}
		p := jsonObject(rp.String)
		for _, k := range []string{"notebookInstanceName", "functionName", "instanceId", "trainingJobName", "processingJobName", "endpointName"} {
			if v := str(get(p, k)); v != "" {
				named[v] = why
				if k == "notebookInstanceName" {
					notebooks[v] = why
				}
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(notebooks) > 0 {
		if err := b.notebookInterfaces(ctx, notebooks, l); err != nil {
			return nil, err
		}
	}
	if b.opt.Config != nil {
		for _, inv := range b.opt.Config.Interfaces {
			why, ok := named[inv.Resource]
			if !ok {
				if _, ok = l.instances[inv.Resource]; ok {
					why = l.instances[inv.Resource]
				}
			}
			if !ok {
				continue
			}
			for _, i := range inv.Interfaces {
				w := fmt.Sprintf("config inventory: %s runs on %s; %s", inv.Resource, i, why)
				if strings.HasPrefix(i, "i-") {
					l.instances[i] = w
				} else {
					l.enis[i] = w
				}
			}
		}
	}
	return l, nil
}

// notebookInterfaces finds the interfaces of notebook instances in
// CloudTrail: SageMaker's CreateNetworkInterface calls describing the
// notebook, and notebook API responses that carry NetworkInterfaceId.
func (b *builder) notebookInterfaces(ctx context.Context, nbs map[string]string, l *links) error {
	up := span{end: b.win.end}
	wp, wa := up.pred("event_time")
	var conds []string
	var args []any
	for _, n := range slicesSortedKeys(nbs) {
		conds = append(conds, "contains(request_parameters, ?)", "contains(response_elements, ?)")
		q := `"` + n + `"`
		args = append(args, q, q)
		if strings.ContainsAny(n, `"\`) {
			continue
		}
		conds = append(conds, "contains(request_parameters, ?)")
		args = append(args, "notebook instance "+n)
	}
	q := `SELECT request_parameters, response_elements FROM cloudtrail WHERE ` + wp + `
		AND event_name IN ('CreateNetworkInterface', 'DescribeNotebookInstance', 'CreateNotebookInstance', 'StartNotebookInstance', 'UpdateNotebookInstance')
		AND error_code IS NULL AND (` + strings.Join(conds, " OR ") + `)`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, args)...)
	if err != nil {
		return fmt.Errorf("scope notebook interfaces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rp, re sql.NullString
		if err := rows.Scan(&rp, &re); err != nil {
			return err
		}
		for n, why := range nbs {
			if !strings.Contains(rp.String+re.String, n) {
				continue
			}
			for _, m := range eniRE.FindAllString(re.String, -1) {
				l.enis[m] = fmt.Sprintf("interface of notebook instance %s; %s", n, why)
			}
		}
	}
	return rows.Err()
}

// egress sums flows out of in-scope interfaces, instances and addresses
// to destinations outside private ranges, the configured internal
// networks and AWS services.
func (b *builder) egress(ctx context.Context) ([]report.Egress, error) {
	l, err := b.networkLinks(ctx)
	if err != nil {
		return nil, err
	}
	out := []report.Egress{}
	if len(l.enis)+len(l.instances)+len(l.addrs) == 0 {
		return out, nil
	}
	wp, wa := b.win.pred("start_time")
	ep, ea := inList("interface_id", slices.Sorted(maps.Keys(l.enis)))
	ip, ia := inList("instance_id", slices.Sorted(maps.Keys(l.instances)))
	ap, aa := inList("src_addr", slices.Sorted(maps.Keys(l.addrs)))
	q := `SELECT interface_id, src_addr, dst_addr, dst_port, sum(bytes), min(start_time), max(end_time)
	FROM vpc_flow WHERE ` + wp + ` AND ` + or(ep, ip, ap) + `
		AND action = 'ACCEPT' AND log_status = 'OK' AND coalesce(flow_direction, 'egress') = 'egress'
		AND pkt_dst_aws_service IS NULL AND dst_addr IS NOT NULL AND bytes IS NOT NULL
	GROUP BY ALL ORDER BY min(start_time), interface_id, dst_addr, dst_port, src_addr`
	rows, err := b.db.QueryContext(ctx, q, cat(wa, ea, ia, aa)...)
	if err != nil {
		return nil, fmt.Errorf("scope egress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var eni, src, dst sql.NullString
		var port sql.NullInt64
		var n int64
		var first, last time.Time
		if err := rows.Scan(&eni, &src, &dst, &port, &n, &first, &last); err != nil {
			return nil, err
		}
		if !b.external(dst.String) || (src.Valid && !privateAddr(src.String) && l.addrs[src.String] == "") {
			continue
		}
		out = append(out, report.Egress{Interface: eni.String, SrcIP: src.String, DstIP: dst.String, DstPort: int(port.Int64),
			Bytes: n, FirstSeen: first.UTC(), LastSeen: last.UTC()})
	}
	return out, rows.Err()
}

// external reports whether a destination address is outside private and
// internal networks and AWS services.
func (b *builder) external(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || !publicAddr(s) {
		return false
	}
	a = a.Unmap()
	if b.opt.Config != nil {
		for _, p := range b.opt.Config.InternalNetworks {
			if p.Contains(a) {
				return false
			}
		}
	}
	return b.opt.AWSRanges.Service(a) == ""
}
