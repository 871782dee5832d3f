package vpcflow

import (
	"unsafe"

	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/columnar"
)

// Row is one flow-log record as stored in the lake table "vpc_flow".
//
// Column names are fixed by SPEC §3: the AWS field name with '-' replaced
// by '_', except srcaddr/dstaddr/srcport/dstport/start/end, which become
// src_addr/dst_addr/src_port/dst_port/start_time/end_time. A field the
// record's format does not carry, or that AWS wrote as "-", is NULL.
// Numbers are nullable because NODATA/SKIPDATA records and custom formats
// leave them out; 0 is a real value (ICMP ports).
type Row struct {
	Version     *int32 `parquet:"version"`
	AccountID   string `parquet:"account_id,optional,dict"`
	InterfaceID string `parquet:"interface_id,optional,dict"`
	SrcAddr     string `parquet:"src_addr,optional"`
	DstAddr     string `parquet:"dst_addr,optional"`
	SrcPort     *int32 `parquet:"src_port"`
	DstPort     *int32 `parquet:"dst_port"`
	Protocol    *int32 `parquet:"protocol"`
	Packets     *int64 `parquet:"packets"`
	Bytes       *int64 `parquet:"bytes"`
	StartTime   *int64 `parquet:"start_time,timestamp(microsecond:local)"`
	EndTime     *int64 `parquet:"end_time,timestamp(microsecond:local)"`
	Action      string `parquet:"action,optional,dict"`
	LogStatus   string `parquet:"log_status,optional,dict"`

	// v3
	VPCID      string `parquet:"vpc_id,optional,dict"`
	SubnetID   string `parquet:"subnet_id,optional,dict"`
	InstanceID string `parquet:"instance_id,optional,dict"`
	TCPFlags   *int32 `parquet:"tcp_flags"`
	Type       string `parquet:"type,optional,dict"`
	PktSrcAddr string `parquet:"pkt_srcaddr,optional"`
	PktDstAddr string `parquet:"pkt_dstaddr,optional"`

	// v4
	Region          string `parquet:"region,optional,dict"`
	AZID            string `parquet:"az_id,optional,dict"`
	SublocationType string `parquet:"sublocation_type,optional,dict"`
	SublocationID   string `parquet:"sublocation_id,optional,dict"`

	// v5
	PktSrcAWSService string `parquet:"pkt_src_aws_service,optional,dict"`
	PktDstAWSService string `parquet:"pkt_dst_aws_service,optional,dict"`
	FlowDirection    string `parquet:"flow_direction,optional,dict"`
	TrafficPath      *int32 `parquet:"traffic_path"`

	// Ext holds the columns of the rarer formats (v6 Transit Gateway, v7
	// ECS, v8) and extra_fields, which sit here in the table. The decoder
	// sets it when the record's layout carries one of them; when it is
	// nil they are all NULL. Kept out of line, they leave the row of a
	// v2–v5 record half the size. The lake writer reads them in place
	// (see columnar.Schema).
	Ext *RowExt `columnar:"inline"`

	SourceURI    string `parquet:"source_uri,dict"`
	SourceOffset int64  `parquet:"source_offset"`
	// SourceLine is the 1-based line of the record in the decompressed
	// object; for Parquet objects the 1-based row number.
	SourceLine int64 `parquet:"source_line"`

	// Not stored: set by the decoder for the lake writer.
	Hash    ingest.Hash `parquet:"-"`
	PartAcc string      `parquet:"-"` // partition account
	PartReg string      `parquet:"-"` // partition region
	// cols is the set of columns the record's layout can fill (nil:
	// any); see Columns.
	cols *columnar.ColumnSet `parquet:"-"`
}

// RowExt is the part of a Row that few records fill: the fields of the
// Transit Gateway (v6), ECS (v7) and v8 formats and the fields this
// decoder does not know. Its columns are columns of "vpc_flow", in this
// order, at the place of Row.Ext.
type RowExt struct {
	// v6: Transit Gateway flow logs
	ResourceType           string `parquet:"resource_type,optional,dict"`
	TGWID                  string `parquet:"tgw_id,optional,dict"`
	TGWAttachmentID        string `parquet:"tgw_attachment_id,optional,dict"`
	TGWSrcVPCAccountID     string `parquet:"tgw_src_vpc_account_id,optional,dict"`
	TGWDstVPCAccountID     string `parquet:"tgw_dst_vpc_account_id,optional,dict"`
	TGWSrcVPCID            string `parquet:"tgw_src_vpc_id,optional,dict"`
	TGWDstVPCID            string `parquet:"tgw_dst_vpc_id,optional,dict"`
	TGWSrcSubnetID         string `parquet:"tgw_src_subnet_id,optional,dict"`
	TGWDstSubnetID         string `parquet:"tgw_dst_subnet_id,optional,dict"`
	TGWSrcENI              string `parquet:"tgw_src_eni,optional"`
	TGWDstENI              string `parquet:"tgw_dst_eni,optional"`
	TGWSrcAZID             string `parquet:"tgw_src_az_id,optional,dict"`
	TGWDstAZID             string `parquet:"tgw_dst_az_id,optional,dict"`
	TGWPairAttachmentID    string `parquet:"tgw_pair_attachment_id,optional,dict"`
	PacketsLostNoRoute     *int64 `parquet:"packets_lost_no_route"`
	PacketsLostBlackhole   *int64 `parquet:"packets_lost_blackhole"`
	PacketsLostMTUExceeded *int64 `parquet:"packets_lost_mtu_exceeded"`
	PacketsLostTTLExpired  *int64 `parquet:"packets_lost_ttl_expired"`

	// v7: ECS
	ECSClusterARN           string `parquet:"ecs_cluster_arn,optional,dict"`
	ECSClusterName          string `parquet:"ecs_cluster_name,optional,dict"`
	ECSContainerInstanceARN string `parquet:"ecs_container_instance_arn,optional,dict"`
	ECSContainerInstanceID  string `parquet:"ecs_container_instance_id,optional,dict"`
	ECSContainerID          string `parquet:"ecs_container_id,optional"`
	ECSSecondContainerID    string `parquet:"ecs_second_container_id,optional"`
	ECSServiceName          string `parquet:"ecs_service_name,optional,dict"`
	ECSTaskDefinitionARN    string `parquet:"ecs_task_definition_arn,optional,dict"`
	ECSTaskARN              string `parquet:"ecs_task_arn,optional"`
	ECSTaskID               string `parquet:"ecs_task_id,optional"`

	// v8
	RejectReason string `parquet:"reject_reason,optional,dict"`

	// ExtraFields keeps fields this decoder does not know (a header or
	// format naming a newer AWS field) as a JSON object name → value, so
	// nothing the record said is lost.
	ExtraFields string `parquet:"extra_fields,optional"`
}

// Columns implements columnar.Sparse: the lake writer skips the columns
// the record's format does not carry.
func (r *Row) Columns() *columnar.ColumnSet { return r.cols }

// LakePartition implements ingest.Row.
func (r *Row) LakePartition() ingest.Partition {
	return ingest.Partition{
		Account: r.PartAcc,
		Region:  r.PartReg,
		Date:    ingest.DateOf(r.SortTime()),
	}
}

// SortTime implements ingest.Row: start_time, or end_time when the record
// has no start (the decoder quarantines records with neither).
func (r *Row) SortTime() int64 {
	if r.StartTime != nil {
		return *r.StartTime
	}
	if r.EndTime != nil {
		return *r.EndTime
	}
	return 0
}

// Fingerprint implements ingest.Row.
func (r *Row) Fingerprint() ingest.Hash { return r.Hash }

// Origin implements ingest.Row.
func (r *Row) Origin() (string, int64) { return r.SourceURI, r.SourceOffset }

// SetSourceURI implements ingest.Row.
func (r *Row) SetSourceURI(uri string) { r.SourceURI = uri }

// MemSize estimates the bytes the row holds in memory, so the lake writer
// can bound what it buffers: the struct, its strings (which share the
// decoder's read buffers) and its numbers, and the same for Ext.
func (r *Row) MemSize() int {
	n := int(unsafe.Sizeof(*r)) + fieldsMemSize(unsafe.Pointer(r), rowFields)
	if x := r.Ext; x != nil {
		n += int(unsafe.Sizeof(*x)) + fieldsMemSize(unsafe.Pointer(x), extFields) + len(x.ExtraFields)
	}
	return n
}

// fieldsMemSize is the string bytes of the fields fs of the struct at p,
// plus 8 per number field.
func fieldsMemSize(p unsafe.Pointer, fs []*fieldDef) int {
	n := 0
	for _, f := range fs {
		switch f.kind {
		case kString, kAccount:
			n += len(*(*string)(unsafe.Add(p, f.off)))
		default:
			n += 8
		}
	}
	return n
}
