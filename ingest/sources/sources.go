package sources

import (
	"github.com/leakscope/leakscope/ingest"
	"github.com/leakscope/leakscope/ingest/cloudtrail"
	"github.com/leakscope/leakscope/ingest/s3access"
	"github.com/leakscope/leakscope/ingest/vpcflow"
)

// All returns every source.
func All() []ingest.Source {
	return []ingest.Source{
		ingest.NewSource(cloudtrail.Spec()),
		ingest.NewSource(s3access.Spec()),
		ingest.NewSource(vpcflow.Spec()),
	}
}
