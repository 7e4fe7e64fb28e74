package store_test

import (
	"testing"
	"time"
)

// TestInsertRowsWritesAsBun: a row inserted as a batch's rows are (as
// arrays on PostgreSQL) reads back as the same row inserted through bun
// does — invalid UTF-8 replaced, a time at the microsecond, in UTC — and
// a NUL is refused by both.
func TestInsertRowsWritesAsBun(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		p := e.hold(t, 1, 0, "10.00")
		at := time.Date(2026, 12, 6, 14, 15, 16, 123456789, time.FixedZone("CET", 3600))
		reason := "bad \xff\xfe bytes, 日本 😀, 'quoted'"
		for seq, viaBun := range map[int]bool{100: true, 101: false} {
			if err := e.s.InsertEvent(ctx, viaBun, p.ID, seq, reason, at); err != nil {
				t.Fatalf("via bun %v: %v", viaBun, err)
			}
			if err := e.s.InsertEvent(ctx, viaBun, p.ID, seq+10, "nul \x00 here", at); err == nil {
				t.Errorf("via bun %v: a NUL was written", viaBun)
			}
		}
		_, events, err := e.s.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		byBun, bulk := events[len(events)-2], events[len(events)-1]
		if byBun.Seq != 100 || bulk.Seq != 101 {
			t.Fatalf("events %+v", events)
		}
		byBun.Seq = bulk.Seq
		if byBun != bulk {
			t.Errorf("inserted as bun does: %+v\n                as a batch:  %+v", byBun, bulk)
		}
		if bulk.Reason != "bad \uFFFD\uFFFD bytes, 日本 😀, 'quoted'" || !bulk.At.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("read back %q at %s", bulk.Reason, bulk.At)
		}
	})
}
