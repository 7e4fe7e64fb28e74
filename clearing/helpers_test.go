package clearing

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/fx"
)

// Fixtures shared by the tests: a buyer's bank in Singapore, a merchant's
// bank in Germany, and a merchant paid in USD at the German bank.

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const (
	testUETR      = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	releaseWindow = 72 * time.Hour
)

func buyerBank() Participant {
	return Participant{
		ID: "p_buyer", Kind: Bank, BIC: "DBSSSGSG", Name: "DBS Bank", Country: "SG", Jurisdiction: "SG",
		Currencies: []SettlementCurrency{{"SGD", 500_000_00}, {"USD", 1_000_000_00}, {"JPY", 50_000_000}},
		Status:     Active, CreatedAt: t0,
	}
}

func merchantBank() Participant {
	return Participant{
		ID: "p_merch", Kind: Bank, BIC: "DEUTDEFF", Name: "Deutsche Bank", Country: "DE", Jurisdiction: "DE",
		Currencies: []SettlementCurrency{{"EUR", 1_000_000_00}, {"USD", 1_000_000_00}, {"JPY", 50_000_000}},
		Status:     Active, CreatedAt: t0,
	}
}

func testMerchant() Merchant {
	return Merchant{
		ID: "m_1", Name: "Berlin Bikes GmbH", Country: "DE", Currency: "USD",
		Account: "DE89370400440532013000", BankID: "p_merch", Status: Active, CreatedAt: t0,
	}
}

func usd(minor int64) fx.Amount { return fx.MustCurrency("USD").FromMinor(minor) }

var operator = Actor{Role: RoleOperator, Subject: "k_ops"}

// held holds a USD payment of amount minor units and fails the test if
// that is refused.
func held(t *testing.T, amount int64) Payment {
	t.Helper()
	tr, err := Hold(HoldRequest{UETR: testUETR, EndToEndID: "E2E-1", Reference: "order 42", BuyerBankID: "p_buyer", MerchantID: "m_1", Amount: usd(amount)},
		buyerBank(), testMerchant(), merchantBank(), Actor{Role: RoleBank, Subject: "p_buyer"}, t0, releaseWindow)
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	return tr.Payment
}

// apply runs an action that must succeed.
func apply(t *testing.T, p Payment, a Action, now time.Time) Transition {
	t.Helper()
	tr, err := p.Apply(a, operator, now)
	if err != nil {
		t.Fatalf("%s on %s payment: %v", a.Kind, p.State, err)
	}
	return tr
}

// wantError checks that err is an *Error with this kind, code and field.
func wantError(t *testing.T, err error, kind Kind, code, field string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%s)", code, field)
	}
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *Error, want %s", err, err, code)
	}
	if e.Kind != kind || e.Code != code || e.Field != field {
		t.Fatalf("error kind=%d code=%q field=%q (%v), want kind=%d code=%q field=%q", e.Kind, e.Code, e.Field, e, kind, code, field)
	}
	if e.Msg == "" {
		t.Fatalf("error %s has no message", code)
	}
	if e.Field != "" && !strings.HasPrefix(e.Error(), e.Field+": ") {
		t.Fatalf("Error() = %q, want it to start with the field %q", e.Error(), e.Field)
	}
	return e
}

// wantRefusedUnchanged checks an illegal or refused command: an error, an
// empty transition and the payment as it was.
func wantRefusedUnchanged(t *testing.T, before, after Payment, tr Transition, err error, kind Kind, code, field string) {
	t.Helper()
	wantError(t, err, kind, code, field)
	if !reflect.DeepEqual(tr, Transition{}) {
		t.Fatalf("refused command returned a transition: %+v", tr)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("refused command changed the payment:\n before %+v\n after  %+v", before, after)
	}
}

func wantInvariant(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvariant) {
		t.Fatalf("error %v, want ErrInvariant", err)
	}
}

func fmtWrap(err error) error { return fmt.Errorf("store: %w", err) }
