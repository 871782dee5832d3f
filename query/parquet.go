package query

import (
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/parquet-go/parquet-go"
	pzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// Parquet writes a result as a zstd Parquet file. It is written from Go
// because the engine's locked configuration forbids COPY … TO.
const Parquet Format = "parquet"

// parquetKind is the Parquet type of a result column, inferred from its
// values: the first non-NULL value decides, and a column whose values
// disagree is written as text.
type parquetKind int

const (
	pqString parquetKind = iota
	pqInt
	pqDouble
	pqBool
	pqTime
)

func kindOf(v any) (parquetKind, bool) {
	switch v.(type) {
	case nil:
		return 0, false
	case int64, int32, int, int16, int8, uint32, uint16, uint8:
		return pqInt, true
	case float64, float32:
		return pqDouble, true
	case bool:
		return pqBool, true
	case time.Time:
		return pqTime, true
	default:
		return pqString, true
	}
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	}
	return 0
}

func renderParquet(w io.Writer, res *Result) error {
	kinds := make([]parquetKind, len(res.Columns))
	for i := range res.Columns {
		seen := false
		for _, row := range res.Rows {
			k, ok := kindOf(row[i])
			if !ok {
				continue
			}
			if seen && k != kinds[i] {
				kinds[i] = pqString
				break
			}
			kinds[i], seen = k, true
		}
	}
	// Parquet groups order fields by name; names must be unique.
	group := parquet.Group{}
	names := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		name := c
		for n := 2; ; n++ {
			if _, dup := group[name]; !dup && name != "" {
				break
			}
			name = fmt.Sprintf("%s_%d", c, n)
		}
		names[i] = name
		var node parquet.Node
		switch kinds[i] {
		case pqInt:
			node = parquet.Int(64)
		case pqDouble:
			node = parquet.Leaf(parquet.DoubleType)
		case pqBool:
			node = parquet.Leaf(parquet.BooleanType)
		case pqTime:
			node = parquet.TimestampAdjusted(parquet.Microsecond, false) // as the lake: TIMESTAMP, UTC
		default:
			node = parquet.String()
		}
		group[name] = parquet.Optional(node)
	}
	schema := parquet.NewSchema("result", group)
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	order := make([]int, 0, len(names)) // schema column → result column
	for _, path := range schema.Columns() {
		order = append(order, index[path[0]])
	}
	pw := parquet.NewWriter(w, schema,
		parquet.Compression(&pzstd.Codec{Level: pzstd.SpeedDefault}),
		parquet.CreatedBy("leakscope", "query", ""))
	batch := make([]parquet.Row, 0, 1024)
	flush := func() error {
		if _, err := pw.WriteRows(batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	for _, row := range res.Rows {
		out := make(parquet.Row, len(order))
		for j, i := range order {
			v := row[i]
			if v == nil {
				out[j] = parquet.NullValue().Level(0, 0, j)
				continue
			}
			var pv parquet.Value
			switch kinds[i] {
			case pqInt:
				pv = parquet.Int64Value(toInt64(v))
			case pqDouble:
				f, _ := v.(float64)
				if f32, ok := v.(float32); ok {
					f = float64(f32)
				}
				pv = parquet.DoubleValue(f)
			case pqBool:
				pv = parquet.BooleanValue(v.(bool))
			case pqTime:
				pv = parquet.Int64Value(v.(time.Time).UnixMicro())
			default:
				s := Text(v)
				if b, ok := v.(*big.Int); ok {
					s = b.String()
				}
				pv = parquet.ByteArrayValue([]byte(s))
			}
			out[j] = pv.Level(0, 1, j)
		}
		batch = append(batch, out)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return pw.Close()
}
