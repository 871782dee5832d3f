package vpcflow

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/leakscope/leakscope/ingest/columnar"
)

// kind is how a field's text becomes a column value.
type kind uint8

const (
	kString  kind = iota
	kAccount      // string; zero-padded to 12 digits when Parquet stores it as an integer
	kInt32
	kInt64
	kTime // Unix seconds in the log, microseconds in the lake
)

// fieldDef describes one AWS flow-log field.
type fieldDef struct {
	name   string  // AWS name, e.g. "pkt-srcaddr"
	column string  // lake column, e.g. "pkt_srcaddr"
	kind   kind    // derived from the Row field's type
	ext    bool    // a field of RowExt, not of Row
	off    uintptr // offset of the field in Row, or in RowExt (ext)
}

// fields lists every AWS field this decoder knows, v2 default order first.
// Kinds and offsets are filled in by init from the parquet tags of Row
// and RowExt.
var fields = []fieldDef{
	// v2 (default format)
	{name: "version", column: "version"},
	{name: "account-id", column: "account_id"},
	{name: "interface-id", column: "interface_id"},
	{name: "srcaddr", column: "src_addr"},
	{name: "dstaddr", column: "dst_addr"},
	{name: "srcport", column: "src_port"},
	{name: "dstport", column: "dst_port"},
	{name: "protocol", column: "protocol"},
	{name: "packets", column: "packets"},
	{name: "bytes", column: "bytes"},
	{name: "start", column: "start_time"},
	{name: "end", column: "end_time"},
	{name: "action", column: "action"},
	{name: "log-status", column: "log_status"},
	// v3
	{name: "vpc-id", column: "vpc_id"},
	{name: "subnet-id", column: "subnet_id"},
	{name: "instance-id", column: "instance_id"},
	{name: "tcp-flags", column: "tcp_flags"},
	{name: "type", column: "type"},
	{name: "pkt-srcaddr", column: "pkt_srcaddr"},
	{name: "pkt-dstaddr", column: "pkt_dstaddr"},
	// v4
	{name: "region", column: "region"},
	{name: "az-id", column: "az_id"},
	{name: "sublocation-type", column: "sublocation_type"},
	{name: "sublocation-id", column: "sublocation_id"},
	// v5
	{name: "pkt-src-aws-service", column: "pkt_src_aws_service"},
	{name: "pkt-dst-aws-service", column: "pkt_dst_aws_service"},
	{name: "flow-direction", column: "flow_direction"},
	{name: "traffic-path", column: "traffic_path"},
	// v7
	{name: "ecs-cluster-arn", column: "ecs_cluster_arn"},
	{name: "ecs-cluster-name", column: "ecs_cluster_name"},
	{name: "ecs-container-instance-arn", column: "ecs_container_instance_arn"},
	{name: "ecs-container-instance-id", column: "ecs_container_instance_id"},
	{name: "ecs-container-id", column: "ecs_container_id"},
	{name: "ecs-second-container-id", column: "ecs_second_container_id"},
	{name: "ecs-service-name", column: "ecs_service_name"},
	{name: "ecs-task-definition-arn", column: "ecs_task_definition_arn"},
	{name: "ecs-task-arn", column: "ecs_task_arn"},
	{name: "ecs-task-id", column: "ecs_task_id"},
	// v8
	{name: "reject-reason", column: "reject_reason"},
	// v6: Transit Gateway
	{name: "resource-type", column: "resource_type"},
	{name: "tgw-id", column: "tgw_id"},
	{name: "tgw-attachment-id", column: "tgw_attachment_id"},
	{name: "tgw-src-vpc-account-id", column: "tgw_src_vpc_account_id"},
	{name: "tgw-dst-vpc-account-id", column: "tgw_dst_vpc_account_id"},
	{name: "tgw-src-vpc-id", column: "tgw_src_vpc_id"},
	{name: "tgw-dst-vpc-id", column: "tgw_dst_vpc_id"},
	{name: "tgw-src-subnet-id", column: "tgw_src_subnet_id"},
	{name: "tgw-dst-subnet-id", column: "tgw_dst_subnet_id"},
	{name: "tgw-src-eni", column: "tgw_src_eni"},
	{name: "tgw-dst-eni", column: "tgw_dst_eni"},
	{name: "tgw-src-az-id", column: "tgw_src_az_id"},
	{name: "tgw-dst-az-id", column: "tgw_dst_az_id"},
	{name: "tgw-pair-attachment-id", column: "tgw_pair_attachment_id"},
	{name: "packets-lost-no-route", column: "packets_lost_no_route"},
	{name: "packets-lost-blackhole", column: "packets_lost_blackhole"},
	{name: "packets-lost-mtu-exceeded", column: "packets_lost_mtu_exceeded"},
	{name: "packets-lost-ttl-expired", column: "packets_lost_ttl_expired"},
}

// fieldID indexes fields; a layout position holding noField carries a
// field this decoder does not know (kept in extra_fields).
type fieldID = uint8

const noField fieldID = 0xff

// byName maps an AWS field name to its fieldID.
var byName = map[string]fieldID{}

// byColumnAlias maps Parquet column names (AWS Parquet delivery: the AWS
// name with '_'; or a lake column name) to the AWS field name.
var byColumnAlias = map[string]string{}

// rowFields and extFields are the fields stored in Row and in RowExt.
var rowFields, extFields []*fieldDef

func init() {
	type structField struct {
		reflect.StructField
		ext bool
	}
	cols := map[string]structField{}
	for _, st := range []reflect.Type{reflect.TypeFor[Row](), reflect.TypeFor[RowExt]()} {
		for i := range st.NumField() {
			sf := st.Field(i)
			if name, _, _ := strings.Cut(sf.Tag.Get("parquet"), ","); name != "" && name != "-" {
				cols[name] = structField{sf, st == reflect.TypeFor[RowExt]()}
			}
		}
	}
	if len(fields) >= int(noField) {
		panic("vpcflow: too many fields")
	}
	for i := range fields {
		f := &fields[i]
		sf, ok := cols[f.column]
		if !ok {
			panic("vpcflow: no Row column " + f.column)
		}
		f.off, f.ext = sf.Offset, sf.ext
		if f.ext {
			extFields = append(extFields, f)
		} else {
			rowFields = append(rowFields, f)
		}
		switch sf.Type {
		case reflect.TypeFor[string]():
			f.kind = kString
			if strings.HasSuffix(f.name, "account-id") {
				f.kind = kAccount
			}
		case reflect.TypeFor[*int32]():
			f.kind = kInt32
		case reflect.TypeFor[*int64]():
			f.kind = kInt64
			if strings.Contains(sf.Tag.Get("parquet"), "timestamp") {
				f.kind = kTime
			}
		default:
			panic("vpcflow: unexpected type for " + f.column)
		}
		byName[f.name] = fieldID(i)
		byColumnAlias[strings.ReplaceAll(f.name, "-", "_")] = f.name
		byColumnAlias[f.column] = f.name
	}
}

// layout is the order of fields in the records of one file: from a header
// line, the flow-format option, or one of AWS's default orders.
type layout struct {
	cols   []fieldID
	names  []string // as given; used for extra_fields and reasons
	extra  bool     // some position holds noField
	source string   // "header at line N", "flow-format option", "default v2 format", ...

	// The known columns of Row and of RowExt, grouped by kind (see
	// plan), so that decoder.fill runs one uniform loop per kind.
	row, ext kindCols
	// hasExt: a record of this layout gets a RowExt (it carries a field
	// stored there, or fields this decoder does not know).
	hasExt bool
	// set is the columns a record of this layout can fill: the lake
	// writer skips the others (a v2 record fills 14 of some 70).
	set *columnar.ColumnSet
}

// rowSchema is the lake schema of Row, for column sets.
var rowSchema = func() *columnar.Schema {
	s, err := columnar.SchemaOf[Row]()
	if err != nil {
		panic(err)
	}
	return s
}()

// colRef is a column of a layout: the record position of the field and
// the offset of its field in Row or RowExt.
type colRef struct {
	pos int
	off uintptr
}

// kindCols are the known columns of a layout that one struct (Row or
// RowExt) stores, grouped by kind, each group in record order.
type kindCols struct {
	strs, int32s, int64s, times []colRef
}

// plan groups the known columns of cols by struct and kind. It must be
// called again when cols change.
func (l *layout) plan() {
	l.row, l.ext = kindCols{}, kindCols{}
	l.hasExt = l.extra
	var names []string
	if l.extra {
		names = append(names, "extra_fields")
	}
	for i, id := range l.cols {
		if id == noField {
			continue
		}
		f := &fields[id]
		names = append(names, f.column)
		c := colRef{pos: i, off: f.off}
		k := &l.row
		if f.ext {
			k, l.hasExt = &l.ext, true
		}
		switch f.kind {
		case kString, kAccount:
			k.strs = append(k.strs, c)
		case kInt32:
			k.int32s = append(k.int32s, c)
		case kInt64:
			k.int64s = append(k.int64s, c)
		case kTime:
			k.times = append(k.times, c)
		}
	}
	set, err := rowSchema.Set(names...)
	if err != nil {
		panic(err) // every field names a Row column (checked by init)
	}
	l.set = set
}

// newLayout builds a layout from field names. Unknown names are allowed
// (kept in extra_fields); duplicate names are not.
func newLayout(names []string, source string) (*layout, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no fields")
	}
	if len(names) > maxFields {
		return nil, fmt.Errorf("%d fields, at most %d allowed", len(names), maxFields)
	}
	l := &layout{cols: make([]fieldID, len(names)), names: names, source: source}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("field %q named twice", n)
		}
		seen[n] = true
		id, ok := byName[n]
		if !ok {
			id = noField
			l.extra = true
		}
		l.cols[i] = id
	}
	l.plan()
	return l, nil
}

// ParseFormat parses a flow-log format string as AWS shows it
// ("${version} ${account-id} ${interface-id} ..."). Bare names separated
// by spaces are accepted too. Names this package does not know are kept
// (their values land in extra_fields); a name given twice, an empty
// format, or a token that is neither ${name} nor name is an error.
func ParseFormat(format string) ([]string, error) {
	toks := strings.Fields(format)
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty flow-log format")
	}
	names := make([]string, 0, len(toks))
	for _, t := range toks {
		n := t
		if strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}") {
			n = t[2 : len(t)-1]
		}
		if !isFieldName(n) {
			return nil, fmt.Errorf("flow-log format: %q is not a ${field-name}", t)
		}
		names = append(names, n)
	}
	if _, err := newLayout(names, ""); err != nil {
		return nil, fmt.Errorf("flow-log format: %w", err)
	}
	return names, nil
}

// isFieldName reports whether s looks like a flow-log field name:
// [a-z][a-z0-9-]*.
func isFieldName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// AWS default field orders, used for header-less records when no
// flow-format option is given: the record's field count picks one.
var (
	namesV2 = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr",
		"srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}
	namesV3 = append(namesV2[:len(namesV2):len(namesV2)],
		"vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr")
	namesV4 = append(namesV3[:len(namesV3):len(namesV3)],
		"region", "az-id", "sublocation-type", "sublocation-id")
	namesV5 = append(namesV4[:len(namesV4):len(namesV4)],
		"pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path")
	namesV7 = append(namesV5[:len(namesV5):len(namesV5)],
		"ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
		"ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
		"ecs-task-arn", "ecs-task-id")
	namesV8 = append(namesV7[:len(namesV7):len(namesV7)], "reject-reason")
	// The Transit Gateway flow-log default format (v6).
	namesTGW = []string{"version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id",
		"tgw-src-vpc-account-id", "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id",
		"tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id",
		"tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr", "dstaddr", "srcport", "dstport",
		"protocol", "packets", "bytes", "start", "end", "log-status", "type",
		"packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
		"packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction",
		"pkt-src-aws-service", "pkt-dst-aws-service"}
)

// defaults maps a field count to the AWS default layout with that count.
var defaults = map[int]*layout{}

func init() {
	for _, d := range []struct {
		names  []string
		source string
	}{
		{namesV2, "default v2 format"},
		{namesV3, "default v3 field order"},
		{namesV4, "default v4 field order"},
		{namesV5, "default v5 field order"},
		{namesTGW, "default transit gateway (v6) format"},
		{namesV7, "default v7 field order"},
		{namesV8, "default v8 field order"},
	} {
		l, err := newLayout(d.names, d.source)
		if err != nil || l.extra || defaults[len(d.names)] != nil {
			panic("vpcflow: bad default layout " + d.source)
		}
		defaults[len(d.names)] = l
	}
}
