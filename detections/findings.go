package detections

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/parquet-go/parquet-go"
	pzstd "github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/leakscope/leakscope/query"
)

// Columns are the findings columns every rule returns, in this order.
var Columns = []string{
	"finding_id", "detection_id", "title", "severity", "event_time",
	"actor_arn", "source_ip", "account_id", "region", "operation",
	"resource", "attack_ids", "evidence", "source_uri",
}

// Finding is one row of the findings table. The lake adds the Hive
// column date (of event_time).
type Finding struct {
	FindingID   string `parquet:"finding_id" json:"finding_id"`
	DetectionID string `parquet:"detection_id,dict" json:"detection_id"`
	Title       string `parquet:"title,dict" json:"title"`
	Severity    string `parquet:"severity,dict" json:"severity"`
	EventTime   int64  `parquet:"event_time,timestamp(microsecond:local)" json:"-"`
	ActorARN    string `parquet:"actor_arn,optional" json:"actor_arn"`
	SourceIP    string `parquet:"source_ip,optional" json:"source_ip"`
	AccountID   string `parquet:"account_id,optional,dict" json:"account_id"`
	Region      string `parquet:"region,optional,dict" json:"region"`
	Operation   string `parquet:"operation,optional,dict" json:"operation"`
	Resource    string `parquet:"resource,optional" json:"resource"`
	AttackIDs   string `parquet:"attack_ids,optional,dict" json:"attack_ids"`
	Evidence    string `parquet:"evidence,optional" json:"evidence"`
	SourceURI   string `parquet:"source_uri,optional" json:"source_uri"`
	// Run is the detect run that first recorded the finding.
	Run string `parquet:"run,dict" json:"run"`
}

// Time is the finding's event time.
func (f *Finding) Time() time.Time { return time.UnixMicro(f.EventTime).UTC() }

// FindingsTable is the lake table "findings" for query.Open; it exists
// (empty) before the first detect run.
func FindingsTable() query.Table {
	return query.Table{
		Name:       "findings",
		Partitions: []query.Partition{{Name: "date", Type: "DATE"}},
		Empty:      func(w io.Writer) error { return parquet.NewGenericWriter[Finding](w).Close() },
	}
}

// Result renders findings as a query result (the findings columns).
func Result(fs []Finding) *query.Result {
	res := &query.Result{Columns: Columns}
	for _, f := range fs {
		res.Rows = append(res.Rows, []any{f.FindingID, f.DetectionID, f.Title, f.Severity, f.Time(),
			f.ActorARN, f.SourceIP, f.AccountID, f.Region, f.Operation, f.Resource, f.AttackIDs,
			f.Evidence, f.SourceURI})
	}
	return res
}

// WriteFindings appends findings to LAKE/findings/date=D/<run>.parquet,
// one zstd file per date, each written to a temporary file in its folder,
// synced and renamed. Callers pass only findings not yet recorded.
func WriteFindings(lake, run, toolVersion string, fs []Finding) (files []string, err error) {
	byDate := map[string][]Finding{}
	for _, f := range fs {
		d := f.Time().Format(time.DateOnly)
		f.Run = run
		byDate[d] = append(byDate[d], f)
	}
	dates := make([]string, 0, len(byDate))
	for d := range byDate {
		dates = append(dates, d)
	}
	sort.Strings(dates)
	for _, d := range dates {
		rows := byDate[d]
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].EventTime != rows[j].EventTime {
				return rows[i].EventTime < rows[j].EventTime
			}
			return rows[i].FindingID < rows[j].FindingID
		})
		dir := filepath.Join(lake, "findings", "date="+d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return files, fmt.Errorf("write findings: %w", err)
		}
		final := filepath.Join(dir, run+".parquet")
		if err := writeParquet(dir, final, toolVersion, run, rows); err != nil {
			return files, fmt.Errorf("write findings %s: %w", final, err)
		}
		files = append(files, final)
	}
	return files, nil
}

func writeParquet(dir, final, toolVersion, run string, rows []Finding) error {
	f, err := os.CreateTemp(dir, ".tmp-*.parquet")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	pw := parquet.NewGenericWriter[Finding](f,
		parquet.Compression(&pzstd.Codec{Level: pzstd.SpeedDefault}),
		parquet.KeyValueMetadata("leakscope.version", toolVersion),
		parquet.KeyValueMetadata("leakscope.run", run),
		parquet.KeyValueMetadata("leakscope.table", "findings"),
	)
	if _, err := pw.Write(rows); err != nil {
		f.Close()
		return err
	}
	if err := pw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// RunID names a detect run: UTC start time plus a digest of what it found.
func RunID(start time.Time, fs []Finding) string {
	h := sha256.New()
	for _, f := range fs {
		io.WriteString(h, f.FindingID)
	}
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(h.Sum(nil))[:8]
}
