package columnar

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// roundTrip encodes rows into one buffer and decodes them back.
func roundTrip[R any](t *testing.T, rows []*R) []*R {
	t.Helper()
	c, err := NewCodec[R]()
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for _, r := range rows {
		buf = c.Append(buf, r)
	}
	d := c.NewDecoder()
	out := make([]*R, len(rows))
	n := 0
	for i := range out {
		out[i] = new(R)
		k, err := d.Decode(buf[n:], out[i])
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		n += k
	}
	if n != len(buf) {
		t.Fatalf("decoded %d of %d bytes", n, len(buf))
	}
	return out
}

// A decoded row holds every column's value, NULLs included, so the file
// written from decoded rows is the file written from the originals.
func TestCodecRoundTrip(t *testing.T) {
	rows := testRows(5000)
	got := roundTrip(t, rows)
	for i := range rows {
		want := *rows[i]
		want.Internal = 0 // not a column: not kept
		if !reflect.DeepEqual(*got[i], want) {
			t.Fatalf("row %d: got %+v, want %+v", i, *got[i], want)
		}
	}
	o := Options{RowGroupRows: 1000, Bloom: []string{"id"}}
	if a, b := writeRowsTo(t, rows, o), writeRowsTo(t, got, o); !bytes.Equal(a, b) {
		t.Fatal("file written from decoded rows differs")
	}
}

func TestCodecInline(t *testing.T) {
	rows := inlineRows(3000)
	got := roundTrip(t, rows)
	for i := range rows {
		if g, w := got[i].flat(), rows[i].flat(); !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d: got %+v, want %+v", i, g, w)
		}
		if (got[i].Ext == nil) != (rows[i].Ext == nil) {
			t.Fatalf("row %d: inline presence changed", i)
		}
	}
	if a, b := writeRowsTo(t, rows, Options{}), writeRowsTo(t, got, Options{}); !bytes.Equal(a, b) {
		t.Fatal("file written from decoded rows differs")
	}
}

// Every cut of an encoding is an error, never a panic or a wrong row.
func TestCodecShort(t *testing.T) {
	c, err := NewCodec[inlineRow]()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range inlineRows(50) {
		enc := c.Append(nil, r)
		for cut := range len(enc) {
			var out inlineRow
			if _, err := c.NewDecoder().Decode(enc[:cut], &out); !errors.Is(err, errShort) {
				t.Fatalf("cut at %d of %d: err %v", cut, len(enc), err)
			}
		}
	}
}
