package gateway

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/crossclear/crossclear/clearing/ratelimit"
)

// perMinute makes token buckets by identity (API key id, client address)
// of n requests a minute, burst at once.
func perMinute(n, burst int, now func() time.Time) *ratelimit.Buckets {
	return ratelimit.New(rate.Limit(float64(n)/60), burst, now)
}
