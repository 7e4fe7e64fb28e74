package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crossclear/crossclear/clearing"
)

// EscrowNow is what escrow holds now for payments of one currency and age
// bucket: the operator's view of money waiting for goods.
type EscrowNow struct {
	Currency    string
	Bucket      int // index into the ageing limits; len(limits) for older
	Count       int64
	AmountMinor int64
}

// EscrowAgeing is escrow now by currency and age (now minus the hold
// time), ageing being the buckets' ascending upper limits.
func (s *Store) EscrowAgeing(ctx context.Context, now time.Time, ageing []time.Duration) ([]EscrowNow, error) {
	var bucket strings.Builder
	args := []any{}
	bucket.WriteString("CASE")
	for i, limit := range ageing {
		if i > 0 && limit <= ageing[i-1] {
			return nil, fmt.Errorf("escrow ageing limits must ascend: %v", ageing)
		}
		fmt.Fprintf(&bucket, " WHEN created_at > ? THEN %d", i)
		args = append(args, now.Add(-limit))
	}
	fmt.Fprintf(&bucket, " ELSE %d END", len(ageing))
	args = append(args, clearing.Held, clearing.Disputed)
	var out []EscrowNow
	err := s.conn(ctx).NewRaw(`SELECT currency, bucket, COUNT(*) AS count, SUM(remaining) AS amount_minor FROM (
		SELECT currency, `+bucket.String()+` AS bucket, amount_minor - released_minor - refunded_minor AS remaining
		FROM payments WHERE state IN (?, ?)
	) t GROUP BY currency, bucket ORDER BY currency, bucket`, args...).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("escrow ageing: %w", err)
	}
	return out, nil
}
