package regulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/compliance/compliancetest"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator"
	"github.com/crossclear/crossclear/regulator/internal/regtest"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

func eachEngine(t *testing.T, fn func(t *testing.T, w *regtest.World)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, regtest.New(t, engine))
		})
	}
}

// content is a stored report's JSON, decoded.
func content(t *testing.T, w *regtest.World, id string) reports.Report {
	t.Helper()
	b, err := w.Producer.Archive.Content(context.Background(), id, reports.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCycleReports: every jurisdiction with a participant gets a report of
// each closed cycle, numbered per jurisdiction, scoped to what touches it;
// a jurisdiction with nothing to report gets a nil report all the same.
func TestCycleReports(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		ctx := context.Background()
		p := w.Hold(t, 1, 0, "100.00") // SG bank pays a DE merchant
		w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 4000})
		w.Act(t, p.ID, clearing.Action{Kind: clearing.ActionDispute, Reason: "damaged"})
		w.Hold(t, 1, 1, "25.00") // SG bank pays an SG merchant in SGD
		w.Close(t)
		pass := w.Produce(t)
		if pass.Reports != 3 || pass.Sealed != 3 || pass.Checkpoint != 3 {
			t.Fatalf("pass = %+v", pass)
		}
		sg := content(t, w, "SG-cycle-1")
		if sg.Seq != 1 || sg.Nil || sg.Cycle == nil {
			t.Fatalf("SG report header: %+v", sg)
		}
		got, _ := json.Marshal(sg.Cycle)
		for _, want := range []string{
			`{"participant":"DBSSSGSG","currency":"EUR","paid":"100.00","received":"0.00","net":"-100.00"}`,
			`{"from_country":"SG","to_country":"DE","currency":"EUR","count":1,"amount":"100.00"}`,
			`{"from_country":"SG","to_country":"SG","currency":"SGD","count":1,"amount":"25.00"}`,
			`{"currency":"EUR","held":{"count":1,"amount":"100.00"},"settled":{"count":1,"amount":"40.00"},"failed":{"count":0,"amount":"0.00"},"pending":{"count":1,"amount":"60.00"}}`,
			`{"currency":"EUR","balance":"60.00","count":1,"ageing":[{"age":"0-1d","count":1,"amount":"60.00"}`,
			`{"currency":"EUR","opened":{"count":1,"amount":"100.00"}`,
		} {
			if !strings.Contains(string(got), want) {
				t.Errorf("SG cycle report lacks %s\n%s", want, got)
			}
		}
		us := content(t, w, "US-NY-cycle-1")
		if !us.Nil || us.Cycle != nil || us.Seq != 1 {
			t.Errorf("US-NY had nothing in cycle 1: %+v", us)
		}
		de, _ := json.Marshal(content(t, w, "DE-cycle-1").Cycle)
		if strings.Contains(string(de), "SGD") {
			t.Errorf("DE sees the SG-only SGD payment:\n%s", de)
		}
		// The JSON file is canonical: what Canonical gives for its value.
		raw, _ := w.Producer.Archive.Content(ctx, "SG-cycle-1", reports.FormatJSON)
		again, err := reports.Canonical(sg)
		if err != nil || string(again) != string(raw) {
			t.Errorf("the stored JSON is not canonical:\n%s\n%s", raw, again)
		}
		csv, _ := w.Producer.Archive.Content(ctx, "SG-cycle-1", reports.FormatCSV)
		for _, want := range []string{"section,key,currency,measure,value\n", "report,,,seq,1\n", "position,DBSSSGSG,EUR,net,-100.00\n", "escrow,0-1d,EUR,amount,60.00\n"} {
			if !strings.Contains(string(csv), want) {
				t.Errorf("CSV lacks %q:\n%s", want, csv)
			}
		}
		// The next cycles number on per jurisdiction; nothing twice.
		w.Close(t)
		w.Close(t)
		if pass := w.Produce(t); pass.Reports != 6 {
			t.Fatalf("two more cycles: %+v", pass)
		}
		if pass := w.Produce(t); pass.Reports != 0 || pass.Checkpoint != 0 {
			t.Fatalf("a pass with nothing new: %+v", pass)
		}
		if r := content(t, w, "SG-cycle-3"); r.Seq != 3 || r.Nil {
			t.Errorf("SG-cycle-3: seq %d nil %v (escrow still holds 60.00 EUR)", r.Seq, r.Nil)
		}
		if r := content(t, w, "US-NY-cycle-3"); r.Seq != 3 || !r.Nil {
			t.Errorf("US-NY-cycle-3: seq %d nil %v", r.Seq, r.Nil)
		}
	})
}

// TestNewJurisdictionStartsAtOne: a jurisdiction whose first participant
// joins later is reported from the first cycle closed after, from 1.
func TestNewJurisdictionStartsAtOne(t *testing.T) {
	w := regtest.New(t, "sqlite")
	w.Close(t)
	w.Produce(t)
	if _, err := w.Store.CreateParticipant(context.Background(), clearing.Participant{Kind: clearing.Bank, BIC: "HSBCHKHH", Name: "HSBC",
		Country: "HK", Jurisdiction: "HK", Currencies: []clearing.SettlementCurrency{{Currency: "HKD", NetDebitCapMinor: 1}}}, storetest.Operator); err != nil {
		t.Fatal(err)
	}
	w.Close(t)
	w.Produce(t)
	if _, err := w.Producer.Archive.Get(context.Background(), "HK-cycle-1"); !errors.Is(err, reports.ErrNotFound) {
		t.Errorf("HK got a report of a cycle closed before it joined: %v", err)
	}
	if r := content(t, w, "HK-cycle-2"); r.Seq != 1 || !r.Nil {
		t.Errorf("HK's first report: seq %d nil %v", r.Seq, r.Nil)
	}
}

// TestConcurrentProducers: producers in several goroutines (as in several
// serve processes) add each cycle's reports once.
func TestConcurrentProducers(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		for range 3 {
			w.Hold(t, 1, 0, "10.00")
			w.Close(t)
		}
		var wg sync.WaitGroup
		var added atomic.Int64
		for range 4 {
			wg.Go(func() {
				p := regulator.NewProducer(w.Store, w.Files, w.Checkpoints, regtest.Origin)
				pass, err := p.Tick(context.Background())
				if err != nil {
					t.Error(err)
				}
				added.Add(int64(pass.Reports))
			})
		}
		wg.Wait()
		head, _ := w.Producer.Log.Head(context.Background())
		if added.Load() != 9 || head.Size != 9 {
			t.Fatalf("4 producers added %d reports, the log has %d; want 9", added.Load(), head.Size)
		}
	})
}

// failing is a signer that fails while down is set.
type failing struct {
	signing.Signer
	down atomic.Bool
}

func (f *failing) Sign(ctx context.Context, in ...[]byte) ([]signing.Signature, error) {
	if f.down.Load() {
		return nil, errors.New("vault: connection refused")
	}
	return f.Signer.Sign(ctx, in...)
}

// TestSignerDownPublishesNothing: with the signer down the reports are
// added to the log but neither sealed nor checkpointed, so nothing is
// served; when it is back the next pass publishes them. A crash between
// a close and its reports loses nothing either: the next pass finds the
// cycle unreported.
func TestSignerDownPublishesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *regtest.World) {
		ctx := context.Background()
		files := &failing{Signer: w.Files}
		cps := &failing{Signer: w.Checkpoints}
		files.down.Store(true)
		cps.down.Store(true)
		p := regulator.NewProducer(w.Store, files, cps, regtest.Origin)
		w.Close(t)
		pass, err := p.Tick(ctx)
		if err == nil || !strings.Contains(err.Error(), "connection refused") || pass.Reports != 3 || pass.Sealed != 0 {
			t.Fatalf("signer down: %+v, %v", pass, err)
		}
		if _, err := p.Log.LatestCheckpoint(ctx); !errors.Is(err, merklelog.ErrNoCheckpoint) {
			t.Fatalf("a checkpoint was published with the signer down: %v", err)
		}
		if r := w.Report(t, "SG-cycle-1"); !r.SealedAt.IsZero() {
			t.Fatal("a report was sealed with the signer down")
		}
		files.down.Store(false)
		cps.down.Store(false)
		pass, err = p.Tick(ctx)
		if err != nil || pass.Reports != 0 || pass.Sealed != 3 || pass.Checkpoint != 3 {
			t.Fatalf("signer back: %+v, %v", pass, err)
		}
		r := w.Report(t, "SG-cycle-1")
		if r.SealedAt.IsZero() || r.Files[0].Signature.Key != "dev-crossclear" {
			t.Fatalf("sealed report: %+v", r)
		}
	})
}

// TestDayReports: each UTC day, once over, gives every jurisdiction a
// report of the compliance events touching it — large-value payments,
// sanctions hits with their resolution, travel-rule exceptions — from
// store.ComplianceEvents; a resolution the next day shows in the next
// day's report, not in the first.
func TestDayReports(t *testing.T) {
	var rules compliance.Rules
	if err := json.Unmarshal([]byte(`{"base_currency":"EUR","default":{
		"large_value":{"threshold":"1000.00 EUR","action":"flag"},
		"travel_rule":{"threshold":"1000.00 EUR","action":"flag"}}}`), &rules); err != nil {
		t.Fatal(err)
	}
	sc := compliancetest.Screener(t, compliance.Config{Rules: &rules})
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := regtest.NewWith(t, engine, store.Options{Screener: sc})
			listed, err := w.Store.CreateMerchant(ctx, clearing.Merchant{Name: "TNK Trading International Ltd", Country: "CH", Currency: "EUR",
				Account: "DE02100100109307118603", BankID: "DEUTDEFF"}, storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			big := w.Hold(t, 1, 0, "5000.00") // SG → DE: large value, and no originator data for the travel rule
			_, err = w.Store.Hold(ctx, clearing.HoldRequest{UETR: uuid.NewString(), BuyerBankID: "DBSSSGSG", MerchantID: listed.ID,
				Amount: fx.MustCurrency("EUR").FromMinor(25000)}, storetest.Operator)
			se, ok := store.AsScreeningError(err)
			if !ok || !se.Pending {
				t.Fatalf("a payment to a listed name: %v", err)
			}
			w.Clock.Advance(14*time.Hour + 30*time.Minute) // 2026-11-02 23:30: the day is not over
			if pass := w.Produce(t); pass.Reports != 0 {
				t.Fatalf("a report of an unfinished day: %+v", pass)
			}
			w.Clock.Advance(40 * time.Minute) // 00:10 the next day
			if pass := w.Produce(t); pass.Reports != 3 {
				t.Fatalf("the day's reports: %+v", pass)
			}
			sg := content(t, w, "SG-day-2026-11-02")
			if sg.Seq != 1 || sg.Nil || sg.Day == nil || len(sg.Day.LargeValue) != 1 || len(sg.Day.SanctionsHits) != 1 || len(sg.Day.TravelRule) != 1 {
				t.Fatalf("SG day report: %+v", sg.Day)
			}
			if lv := sg.Day.LargeValue[0]; lv.Payment != big.ID || lv.Amount != "5000.00" || lv.Currency != "EUR" || lv.Status != store.ScreeningHeld {
				t.Errorf("large value: %+v", lv)
			}
			hit := sg.Day.SanctionsHits[0]
			if hit.Status != store.ScreeningPending || hit.Resolution != nil || len(hit.Matches) == 0 || hit.Matches[0].EntryID != "28603" || hit.Matches[0].ListHash == "" {
				t.Errorf("sanctions hit: %+v", hit)
			}
			if us := content(t, w, "US-NY-day-2026-11-02"); !us.Nil || us.Day != nil {
				t.Errorf("US-NY saw nothing that day: %+v", us)
			}
			csv, _ := w.Producer.Archive.Content(ctx, "SG-day-2026-11-02", reports.FormatCSV)
			if !strings.Contains(string(csv), "large_value,"+big.ID+",EUR,amount,5000.00\n") || !strings.Contains(string(csv), "sanctions_hit,") {
				t.Errorf("day CSV:\n%s", csv)
			}

			// The officer approves the next morning: the 2nd's report stands,
			// the 3rd's has the resolution.
			w.Clock.Advance(9 * time.Hour)
			officer := clearing.Actor{Role: clearing.RoleCompliance, Subject: "key_officer"}
			if _, _, _, err := w.Store.ApproveReview(ctx, se.ScreeningID, "false positive: another TNK", officer, nil); err != nil {
				t.Fatal(err)
			}
			w.Clock.Advance(15 * time.Hour)
			if pass := w.Produce(t); pass.Reports != 3 {
				t.Fatalf("the 3rd's reports: %+v", pass)
			}
			next := content(t, w, "SG-day-2026-11-03")
			if next.Seq != 2 || next.Day == nil || len(next.Day.SanctionsHits) != 1 || next.Day.LargeValue == nil {
				t.Fatalf("SG-day-2026-11-03: %+v", next)
			}
			res := next.Day.SanctionsHits[0].Resolution
			if next.Day.SanctionsHits[0].Status != store.ScreeningApproved || res == nil || res.By != "compliance:key_officer" || res.Comment != "false positive: another TNK" {
				t.Errorf("resolution: %+v %+v", next.Day.SanctionsHits[0], res)
			}
			if again := content(t, w, "SG-day-2026-11-02"); again.Day.SanctionsHits[0].Resolution != nil {
				t.Error("the 2nd's report changed")
			}
		})
	}
}
