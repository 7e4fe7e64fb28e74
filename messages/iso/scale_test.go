package iso_test

import (
	"runtime"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// scaleFile is a payment file of n transactions in version name.
func scaleFile(name string, n int) []byte {
	switch name {
	case iso.Pain001v09, iso.Pain001v10:
		amounts := make([]string, n)
		for i := range amounts {
			amounts[i] = "1.00"
		}
		return isotest.Pain001Version(name[len(name)-2:], "SCALE", amounts...)
	}
	f := isotest.Pacs008{Version: name[len(name)-2:], MsgID: "SCALE", Txs: make([]isotest.Tx, n)}
	for i := range f.Txs {
		f.Txs[i] = isotest.Tx{Amount: "1.00", UETR: isotest.UETR(i + 1)}
	}
	return f.Bytes()
}

// decodeCost splits and decodes raw and returns the bytes allocated and
// the live heap the decoded message holds, per transaction.
func decodeCost(t *testing.T, raw []byte, n int) (allocPerTx, livePerTx float64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := iso.DecodeBytes(raw, iso.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(m.Transactions) != n {
		t.Fatalf("%d transactions", len(m.Transactions))
	}
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(m)
	return float64(alloc) / float64(n), float64(max(live, 0)) / float64(n)
}

// TestDecodeCostIsPerTransaction: every payment version crossclear takes
// in goes through the same one-pass cut (walk.go) as pacs.008.001.08,
// block by block: a file of 10,000 transactions costs per transaction
// what one of 1,000 does (no whole-document tree, nothing quadratic), and
// pain.001.001.09 and pacs.008.001.10 cost about what pacs.008.001.08
// does.
func TestDecodeCostIsPerTransaction(t *testing.T) {
	base, _ := decodeCost(t, scaleFile(iso.Pacs008v08, 10_000), 10_000)
	// .11 and pain.001.001.10 take the same code as .10 and .09.
	for _, name := range []string{iso.Pacs008v10, iso.Pain001v09} {
		small, _ := decodeCost(t, scaleFile(name, 1_000), 1_000)
		big, live := decodeCost(t, scaleFile(name, 10_000), 10_000)
		t.Logf("%s: %.0f B allocated per transaction at 1,000, %.0f at 10,000; %.0f B live per decoded transaction", name, small, big, live)
		if big > 1.5*small {
			t.Errorf("%s: %.0f B per transaction at 10,000 against %.0f at 1,000: decoding does not scale per transaction", name, big, small)
		}
		if big > 2.5*base {
			t.Errorf("%s: %.0f B per transaction against %.0f for %s", name, big, base, iso.Pacs008v08)
		}
	}
}

// BenchmarkDecode10k decodes a file of 10,000 transactions per version.
//
//	go test -run '^$' -bench Decode10k -benchmem ./messages/iso/
func BenchmarkDecode10k(b *testing.B) {
	for _, name := range []string{iso.Pacs008v08, iso.Pacs008v10, iso.Pain001v09} {
		raw := scaleFile(name, 10_000)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iso.DecodeBytes(raw, iso.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
