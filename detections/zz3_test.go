package detections

import (
	"context"
	"os"
	"testing"
)

func TestZZDebug(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	data, _ := os.ReadFile("/work/shared/corpus/sigma/aws_enum_buckets.yml")
	r, err := CompileSigma(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	eng := openLake(t, "/tmp/lsdemo/lake")
	conn, _ := eng.DB().Conn(context.Background())
	ps, args, _ := paramsSQL(&r, Window{})
	if _, err := conn.ExecContext(context.Background(), ps, args...); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(context.Background(), "SELECT finding_id, detection_id, typeof(finding_id) FROM ("+r.SQL+") LIMIT 40")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c any
		rows.Scan(&a, &b, &c)
		t.Logf("%#v %#v %v", a, b, c)
	}
	t.Log(rows.Err())
}
