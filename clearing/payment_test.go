package clearing

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/fx"
)

func TestValidUETR(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{testUETR, true},
		{"00000000-0000-4000-8000-000000000000", true},
		{"ffffffff-ffff-4fff-bfff-ffffffffffff", true},
		{"", false},
		{"3F2504E0-4F89-41D3-9A0C-0305E82C3301", false},               // upper case
		{"3f2504e0-4f89-41d3-9A0C-0305e82c3301", false},               // partly upper case
		{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", false},               // v1
		{"6ba7b810-9dad-31d1-80b4-00c04fd430c8", false},               // v3
		{"6ba7b810-9dad-51d1-80b4-00c04fd430c8", false},               // v5
		{"017f22e2-79b0-7cc3-98c4-dc0c0c07398f", false},               // v7
		{"3f2504e0-4f89-41d3-7a0c-0305e82c3301", false},               // NCS variant
		{"3f2504e0-4f89-41d3-ca0c-0305e82c3301", false},               // Microsoft variant
		{"3f2504e04f8941d39a0c0305e82c3301", false},                   // no dashes
		{"{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", false},             // braces
		{"urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301", false},      // URN
		{"3f2504e0-4f89-41d3-9a0c-0305e82c33011", false},              // too long
		{"3f2504e0-4f89-41d3-9a0c-0305e82c330", false},                // too short
		{"3f2504e0-4f89-41d3-9a0c-0305e82c330g", false},               // not hex
		{" 3f2504e0-4f89-41d3-9a0c-0305e82c3301", false},              // space
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301\n", false},             // newline
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301" + "\x00", false},      // NUL
		{"3f2504e0_4f89_41d3_9a0c_0305e82c3301", false},               // underscores
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301-3f2504e0", false},      // trailing garbage
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301 3f2504e0-4f89", false}, // two
	}
	for _, tt := range tests {
		if got := ValidUETR(tt.in); got != tt.want {
			t.Errorf("ValidUETR(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHold(t *testing.T) {
	req := HoldRequest{UETR: testUETR, EndToEndID: "E2E-1", Reference: "order 42", BuyerBankID: "p_buyer", MerchantID: "m_1", Amount: usd(125_050)}
	by := Actor{Role: RoleBank, Subject: "p_buyer"}
	tr, err := Hold(req, buyerBank(), testMerchant(), merchantBank(), by, t0, releaseWindow)
	if err != nil {
		t.Fatal(err)
	}
	want := Payment{
		ID: testUETR, EndToEndID: "E2E-1", Reference: "order 42",
		BuyerBankID: "p_buyer", MerchantID: "m_1", MerchantBankID: "p_merch",
		BuyerJurisdiction: "SG", MerchantJurisdiction: "DE",
		Currency: "USD", AmountMinor: 125_050, State: Held,
		ReleaseAt: t0.Add(releaseWindow), Version: 1, CreatedAt: t0, UpdatedAt: t0,
	}
	if !reflect.DeepEqual(tr.Payment, want) {
		t.Errorf("payment\n got  %+v\n want %+v", tr.Payment, want)
	}
	if tr.Payment.HeldMinor() != 125_050 {
		t.Errorf("HeldMinor = %d", tr.Payment.HeldMinor())
	}
	wantEvents := []Event{
		{PaymentID: testUETR, Seq: 1, Type: EventReceived, From: "", To: Received, Actor: "bank:p_buyer", At: t0},
		{PaymentID: testUETR, Seq: 2, Type: EventHeld, From: Received, To: Held, AmountMinor: 125_050, Actor: "bank:p_buyer", At: t0},
	}
	if !reflect.DeepEqual(tr.Events, wantEvents) {
		t.Errorf("events\n got  %+v\n want %+v", tr.Events, wantEvents)
	}
	wantPostings := []Posting{{PaymentID: testUETR, Kind: PostHold, Currency: "USD", Debit: "p_buyer", Credit: EscrowAccount, AmountMinor: 125_050}}
	if !reflect.DeepEqual(tr.Postings, wantPostings) {
		t.Errorf("postings\n got  %+v\n want %+v", tr.Postings, wantPostings)
	}
}

func TestHoldLimits(t *testing.T) {
	req := HoldRequest{UETR: testUETR, EndToEndID: strings.Repeat("e", MaxEndToEndIDLen), Reference: strings.Repeat("r", MaxReferenceLen), Amount: usd(1)}
	tr, err := Hold(req, buyerBank(), testMerchant(), merchantBank(), operator, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Payment.ReleaseAt.Equal(t0) || tr.Payment.AmountMinor != 1 {
		t.Errorf("payment %+v", tr.Payment)
	}
	// One bank on both sides is allowed: the bank of the buyer also services the merchant.
	same := merchantBank()
	same.Currencies = append(same.Currencies, SettlementCurrency{"SGD", 0})
	m := testMerchant()
	m.Currency = "SGD"
	req.Amount = fx.MustCurrency("SGD").FromMinor(500)
	tr, err = Hold(req, same, m, same, operator, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Postings[0].Debit != "p_merch" || tr.Payment.BuyerBankID != tr.Payment.MerchantBankID {
		t.Errorf("same-bank hold %+v", tr)
	}
}

func TestHoldRefusals(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *HoldRequest, buyer *Participant, m *Merchant, mbank *Participant)
		kind  Kind
		code  string
		field string
	}{
		{"missing UETR", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) { r.UETR = "" }, Invalid, "invalid_uetr", "uetr"},
		{"upper-case UETR", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) { r.UETR = strings.ToUpper(testUETR) }, Invalid, "invalid_uetr", "uetr"},
		{"v1 UUID", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) {
			r.UETR = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
		}, Invalid, "invalid_uetr", "uetr"},
		{"UETR without dashes", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) {
			r.UETR = strings.ReplaceAll(testUETR, "-", "")
		}, Invalid, "invalid_uetr", "uetr"},
		{"end-to-end id too long", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) {
			r.EndToEndID = strings.Repeat("e", MaxEndToEndIDLen+1)
		}, Invalid, "invalid_end_to_end_id", "end_to_end_id"},
		{"reference too long", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) {
			r.Reference = strings.Repeat("r", MaxReferenceLen+1)
		}, Invalid, "invalid_reference", "reference"},
		{"zero amount", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) { r.Amount = usd(0) }, Invalid, "amount_not_positive", "amount"},
		{"negative amount", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) { r.Amount = usd(-100) }, Invalid, "amount_not_positive", "amount"},
		{"buyer bank is an fx provider", func(_ *HoldRequest, b *Participant, _ *Merchant, _ *Participant) { b.Kind = FXProvider }, Invalid, "not_a_bank", "buyer_bank_id"},
		{"buyer bank suspended", func(_ *HoldRequest, b *Participant, _ *Merchant, _ *Participant) { b.Status = Suspended }, Refused, "participant_suspended", "buyer_bank_id"},
		{"buyer bank does not settle the currency", func(_ *HoldRequest, b *Participant, _ *Merchant, _ *Participant) {
			b.Currencies = []SettlementCurrency{{"SGD", 0}, {"JPY", 0}}
		}, Invalid, "currency_not_settled", "currency"},
		{"merchant suspended", func(_ *HoldRequest, _ *Participant, m *Merchant, _ *Participant) { m.Status = Suspended }, Refused, "merchant_suspended", "merchant_id"},
		{"merchant paid in another currency", func(r *HoldRequest, _ *Participant, _ *Merchant, _ *Participant) {
			r.Amount = fx.MustCurrency("JPY").FromMinor(1000) // both banks settle JPY
		}, Invalid, "currency_mismatch", "currency"},
		{"merchant bank suspended", func(_ *HoldRequest, _ *Participant, _ *Merchant, mb *Participant) { mb.Status = Suspended }, Refused, "participant_suspended", "merchant_id"},
		{"merchant bank does not settle the currency", func(_ *HoldRequest, _ *Participant, _ *Merchant, mb *Participant) {
			mb.Currencies = []SettlementCurrency{{"EUR", 0}}
		}, Invalid, "currency_not_settled", "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := HoldRequest{UETR: testUETR, BuyerBankID: "p_buyer", MerchantID: "m_1", Amount: usd(10_000)}
			b, m, mb := buyerBank(), testMerchant(), merchantBank()
			tt.edit(&req, &b, &m, &mb)
			tr, err := Hold(req, b, m, mb, operator, t0, releaseWindow)
			wantError(t, err, tt.kind, tt.code, tt.field)
			if !reflect.DeepEqual(tr, Transition{}) {
				t.Errorf("refused hold returned %+v", tr)
			}
		})
	}
}

// A merchant handed over with another bank than the one servicing it would
// have its releases paid to the wrong bank: that is a bug in the caller.
func TestHoldMerchantBankMismatch(t *testing.T) {
	other := merchantBank()
	other.ID = "p_other"
	tr, err := Hold(HoldRequest{UETR: testUETR, Amount: usd(100)}, buyerBank(), testMerchant(), other, operator, t0, releaseWindow)
	wantInvariant(t, err)
	if !reflect.DeepEqual(tr, Transition{}) {
		t.Errorf("refused hold returned %+v", tr)
	}
}

// transitionCase is one command on a payment in a given state.
type transitionCase struct {
	name   string
	action Action
	// legal outcome
	to       State
	event    EventType
	amount   int64 // moved by the event
	posting  PostingKind
	released int64 // ReleasedMinor after
	refunded int64 // RefundedMinor after
	// refusal
	kind  Kind
	code  string
	field string
}

func TestApplyEveryStateAndAction(t *testing.T) {
	const amount = 10_000
	fresh := held(t, amount)
	partial := apply(t, fresh, Action{Kind: ActionRelease, AmountMinor: 4_000}, t0.Add(time.Hour)).Payment
	disputed := apply(t, fresh, Action{Kind: ActionDispute}, t0.Add(time.Hour)).Payment
	disputedPartial := apply(t, partial, Action{Kind: ActionDispute}, t0.Add(2*time.Hour)).Payment
	released := apply(t, fresh, Action{Kind: ActionRelease}, t0.Add(time.Hour)).Payment
	refunded := apply(t, fresh, Action{Kind: ActionRefund}, t0.Add(time.Hour)).Payment
	resolvedRelease := apply(t, disputed, Action{Kind: ActionResolve, Decision: DecideRelease}, t0.Add(2*time.Hour)).Payment
	resolvedRefund := apply(t, disputedPartial, Action{Kind: ActionResolve, Decision: DecideRefund}, t0.Add(3*time.Hour)).Payment
	received := fresh
	received.State, received.Version = Received, 0

	illegal := func(name string, a Action) transitionCase {
		return transitionCase{name: name, action: a, kind: Refused, code: "illegal_transition", field: "state"}
	}
	allIllegal := []transitionCase{
		illegal("release", Action{Kind: ActionRelease}),
		illegal("partial release", Action{Kind: ActionRelease, AmountMinor: 1}),
		illegal("dispute", Action{Kind: ActionDispute}),
		illegal("refund", Action{Kind: ActionRefund}),
		illegal("resolve release", Action{Kind: ActionResolve, Decision: DecideRelease}),
		illegal("resolve refund", Action{Kind: ActionResolve, Decision: DecideRefund}),
	}
	common := []transitionCase{
		{name: "reason too long", action: Action{Kind: ActionDispute, Reason: strings.Repeat("r", MaxReasonLen+1)}, kind: Invalid, code: "invalid_reason", field: "reason"},
		{name: "unknown action", action: Action{Kind: "cancel"}, kind: Invalid, code: "invalid_action", field: "action"},
		{name: "empty action", action: Action{}, kind: Invalid, code: "invalid_action", field: "action"},
	}
	states := []struct {
		name  string
		p     Payment
		cases []transitionCase
	}{
		{"held", fresh, []transitionCase{
			{name: "release all", action: Action{Kind: ActionRelease, Reason: "delivered"}, to: Released, event: EventReleased, amount: 10_000, posting: PostRelease, released: 10_000},
			{name: "release exactly what is held", action: Action{Kind: ActionRelease, AmountMinor: 10_000}, to: Released, event: EventReleased, amount: 10_000, posting: PostRelease, released: 10_000},
			{name: "partial release", action: Action{Kind: ActionRelease, AmountMinor: 4_000}, to: Held, event: EventPartiallyReleased, amount: 4_000, posting: PostRelease, released: 4_000},
			{name: "release one minor unit", action: Action{Kind: ActionRelease, AmountMinor: 1}, to: Held, event: EventPartiallyReleased, amount: 1, posting: PostRelease, released: 1},
			{name: "release all but one minor unit", action: Action{Kind: ActionRelease, AmountMinor: 9_999}, to: Held, event: EventPartiallyReleased, amount: 9_999, posting: PostRelease, released: 9_999},
			{name: "release more than held", action: Action{Kind: ActionRelease, AmountMinor: 10_001}, kind: Refused, code: "release_exceeds_held", field: "amount"},
			{name: "negative release", action: Action{Kind: ActionRelease, AmountMinor: -1}, kind: Invalid, code: "amount_not_positive", field: "amount"},
			{name: "dispute", action: Action{Kind: ActionDispute, Reason: "not delivered"}, to: Disputed, event: EventDisputed},
			{name: "refund", action: Action{Kind: ActionRefund, Reason: "out of stock"}, to: Refunded, event: EventRefunded, amount: 10_000, posting: PostRefund, refunded: 10_000},
			illegal("resolve release", Action{Kind: ActionResolve, Decision: DecideRelease}),
			illegal("resolve refund", Action{Kind: ActionResolve, Decision: DecideRefund}),
			illegal("resolve without decision", Action{Kind: ActionResolve}),
			{name: "reason at the limit", action: Action{Kind: ActionDispute, Reason: strings.Repeat("r", MaxReasonLen)}, to: Disputed, event: EventDisputed},
		}},
		{"held, partly released", partial, []transitionCase{
			{name: "release the rest", action: Action{Kind: ActionRelease}, to: Released, event: EventReleased, amount: 6_000, posting: PostRelease, released: 10_000},
			{name: "release exactly the rest", action: Action{Kind: ActionRelease, AmountMinor: 6_000}, to: Released, event: EventReleased, amount: 6_000, posting: PostRelease, released: 10_000},
			{name: "another partial release", action: Action{Kind: ActionRelease, AmountMinor: 5_999}, to: Held, event: EventPartiallyReleased, amount: 5_999, posting: PostRelease, released: 9_999},
			{name: "release the original amount", action: Action{Kind: ActionRelease, AmountMinor: 10_000}, kind: Refused, code: "release_exceeds_held", field: "amount"},
			{name: "release one more than the rest", action: Action{Kind: ActionRelease, AmountMinor: 6_001}, kind: Refused, code: "release_exceeds_held", field: "amount"},
			{name: "refund the rest", action: Action{Kind: ActionRefund}, to: Refunded, event: EventRefunded, amount: 6_000, posting: PostRefund, released: 4_000, refunded: 6_000},
			{name: "dispute", action: Action{Kind: ActionDispute}, to: Disputed, event: EventDisputed, released: 4_000},
			illegal("resolve", Action{Kind: ActionResolve, Decision: DecideRefund}),
		}},
		{"disputed", disputed, []transitionCase{
			illegal("release", Action{Kind: ActionRelease}),
			illegal("partial release", Action{Kind: ActionRelease, AmountMinor: 1}),
			illegal("dispute again", Action{Kind: ActionDispute}),
			illegal("refund", Action{Kind: ActionRefund}),
			{name: "resolve release", action: Action{Kind: ActionResolve, Decision: DecideRelease, Reason: "proof of delivery"}, to: Released, event: EventResolvedRelease, amount: 10_000, posting: PostRelease, released: 10_000},
			{name: "resolve refund", action: Action{Kind: ActionResolve, Decision: DecideRefund}, to: Refunded, event: EventResolvedRefund, amount: 10_000, posting: PostRefund, refunded: 10_000},
			{name: "resolve without decision", action: Action{Kind: ActionResolve}, kind: Invalid, code: "invalid_decision", field: "decision"},
			{name: "resolve with unknown decision", action: Action{Kind: ActionResolve, Decision: "split"}, kind: Invalid, code: "invalid_decision", field: "decision"},
		}},
		{"disputed, partly released", disputedPartial, []transitionCase{
			illegal("release", Action{Kind: ActionRelease}),
			illegal("refund", Action{Kind: ActionRefund}),
			{name: "resolve release", action: Action{Kind: ActionResolve, Decision: DecideRelease}, to: Released, event: EventResolvedRelease, amount: 6_000, posting: PostRelease, released: 10_000},
			{name: "resolve refund", action: Action{Kind: ActionResolve, Decision: DecideRefund}, to: Refunded, event: EventResolvedRefund, amount: 6_000, posting: PostRefund, released: 4_000, refunded: 6_000},
		}},
		{"released", released, allIllegal},
		{"refunded", refunded, allIllegal},
		{"released after a dispute", resolvedRelease, allIllegal},
		{"refunded after a dispute", resolvedRefund, allIllegal},
		{"received", received, allIllegal},
	}
	for _, st := range states {
		for _, tc := range append(st.cases, common...) {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				p := st.p
				before := p
				now := p.UpdatedAt.Add(time.Minute)
				by := Actor{Role: RoleBank, Subject: "p_buyer"}
				tr, err := p.Apply(tc.action, by, now)
				if tc.code != "" {
					wantRefusedUnchanged(t, before, p, tr, err, tc.kind, tc.code, tc.field)
					if tc.code == "illegal_transition" && !strings.Contains(err.Error(), string(p.State)) {
						t.Errorf("message %q does not name the state %s", err, p.State)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				checkTransition(t, p, tr, by, now, tc.action.Reason)
				next := tr.Payment
				if next.State != tc.to || next.ReleasedMinor != tc.released || next.RefundedMinor != tc.refunded {
					t.Errorf("state %s released %d refunded %d, want %s %d %d", next.State, next.ReleasedMinor, next.RefundedMinor, tc.to, tc.released, tc.refunded)
				}
				ev := tr.Events[0]
				if ev.Type != tc.event || ev.AmountMinor != tc.amount {
					t.Errorf("event %s moving %d, want %s moving %d", ev.Type, ev.AmountMinor, tc.event, tc.amount)
				}
				switch tc.posting {
				case "":
					if len(tr.Postings) != 0 {
						t.Errorf("postings %+v, want none", tr.Postings)
					}
				case PostRelease:
					want := []Posting{{PaymentID: p.ID, Kind: PostRelease, Currency: "USD", Debit: EscrowAccount, Credit: "p_merch", AmountMinor: tc.amount}}
					if !reflect.DeepEqual(tr.Postings, want) {
						t.Errorf("postings %+v, want %+v", tr.Postings, want)
					}
				case PostRefund:
					want := []Posting{{PaymentID: p.ID, Kind: PostRefund, Currency: "USD", Debit: EscrowAccount, Credit: "p_buyer", AmountMinor: tc.amount}}
					if !reflect.DeepEqual(tr.Postings, want) {
						t.Errorf("postings %+v, want %+v", tr.Postings, want)
					}
				}
				switch next.State {
				case Held:
					if !next.ReleaseAt.Equal(p.ReleaseAt) {
						t.Errorf("a partial release moved the deadline from %v to %v", p.ReleaseAt, next.ReleaseAt)
					}
				default:
					if !next.ReleaseAt.IsZero() {
						t.Errorf("%s payment still has a release deadline %v", next.State, next.ReleaseAt)
					}
				}
			})
		}
	}
}

// checkTransition checks what every legal transition must do: one event
// continuing the sequence, the version bumped, identity untouched, money
// conserved and every posting mirrored by the event.
func checkTransition(t *testing.T, p Payment, tr Transition, by Actor, now time.Time, reason string) {
	t.Helper()
	next := tr.Payment
	if next.Version != p.Version+1 {
		t.Errorf("version %d, want %d", next.Version, p.Version+1)
	}
	if !next.UpdatedAt.Equal(now) || !next.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("updated %v created %v, want %v and %v", next.UpdatedAt, next.CreatedAt, now, p.CreatedAt)
	}
	same := next
	same.State, same.ReleasedMinor, same.RefundedMinor, same.ReleaseAt, same.Version, same.UpdatedAt = p.State, p.ReleasedMinor, p.RefundedMinor, p.ReleaseAt, p.Version, p.UpdatedAt
	if !reflect.DeepEqual(same, p) {
		t.Errorf("transition changed more than state, amounts, deadline and version:\n before %+v\n after  %+v", p, next)
	}
	if next.ReleasedMinor+next.RefundedMinor+next.HeldMinor() != next.AmountMinor {
		t.Errorf("released %d + refunded %d + held %d != amount %d", next.ReleasedMinor, next.RefundedMinor, next.HeldMinor(), next.AmountMinor)
	}
	if next.ReleasedMinor < p.ReleasedMinor || next.RefundedMinor < p.RefundedMinor {
		t.Errorf("money went back: %+v -> %+v", p, next)
	}
	if len(tr.Events) != 1 {
		t.Fatalf("%d events, want 1", len(tr.Events))
	}
	ev := tr.Events[0]
	want := Event{PaymentID: p.ID, Seq: int(p.Version) + 2, Type: ev.Type, From: p.State, To: next.State, AmountMinor: ev.AmountMinor, Actor: by.String(), Reason: reason, At: now}
	if ev != want {
		t.Errorf("event\n got  %+v\n want %+v", ev, want)
	}
	moved := (next.ReleasedMinor - p.ReleasedMinor) + (next.RefundedMinor - p.RefundedMinor)
	if ev.AmountMinor != moved {
		t.Errorf("event moves %d, amounts moved %d", ev.AmountMinor, moved)
	}
	var posted int64
	for _, ps := range tr.Postings {
		if ps.PaymentID != p.ID || ps.AmountMinor <= 0 || ps.Debit == ps.Credit {
			t.Errorf("bad posting %+v", ps)
		}
		if ps.Debit != EscrowAccount {
			// A cross-currency refund's other legs: all in the sell currency.
			if !p.IsFX() || ps.Currency != p.SellCurrency || ps.Credit == EscrowAccount {
				t.Errorf("bad posting %+v", ps)
			}
			continue
		}
		if ps.Currency != p.Currency {
			t.Errorf("bad posting %+v", ps)
		}
		posted += ps.AmountMinor
	}
	if posted != moved {
		t.Errorf("posted %d, moved %d", posted, moved)
	}
	if p.HeldMinor()-next.HeldMinor() != moved {
		t.Errorf("escrow went from %d to %d but %d moved", p.HeldMinor(), next.HeldMinor(), moved)
	}
}

func TestPartialReleases(t *testing.T) {
	p := held(t, 10_000)
	now := t0
	var seqs []int
	var sum int64
	for i, part := range []int64{1_000, 2_000, 3_000} {
		now = now.Add(time.Hour)
		tr := apply(t, p, Action{Kind: ActionRelease, AmountMinor: part}, now)
		checkTransition(t, p, tr, operator, now, "")
		p = tr.Payment
		sum += part
		if p.State != Held || p.ReleasedMinor != sum || p.HeldMinor() != 10_000-sum || p.Version != int64(i+2) {
			t.Fatalf("after releasing %d: %+v", sum, p)
		}
		if tr.Events[0].Type != EventPartiallyReleased {
			t.Errorf("event %s", tr.Events[0].Type)
		}
		seqs = append(seqs, tr.Events[0].Seq)
	}
	if !reflect.DeepEqual(seqs, []int{3, 4, 5}) {
		t.Errorf("seqs %v", seqs)
	}
	// Nothing more than what is left.
	before := p
	tr, err := p.Apply(Action{Kind: ActionRelease, AmountMinor: 4_001}, operator, now)
	e := wantError(t, err, Refused, "release_exceeds_held", "amount")
	for _, s := range []string{"40.01 USD", "40.00 USD"} {
		if !strings.Contains(e.Msg, s) {
			t.Errorf("message %q does not mention %s", e.Msg, s)
		}
	}
	wantRefusedUnchanged(t, before, p, tr, err, Refused, "release_exceeds_held", "amount")
	// The release that empties it makes it released.
	tr = apply(t, p, Action{Kind: ActionRelease, AmountMinor: 4_000}, now.Add(time.Hour))
	if tr.Payment.State != Released || tr.Payment.ReleasedMinor != 10_000 || tr.Payment.HeldMinor() != 0 || tr.Events[0].Type != EventReleased || tr.Events[0].Seq != 6 {
		t.Errorf("final release %+v %+v", tr.Payment, tr.Events)
	}
	if _, err := tr.Payment.Apply(Action{Kind: ActionRelease, AmountMinor: 1}, operator, now); err == nil {
		t.Error("released a released payment")
	}
}

func TestRefundAfterPartialRelease(t *testing.T) {
	p := held(t, 10_000)
	p = apply(t, p, Action{Kind: ActionRelease, AmountMinor: 2_500}, t0.Add(time.Hour)).Payment
	tr := apply(t, p, Action{Kind: ActionRefund}, t0.Add(2*time.Hour))
	checkTransition(t, p, tr, operator, t0.Add(2*time.Hour), "")
	if tr.Payment.State != Refunded || tr.Payment.RefundedMinor != 7_500 || tr.Payment.ReleasedMinor != 2_500 || tr.Postings[0].AmountMinor != 7_500 || tr.Postings[0].Credit != "p_buyer" {
		t.Errorf("refund %+v", tr)
	}
}

func TestDisputeStopsTheClock(t *testing.T) {
	p := held(t, 10_000)
	tr := apply(t, p, Action{Kind: ActionDispute}, t0.Add(time.Hour))
	if !tr.Payment.ReleaseAt.IsZero() || len(tr.Postings) != 0 || tr.Payment.HeldMinor() != 10_000 {
		t.Errorf("dispute %+v", tr)
	}
	d := tr.Payment
	for _, at := range []time.Time{t0, t0.Add(releaseWindow), t0.Add(10 * releaseWindow)} {
		before := d
		tr, err := d.AutoRelease(at)
		wantRefusedUnchanged(t, before, d, tr, err, Refused, "illegal_transition", "state")
	}
}

func TestAutoRelease(t *testing.T) {
	p := held(t, 10_000)
	deadline := t0.Add(releaseWindow)
	for _, at := range []time.Time{t0, deadline.Add(-time.Nanosecond)} {
		before := p
		tr, err := p.AutoRelease(at)
		e := wantError(t, err, Refused, "deadline_not_reached", "")
		if !strings.Contains(e.Msg, deadline.Format(time.RFC3339)) {
			t.Errorf("message %q does not name the deadline", e.Msg)
		}
		wantRefusedUnchanged(t, before, p, tr, err, Refused, "deadline_not_reached", "")
	}
	for _, at := range []time.Time{deadline, deadline.Add(time.Nanosecond), deadline.Add(30 * 24 * time.Hour)} {
		tr, err := p.AutoRelease(at)
		if err != nil {
			t.Fatalf("at %v: %v", at, err)
		}
		checkTransition(t, p, tr, AutoReleaseWorker, at, "release deadline passed without a dispute")
		if tr.Payment.State != Released || tr.Events[0].Type != EventAutoReleased || tr.Events[0].AmountMinor != 10_000 || tr.Events[0].Actor != "system:auto-release" {
			t.Errorf("auto-release %+v", tr)
		}
		if tr.Postings[0].Credit != "p_merch" || tr.Postings[0].Kind != PostRelease {
			t.Errorf("posting %+v", tr.Postings[0])
		}
	}
	// After partial releases it releases the rest, still as an auto-release.
	p = apply(t, p, Action{Kind: ActionRelease, AmountMinor: 3_000}, t0.Add(time.Hour)).Payment
	if !p.ReleaseAt.Equal(deadline) {
		t.Fatalf("partial release moved the deadline to %v", p.ReleaseAt)
	}
	tr, err := p.AutoRelease(deadline)
	if err != nil {
		t.Fatal(err)
	}
	checkTransition(t, p, tr, AutoReleaseWorker, deadline, "release deadline passed without a dispute")
	if tr.Payment.State != Released || tr.Payment.ReleasedMinor != 10_000 || tr.Events[0].Type != EventAutoReleased || tr.Events[0].AmountMinor != 7_000 || tr.Postings[0].AmountMinor != 7_000 {
		t.Errorf("auto-release of the rest %+v", tr)
	}
	// Final and disputed payments are never auto-released.
	for _, q := range []Payment{
		tr.Payment,
		apply(t, p, Action{Kind: ActionRefund}, t0.Add(2*time.Hour)).Payment,
		apply(t, p, Action{Kind: ActionDispute}, t0.Add(2*time.Hour)).Payment,
	} {
		before := q
		tr, err := q.AutoRelease(deadline.Add(time.Hour))
		wantRefusedUnchanged(t, before, q, tr, err, Refused, "illegal_transition", "state")
	}
}

func TestStateFinal(t *testing.T) {
	for s, want := range map[State]bool{Received: false, Held: false, Disputed: false, Released: true, Refunded: true} {
		if s.Final() != want {
			t.Errorf("%s.Final() = %v", s, !want)
		}
	}
}

func TestHeldMinor(t *testing.T) {
	p := Payment{AmountMinor: 100, ReleasedMinor: 30, RefundedMinor: 0}
	for s, want := range map[State]int64{Received: 0, Held: 70, Disputed: 70, Released: 0, Refunded: 0} {
		p.State = s
		if got := p.HeldMinor(); got != want {
			t.Errorf("%s: HeldMinor = %d, want %d", s, got, want)
		}
	}
}

func TestCheckNetDebitCap(t *testing.T) {
	tests := []struct {
		name            string
		ccy             string
		cap, pos, debit int64
		ok              bool
		mentions        []string
	}{
		{name: "exactly at the cap from zero", ccy: "USD", cap: 100_000, pos: 0, debit: 100_000, ok: true},
		{name: "one minor unit past the cap from zero", ccy: "USD", cap: 100_000, pos: 0, debit: 100_001,
			mentions: []string{"p_x", "1000.01 USD", "-1000.01 USD", "1000.00 USD", "current position 0.00 USD"}},
		{name: "exactly at the cap from a credit", ccy: "USD", cap: 100_000, pos: 25_000, debit: 125_000, ok: true},
		{name: "one past the cap from a credit", ccy: "USD", cap: 100_000, pos: 25_000, debit: 125_001,
			mentions: []string{"holding 1250.01 USD", "position of -1000.01 USD", "cap of 1000.00 USD", "current position 250.00 USD"}},
		{name: "exactly at the cap from a debit", ccy: "USD", cap: 100_000, pos: -99_999, debit: 1, ok: true},
		{name: "one past the cap from a debit", ccy: "USD", cap: 100_000, pos: -99_999, debit: 2,
			mentions: []string{"holding 0.02 USD", "cap of 1000.00 USD", "current position -999.99 USD"}},
		{name: "already past the cap", ccy: "USD", cap: 100_000, pos: -100_001, debit: 1, mentions: []string{"-1000.01 USD"}},
		{name: "zero cap, no debit", ccy: "USD", cap: 0, pos: 0, debit: 0, ok: true},
		{name: "zero cap, one minor unit", ccy: "USD", cap: 0, pos: 0, debit: 1, mentions: []string{"0.01 USD", "cap of 0.00 USD"}},
		{name: "zero cap, covered by a credit", ccy: "USD", cap: 0, pos: 500, debit: 500, ok: true},
		{name: "zero decimals at the cap", ccy: "JPY", cap: 1_000, pos: 0, debit: 1_000, ok: true},
		{name: "zero decimals past the cap", ccy: "JPY", cap: 1_000, pos: 0, debit: 1_001, mentions: []string{"1001 JPY", "-1001 JPY", "cap of 1000 JPY", "current position 0 JPY"}},
		{name: "three decimals past the cap", ccy: "BHD", cap: 1_000, pos: -500, debit: 501, mentions: []string{"0.501 BHD", "-1.001 BHD", "cap of 1.000 BHD", "current position -0.500 BHD"}},
		{name: "largest cap", ccy: "USD", cap: fx.MaxMinor, pos: 0, debit: fx.MaxMinor, ok: true},
		{name: "past the largest cap", ccy: "USD", cap: fx.MaxMinor, pos: -1, debit: fx.MaxMinor, mentions: []string{"cap of 10000000000000.00 USD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNetDebitCap("p_x", SettlementCurrency{tt.ccy, tt.cap}, tt.pos, tt.debit)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantError(t, err, Refused, "net_debit_cap_exceeded", "amount")
			for _, s := range tt.mentions {
				if !strings.Contains(e.Msg, s) {
					t.Errorf("message %q does not mention %q", e.Msg, s)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	e := Errorf(Conflict, "duplicate_uetr", "uetr", "payment %s exists", "x")
	if e.Error() != "uetr: payment x exists" || e.Kind != Conflict {
		t.Errorf("%+v: %q", e, e.Error())
	}
	if e := Errorf(Refused, "c", "", "no field"); e.Error() != "no field" {
		t.Errorf("%q", e.Error())
	}
	wrapped := fmtWrap(e)
	if got, ok := AsError(wrapped); !ok || got != e {
		t.Errorf("AsError(%v) = %v, %v", wrapped, got, ok)
	}
	if _, ok := AsError(ErrInvariant); ok {
		t.Error("AsError found an *Error in ErrInvariant")
	}
	if _, ok := AsError(nil); ok {
		t.Error("AsError(nil)")
	}
}
