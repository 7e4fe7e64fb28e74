package clearing

import "time"

// CycleState is where a settlement cycle is in its life.
//
//	open ─(close: freeze, net, open the next)─▶ closed ─(every net position settled)─▶ settled
type CycleState string

const (
	CycleOpen    CycleState = "open"
	CycleClosed  CycleState = "closed"
	CycleSettled CycleState = "settled"
)

// Cycle is a settlement cycle. Exactly one is open at a time; every ledger
// movement belongs to exactly one cycle.
type Cycle struct {
	ID        int64
	State     CycleState
	OpenedAt  time.Time
	ClosedAt  time.Time
	SettledAt time.Time
	ClosedBy  string
	Result    *NettingResult // nil while open
}

// AllSettled reports whether every net position of a closed cycle has been
// marked settled; positions with a zero net need no movement and count as settled.
func (r NettingResult) AllSettled() bool {
	for _, p := range r.Positions {
		if p.NetMinor != 0 && p.SettledAt.IsZero() {
			return false
		}
	}
	return true
}

// AccountBalance is one ledger account's lifetime balance (credits − debits).
type AccountBalance struct {
	Owner        string
	Currency     string
	BalanceMinor int64
}

// LedgerCheck is the result of checking the books.
type LedgerCheck struct {
	OK         bool
	Currencies []CurrencyCheck
	Problems   []string
}

// CurrencyCheck holds the figures checked for one currency.
type CurrencyCheck struct {
	Currency           string
	SumMinor           int64 // Σ balances over every account: must be 0
	EscrowBalanceMinor int64 // the escrow account's balance
	HeldMinor          int64 // Σ of what held and disputed payments still hold: must equal the escrow balance
	PostingsMinor      int64 // Σ balances recomputed from postings: must equal the stored balances
}
