package columnar

import (
	"bytes"
	"testing"
)

// A file suspended between row groups, with the writers writing other
// files meanwhile, and resumed by another writer is the file one writer
// writes in one go.
func TestSuspendResume(t *testing.T) {
	rows := testRows(9000)
	o := Options{RowGroupRows: 4000, Bloom: []string{"id"}, SortedBy: "event_time"}
	kv := []KeyValue{{"k", "v"}}
	one, err := NewWriter[testRow](o)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := one.Begin(&want); err != nil {
		t.Fatal(err)
	}
	for _, part := range [][]*testRow{rows[:2500], rows[2500:7000], rows[7000:]} {
		if err := one.WriteRows(part); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := one.End(kv); err != nil {
		t.Fatal(err)
	}

	w1, _ := NewWriter[testRow](o)
	w2, _ := NewWriter[testRow](o)
	var got bytes.Buffer
	if err := w1.Begin(&got); err != nil {
		t.Fatal(err)
	}
	if err := w1.WriteRows(rows[:2500]); err != nil {
		t.Fatal(err)
	}
	st := w1.Suspend()
	if st.Rows() != 2500 || st.Size() != int64(got.Len()) {
		t.Fatalf("suspended at %d rows, %d bytes; wrote %d bytes", st.Rows(), st.Size(), got.Len())
	}
	var other bytes.Buffer // both writers write another file meanwhile
	if _, err := w1.Write(&other, rows[100:900], nil); err != nil {
		t.Fatal(err)
	}
	w2.Resume(&got, st)
	if err := w2.WriteRows(rows[2500:7000]); err != nil {
		t.Fatal(err)
	}
	st = w2.Suspend()
	if _, err := w2.Write(&other, rows[5:50], nil); err != nil {
		t.Fatal(err)
	}
	w1.Resume(&got, st)
	if err := w1.WriteRows(rows[7000:]); err != nil {
		t.Fatal(err)
	}
	if _, err := w1.End(kv); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("resumed file differs: %d bytes, want %d", got.Len(), want.Len())
	}
}
