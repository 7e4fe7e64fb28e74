package fx

import (
	"bytes"
	"testing"
	"time"
)

var benchQuote Quote

// reportPerSecond reports n operations over the benchmark's elapsed time as
// unit (e.g. "quotes/s"). A benchmark metric, not money: testing.B takes it
// as a floating-point number, reached here through Duration.Seconds.
func reportPerSecond(b *testing.B, n int, unit string) {
	if el := b.Elapsed(); el > 0 {
		b.ReportMetric((time.Duration(n)*time.Second/el).Seconds()*1e9, unit)
	}
}

// BenchmarkQuoteSell is the quote hot path: a cross-rate lookup (USD/JPY:
// USD/EUR inverted, then EUR/JPY) in a book holding the ECB sample, then a
// QuoteSell of 1234.56 USD with a 30 bps spread.
func BenchmarkQuoteSell(b *testing.B) {
	book := ecbBook(b)
	sell := MustCurrency("USD").FromMinor(123456)
	pair := Pair{"USD", "JPY"}
	now := t0.Add(time.Hour)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		conv, err := book.Lookup(pair, SourceECB, now, 0)
		if err != nil {
			b.Fatal(err)
		}
		q, err := QuoteSell(conv, sell, 30, "acme", "bank-a", now, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		benchQuote = q
		n++
	}
	reportPerSecond(b, n, "quotes/s")
}

// BenchmarkQuoteSellParallel is BenchmarkQuoteSell on every CPU: lookups read
// the book's snapshot without locking.
func BenchmarkQuoteSellParallel(b *testing.B) {
	book := ecbBook(b)
	sell := MustCurrency("USD").FromMinor(123456)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			conv, err := book.Lookup(Pair{"USD", "JPY"}, SourceECB, now, 0)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := QuoteSell(conv, sell, 30, "acme", "bank-a", now, 30*time.Second); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportPerSecond(b, b.N, "quotes/s")
}

func BenchmarkQuoteBuy(b *testing.B) {
	book := ecbBook(b)
	buy := MustCurrency("USD").FromMinor(50000)
	now := t0.Add(time.Hour)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		conv, err := book.Lookup(Pair{"JPY", "USD"}, SourceECB, now, 0)
		if err != nil {
			b.Fatal(err)
		}
		q, err := QuoteBuy(conv, buy, 50, "acme", "bank-a", now, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		benchQuote = q
		n++
	}
	reportPerSecond(b, n, "quotes/s")
}

func BenchmarkParseECB(b *testing.B) {
	data := readSample(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rates, err := ParseECB(bytes.NewReader(data), 48*time.Hour)
		if err != nil || len(rates) != 29 {
			b.Fatal(len(rates), err)
		}
	}
}
