package fx

import "testing"

var benchSink Amount
var benchString string

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		a, err := ParseAmount("1234567.89", "EUR")
		if err != nil {
			b.Fatal(err)
		}
		benchSink = a
	}
}

func BenchmarkValue(b *testing.B) {
	a := MustCurrency("EUR").FromMinor(123456789)
	b.ReportAllocs()
	for b.Loop() {
		benchString = a.Value()
	}
}
