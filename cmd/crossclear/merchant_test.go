package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// merchant statement writes what GET /v1/merchants/{id}/statement sends,
// and names the flag that is wrong.
func TestMerchantStatementCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "m.db")
	env := map[string]string{"CROSSCLEAR_DATABASE": dsn}
	mustRun(t, env, "migrate")
	s := openTestStore(t, dsn)
	w := storetest.Seed(t, s)
	amt, _ := fx.ParseAmount("12.34", "EUR")
	p, err := s.Hold(ctx, clearing.HoldRequest{BuyerBankID: w.Banks[1].ID, MerchantID: w.Merchants[0].ID, Amount: amt, Reference: "order, \"1\""}, storetest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 1000}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(ctx, p.ID, clearing.Action{Kind: clearing.ActionRelease}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	mer := w.Merchants[0].ID

	rows, err := csv.NewReader(strings.NewReader(mustRun(t, env, "merchant", "statement", mer, "--from", today, "--to", today))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "booked_at" || rows[1][4] != `order, "1"` || rows[1][6] != "10.00" || rows[2][6] != "2.34" || rows[2][7] != "12.34" {
		t.Fatalf("CSV %v %q", err, rows)
	}
	out := filepath.Join(dir, "st.xml")
	mustRun(t, env, "merchant", "statement", mer, "--from", today, "--to", today, "--format", "camt053", "--out", out)
	xml, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	isotest.SchemaValid(t, iso.Camt053v08, xml)
	if bytes.Count(xml, []byte("<Ntry>")) != 2 || !bytes.Contains(xml, []byte(">12.34</Amt>")) {
		t.Fatalf("camt.053:\n%s", xml)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{mer, "--to", today}, 2, "--from: is required"},
		{[]string{mer, "--from", "2025-13-01", "--to", today}, 2, "--from"},
		{[]string{mer, "--from", today, "--to", "2020-01-01"}, 2, "--to"},
		{[]string{mer, "--from", today, "--to", today, "--format", "pdf"}, 2, "--format"},
		{[]string{"mer_nope", "--from", today, "--to", today}, 1, "mer_nope"},
		{[]string{"--from", today, "--to", today}, 2, "merchant ID"},
	} {
		code, _, errs := crossclear(t, env, append([]string{"merchant", "statement"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, errs)
		}
	}
}
