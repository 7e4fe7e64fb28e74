package clearing

import (
	"fmt"
	"testing"
)

func TestActorPermissions(t *testing.T) {
	p := Payment{
		ID: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_1", MerchantBankID: "p_merch",
		BuyerJurisdiction: "SG", MerchantJurisdiction: "DE", Currency: "USD", AmountMinor: 100, State: Held,
	}
	type verdict int
	const (
		hidden    verdict = iota // NotFound: the actor may not know the payment exists
		forbidden                // Forbidden: it sees the payment but may not do this
		allowed
	)
	actions := []ActionKind{ActionRelease, ActionDispute, ActionRefund, ActionResolve, "cancel"}
	tests := []struct {
		name  string
		actor Actor
		see   bool
		want  map[ActionKind]verdict // missing actions: forbidden when it sees, hidden when not
	}{
		{"operator", Actor{RoleOperator, "k_ops"}, true, map[ActionKind]verdict{ActionRelease: allowed, ActionDispute: allowed, ActionRefund: allowed, ActionResolve: allowed, "cancel": allowed}},
		{"system", AutoReleaseWorker, true, map[ActionKind]verdict{ActionRelease: allowed, ActionDispute: allowed, ActionRefund: allowed, ActionResolve: allowed, "cancel": allowed}},
		{"buyer's bank", Actor{RoleBank, "p_buyer"}, true, map[ActionKind]verdict{ActionRelease: allowed, ActionDispute: allowed}},
		{"merchant's bank", Actor{RoleBank, "p_merch"}, true, map[ActionKind]verdict{ActionRefund: allowed}},
		{"other bank", Actor{RoleBank, "p_other"}, false, nil},
		{"bank with the merchant's id", Actor{RoleBank, "m_1"}, false, nil},
		{"bank with a jurisdiction", Actor{RoleBank, "SG"}, false, nil},
		{"bank without subject", Actor{RoleBank, ""}, false, nil},
		{"merchant", Actor{RoleMerchant, "m_1"}, true, map[ActionKind]verdict{ActionRefund: allowed}},
		{"other merchant", Actor{RoleMerchant, "m_2"}, false, nil},
		{"merchant with its bank's id", Actor{RoleMerchant, "p_merch"}, false, nil},
		{"regulator of the buyer", Actor{RoleRegulator, "SG"}, true, nil},
		{"regulator of the merchant", Actor{RoleRegulator, "DE"}, true, nil},
		{"regulator elsewhere", Actor{RoleRegulator, "FR"}, false, nil},
		{"regulator of a subdivision", Actor{RoleRegulator, "SG-01"}, false, nil},
		{"regulator with a bank id", Actor{RoleRegulator, "p_buyer"}, false, nil},
		{"regulator without subject", Actor{RoleRegulator, ""}, false, nil},
		{"no role", Actor{"", "p_buyer"}, false, nil},
		{"unknown role", Actor{"admin", "k_ops"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.actor.CanSee(p); got != tt.see {
				t.Fatalf("CanSee = %v, want %v", got, tt.see)
			}
			for _, k := range actions {
				want, ok := tt.want[k]
				if !ok {
					want = hidden
					if tt.see {
						want = forbidden
					}
				}
				err := tt.actor.Permit(p, k)
				switch want {
				case allowed:
					if err != nil {
						t.Errorf("%s: %v", k, err)
					}
				case forbidden:
					wantError(t, err, Forbidden, "action_not_permitted", "")
				case hidden:
					e := wantError(t, err, NotFound, "payment_not_found", "id")
					if e.Msg != "no payment "+p.ID {
						t.Errorf("%s: a hidden payment leaks more than its id: %q", k, e.Msg)
					}
				}
			}
			if tt.actor.Role == RoleRegulator {
				for _, k := range actions {
					if tt.actor.Permit(p, k) == nil {
						t.Errorf("regulator may %s", k)
					}
				}
			}
		})
	}
}

// When one bank services both the buyer and the merchant it has both
// sides' rights, but still cannot resolve a dispute.
func TestActorSameBankBothSides(t *testing.T) {
	p := Payment{ID: testUETR, BuyerBankID: "p_x", MerchantBankID: "p_x", MerchantID: "m_1", BuyerJurisdiction: "SG", MerchantJurisdiction: "SG"}
	a := Actor{RoleBank, "p_x"}
	for k, ok := range map[ActionKind]bool{ActionRelease: true, ActionDispute: true, ActionRefund: true, ActionResolve: false} {
		err := a.Permit(p, k)
		if ok && err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if !ok {
			wantError(t, err, Forbidden, "action_not_permitted", "")
		}
	}
	if !(Actor{RoleRegulator, "SG"}).CanSee(p) {
		t.Error("regulator of both sides cannot see")
	}
}

// Visibility does not depend on the payment's state.
func TestActorPermitsInEveryState(t *testing.T) {
	for _, s := range []State{Received, Held, Disputed, Released, Refunded} {
		p := Payment{ID: testUETR, BuyerBankID: "p_buyer", MerchantBankID: "p_merch", MerchantID: "m_1", BuyerJurisdiction: "SG", MerchantJurisdiction: "DE", State: s}
		if err := (Actor{RoleBank, "p_buyer"}).Permit(p, ActionRelease); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		wantError(t, Actor{RoleBank, "p_other"}.Permit(p, ActionRelease), NotFound, "payment_not_found", "id")
	}
}

func TestRolesAndActorString(t *testing.T) {
	for r, want := range map[Role]bool{RoleOperator: true, RoleBank: true, RoleMerchant: true, RoleRegulator: true, RoleSystem: false, "": false, "Operator": false} {
		if ValidRole(r) != want {
			t.Errorf("ValidRole(%q) = %v", r, !want)
		}
	}
	for a, want := range map[Actor]string{
		{RoleBank, "p_123"}:      "bank:p_123",
		AutoReleaseWorker:        "system:auto-release",
		CycleScheduler:           "system:cycle-scheduler",
		{RoleRegulator, "US-NY"}: "regulator:US-NY",
	} {
		if got := a.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", a, got, want)
		}
	}
	if fmt.Sprint(Actor{RoleMerchant, "m_1"}) != "merchant:m_1" {
		t.Error("Actor does not print through fmt as its audit form")
	}
}
