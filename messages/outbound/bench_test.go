package outbound_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crossclear/crossclear/messages/outbound"
)

// benchCycle is a cycle of banks × currencies: per bank and currency a
// net position, a statement of entriesPer postings, and creditsPer
// merchant credits of paymentsPer payments each.
func benchCycle(banks int, currencies []string, entriesPer, creditsPer, paymentsPer int) outbound.Cycle {
	c := outbound.Cycle{ID: 4242, OpenedAt: opened, ClosedAt: closed, Operator: operator}
	for _, ccy := range currencies {
		c.Settlement = append(c.Settlement, outbound.SettlementAccount{Currency: ccy, Agent: "MARKDEFF", Account: "XCLR-SETTLEMENT-" + ccy})
	}
	n := 0
	for b := range banks {
		bank := fmt.Sprintf("B%03dDEFF", b)
		for _, ccy := range currencies {
			st := outbound.Statement{Bank: bank, BankName: "Bank " + bank, Opening: money(int64(b)*1000, ccy)}
			var net int64
			for e := range entriesPer {
				n++
				minor := int64(1000 + n%997)
				kind := "release"
				if (b+e)%2 == 0 {
					minor, kind = -minor, "hold"
				}
				net += minor
				st.Entries = append(st.Entries, outbound.Entry{Ref: fmt.Sprintf("pst_%d", n), Kind: kind, Amount: money(minor, ccy),
					BookedAt: opened.Add(time.Duration(e) * time.Minute), UETR: uuid(n), EndToEndID: fmt.Sprintf("ORDER-%d", n)})
			}
			c.Statements = append(c.Statements, st)
			c.Positions = append(c.Positions, outbound.Position{Bank: bank, Net: money(net, ccy)})
			for m := range creditsPer {
				mc := outbound.MerchantCredit{Bank: bank, MerchantID: fmt.Sprintf("mer_%d_%s_%d", b, ccy, m), MerchantName: fmt.Sprintf("Merchant %d", m),
					Account: fmt.Sprintf("DE%020d", b*100+m)}
				for range paymentsPer {
					n++
					mc.Payments = append(mc.Payments, outbound.CreditedPayment{UETR: uuid(n), EndToEndID: fmt.Sprintf("ORDER-%d", n), Amount: money(int64(100+n%5000), ccy)})
				}
				c.MerchantCredits = append(c.MerchantCredits, mc)
			}
		}
	}
	return c
}

func uuid(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

// BenchmarkBuildCycle: a cycle's outbound files for 1,000 banks in 5
// currencies (5,000 pacs.009, 5,000 camt.053 of 20 entries, 5,000 camt.054
// of 2 merchant credits of 5 payments), encoded and checked.
//
//	go test -run XXX -bench BuildCycle -benchmem ./messages/outbound
func BenchmarkBuildCycle(b *testing.B) {
	c := benchCycle(1000, []string{"EUR", "USD", "SGD", "JPY", "GBP"}, 20, 2, 5)
	files, err := outbound.BuildCycle(c, outbound.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range files {
		size += int64(len(f.Content))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := outbound.BuildCycle(c, outbound.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(files))*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(len(files)), "files/op")
}
