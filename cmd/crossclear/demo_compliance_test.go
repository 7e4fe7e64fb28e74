package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
)

// TestDemoUNCopy keeps the demo's built-in UN list equal to the sample.
func TestDemoUNCopy(t *testing.T) {
	sample, err := os.ReadFile(compliancetest.UNFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sample, demoUN) {
		t.Fatal("cmd/crossclear/demo_un.xml differs from compliance/testdata/un-consolidated-sample.xml: copy it over")
	}
}

// TestDemoReviewQueue: the demo screens every payment; the one from the
// listed debtor waits in the review queue with its parties and the UN
// entry it matched, outside escrow; the travel rule flagged payments
// without holding them back; approving the review holds the payment.
func TestDemoReviewQueue(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	out := mustRun(t, nil, "demo", "--no-serve", "--database", db, "--payments", "400")
	ctx := context.Background()
	s := openTestStore(t, db)

	queue, err := s.Reviews(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 1 {
		t.Fatalf("%d reviews pending, want the demo's one: %+v", len(queue), queue)
	}
	r := queue[0]
	debtor := slices.IndexFunc(r.Parties, func(p compliance.Party) bool { return p.Role == compliance.Debtor })
	if debtor < 0 || r.Parties[debtor].Name != demoListed.debtor.Name || r.Origin.Channel != "api" || r.RequestedBy != "bank:"+demoListed.bank ||
		len(r.Matches) == 0 || r.Matches[0].List != compliance.ListUN || r.Matches[0].EntryID != "KPe.001" || !slices.Contains(r.Flags, compliance.CodeSanctionsHit) {
		t.Fatalf("the review: %+v", r)
	}
	if !strings.Contains(out, "waiting for review: HANSDEFF's payment from "+demoListed.debtor.Name+" (screening "+r.ID+")") {
		t.Errorf("the output does not name the review %s:\n%s", r.ID, out)
	}
	if _, _, err := s.Payment(ctx, r.PaymentID); !isNotFound(err) {
		t.Fatalf("the listed debtor's payment before approval: %v, want not found", err)
	}

	var flagged, held int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM screenings WHERE flags LIKE '%,travel_rule,%'").Scan(ctx, &flagged); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM screenings WHERE status = ?", store.ScreeningHeld).Scan(ctx, &held); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) held, (\d+) refused at a net debit cap`).FindStringSubmatch(out)
	if flagged == 0 || m == nil || fmt.Sprint(held) != m[1] || !strings.Contains(out, fmt.Sprintf("action flag): %d flagged", flagged)) {
		t.Fatalf("%d travel-rule flags, %d screenings held (the demo says %v):\n%s", flagged, held, m, out)
	}

	officer := clearing.Actor{Role: clearing.RoleCompliance, Subject: "key_demo_test"}
	sc, p, holdErr, err := s.ApproveReview(ctx, r.ID, "end-user certificate checked", officer, nil)
	if err != nil || holdErr != nil || sc.Status != store.ScreeningApproved {
		t.Fatalf("approve: %+v %v %v", sc, holdErr, err)
	}
	if p.State != clearing.Held || p.BuyerBankID != demoListed.bank || p.Currency != demoListed.currency || p.HoldCycleID != 2 {
		t.Fatalf("the approved payment: %+v", p)
	}
	if chk, err := s.CheckLedger(ctx); err != nil || !chk.OK {
		t.Fatalf("ledger after approval: %+v %v", chk, err)
	}
}

func isNotFound(err error) bool {
	e, ok := clearing.AsError(err)
	return ok && e.Kind == clearing.NotFound
}
