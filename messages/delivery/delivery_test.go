package delivery

import (
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://bank.example/hooks": true, "http://127.0.0.1:9000/h": true, "http://localhost/h": true, "http://[::1]/h": true,
		"http://dev.internal/h": true, "http://other.example/h": false, "https://u:p@bank.example/": false, "ftp://x/": false, "/relative": false,
	} {
		if err := CheckURL(raw, []string{"dev.internal"}); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v; want ok %v", raw, err, ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 5*time.Second, time.Minute
	if got := []time.Duration{Exponential(1, lo, hi), Exponential(2, lo, hi), Exponential(5, lo, hi), Exponential(50, lo, hi)}; got[0] != lo || got[1] != 10*time.Second || got[2] != hi || got[3] != hi {
		t.Fatalf("exponential %v", got)
	}
	for attempt := 1; attempt < 10; attempt++ {
		for i := 0; i < 100; i++ {
			if d := FullJitter(attempt, lo, hi); d < lo || d > Exponential(attempt, lo, hi) {
				t.Fatalf("jitter %v outside [%v, %v]", d, lo, Exponential(attempt, lo, hi))
			}
		}
	}
}
