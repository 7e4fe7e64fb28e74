package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// refundLog is a RefundFile that records what the store asks files for,
// or fails when fail is set.
type refundLog struct {
	refunds []store.Refund
	fail    error
}

func (l *refundLog) file(r store.Refund) (store.MailboxFile, error) {
	if l.fail != nil {
		return store.MailboxFile{}, l.fail
	}
	l.refunds = append(l.refunds, r)
	return store.MailboxFile{BankID: r.Payment.BuyerBankID, Kind: "pacs.004.001.09", Content: []byte("refund of " + r.Payment.ID)}, nil
}

// eachRefundEngine is eachEngine on a store whose refunds write log's files.
func eachRefundEngine(t *testing.T, fn func(t *testing.T, e env, log *refundLog)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, log := newClock(), &refundLog{}
			s := storetest.Open(t, engine, store.Options{Now: c.now, Refunds: log.file})
			fn(t, env{engine: engine, s: s, w: storetest.Seed(t, s), clock: c}, log)
		})
	}
}

// mailbox lists a bank's files, signed or not, with their content, by
// id; skip leaves out the ones already seen.
func mailbox(t testing.TB, s *store.Store, bank string, skip ...map[string]store.MailboxFile) map[string]store.MailboxFile {
	t.Helper()
	fs, err := s.MailboxFiles(ctx, store.MailboxFilter{BankID: bank, Unsealed: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.MailboxFile{}
	for _, f := range fs {
		if len(skip) > 0 {
			if _, seen := skip[0][f.ID]; seen {
				continue
			}
		}
		if out[f.ID], err = s.MailboxFile(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// contents are the files' contents, sorted.
func contents(files map[string]store.MailboxFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Kind+": "+string(f.Content))
	}
	slices.Sort(out)
	return out
}

// TestRefundWritesTheBuyersBankAFile: every refund (asked for, or a
// dispute resolved with one) puts its file into the buyer's bank's
// mailbox with what was paid and what goes back; a release writes none;
// a refund whose file cannot be built does not happen.
func TestRefundWritesTheBuyersBankAFile(t *testing.T) {
	eachRefundEngine(t, func(t *testing.T, e env, log *refundLog) {
		sg := e.w.Banks[1].ID
		p := e.hold(t, 1, 0, "120.00")
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 2000})
		e.clock.advance(time.Hour)
		e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRefund, Reason: "second parcel out of stock"})
		disputed := e.hold(t, 1, 0, "40.00")
		e.act(t, disputed.ID, clearing.Action{Kind: clearing.ActionDispute})
		e.act(t, disputed.ID, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund, Reason: "never delivered"})
		released := e.hold(t, 1, 0, "5.00")
		e.act(t, released.ID, clearing.Action{Kind: clearing.ActionRelease})

		if len(log.refunds) != 2 {
			t.Fatalf("%d refund files asked for, want 2: %+v", len(log.refunds), log.refunds)
		}
		r := log.refunds[0]
		if r.Payment.ID != p.ID || r.Payment.State != clearing.Refunded || r.Cause != store.RefundRequested || r.Paid.String() != "120.00 EUR" ||
			r.Returned.String() != "100.00 EUR" || r.Reason != "second parcel out of stock" || !r.At.Equal(e.clock.now()) {
			t.Fatalf("refund %+v", r)
		}
		if r := log.refunds[1]; r.Payment.ID != disputed.ID || r.Cause != store.RefundDispute || r.Returned.String() != "40.00 EUR" || r.Reason != "never delivered" {
			t.Fatalf("dispute refund %+v", r)
		}
		files := mailbox(t, e.s, sg)
		want := []string{"pacs.004.001.09: refund of " + p.ID, "pacs.004.001.09: refund of " + disputed.ID}
		slices.Sort(want)
		wantLines(t, contents(files), want)
		for _, f := range files {
			if !f.SealedAt.IsZero() || f.InReplyTo != "" {
				t.Fatalf("a refund's file %+v", f)
			}
		}

		// The file cannot be built: the refund does not happen either.
		held := e.hold(t, 1, 0, "7.00")
		log.fail = errors.New("encoder down")
		before := e.snapshot(t)
		if _, err := e.s.Act(ctx, held.ID, clearing.Action{Kind: clearing.ActionRefund}, storetest.Operator); !errors.Is(err, log.fail) {
			t.Fatalf("refund without its file: %v", err)
		}
		e.unchanged(t, before)
		if got, _, _ := e.s.Payment(ctx, held.ID); got.State != clearing.Held || len(mailbox(t, e.s, sg)) != 2 {
			t.Fatalf("after a failed refund: %s, %d files", got.State, len(mailbox(t, e.s, sg)))
		}

		// A batch refunds, and writes, every accepted item.
		log.fail = nil
		other := e.hold(t, 1, 0, "8.00")
		res, err := e.s.ActBatch(ctx, []store.ActRequest{
			{PaymentID: held.ID, Action: clearing.Action{Kind: clearing.ActionRefund}, By: storetest.Operator},
			{PaymentID: released.ID, Action: clearing.Action{Kind: clearing.ActionRefund}, By: storetest.Operator},
			{PaymentID: other.ID, Action: clearing.Action{Kind: clearing.ActionRefund}, By: storetest.Operator},
		})
		if err != nil || res[0].Err != nil || res[2].Err != nil {
			t.Fatalf("%v %+v", err, res)
		}
		wantCode(t, res[1].Err, "illegal_transition", "state")
		if files := mailbox(t, e.s, sg); len(files) != 4 || len(log.refunds) != 4 {
			t.Fatalf("%d files, %d refunds", len(files), len(log.refunds))
		}
		e.ledgerOK(t)
	})
}

// TestReceiveCancellation: of the payments a bank asks to cancel, those
// still in escrow (held, partly released, disputed) are refunded with
// their files, the others refused with why; the answers and the request
// are recorded with them, and the same request cannot be applied twice.
func TestReceiveCancellation(t *testing.T) {
	eachRefundEngine(t, func(t *testing.T, e env, log *refundLog) {
		sg := e.w.Banks[1].ID
		held := e.hold(t, 1, 0, "10.00")
		partly := e.hold(t, 1, 0, "20.00")
		e.act(t, partly.ID, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: 500})
		disputed := e.hold(t, 1, 0, "30.00")
		e.act(t, disputed.ID, clearing.Action{Kind: clearing.ActionDispute})
		released := e.hold(t, 1, 0, "40.00")
		e.act(t, released.ID, clearing.Action{Kind: clearing.ActionRelease})
		refunded := e.hold(t, 1, 0, "50.00")
		e.act(t, refunded.ID, clearing.Action{Kind: clearing.ActionRefund})
		others := e.hold(t, 2, 0, "60.00") // CHASUS33's
		log.refunds = nil
		before := mailbox(t, e.s, sg)

		ids := []string{held.ID, partly.ID, disputed.ID, released.ID, refunded.ID, others.ID, uuid.NewString()}
		var cs []store.Cancellation
		for _, id := range ids {
			cs = append(cs, store.Cancellation{PaymentID: id, Reason: "camt.056 CXL-1 from " + sg + ": CUST"})
		}
		in := store.InboundFile{ID: store.NewFileID("fil"), Sender: sg, MsgID: "CXL-1", Message: "camt.056.001.08", SHA256: "x", Size: 1}
		var got []store.Result
		var refundFiles map[string]store.MailboxFile
		answer := func(rs []store.Result, refunds map[string]store.MailboxFile) ([]store.MailboxFile, store.InboundFile, error) {
			got, refundFiles = rs, refunds
			var answers []store.MailboxFile
			for _, r := range rs {
				answers = append(answers, store.MailboxFile{ID: store.NewFileID("mbx"), BankID: sg, Kind: "camt.029.001.09", Content: []byte("answer about " + r.Payment.ID)})
			}
			return answers, store.InboundFile{Status: "PART", Accepted: 3, Rejected: 4, Result: []byte(`{"ok":true}`)}, nil
		}
		file, err := e.s.ReceiveCancellation(ctx, in, cs, clearing.Actor{Role: clearing.RoleBank, Subject: sg}, log.file, answer)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids[:3] {
			if got[i].Err != nil || got[i].Payment.ID != id || got[i].Payment.State != clearing.Refunded {
				t.Fatalf("cancellation %d: %+v", i, got[i])
			}
			if f := refundFiles[id]; f.InReplyTo != in.ID || string(f.Content) != "refund of "+id {
				t.Fatalf("refund file of %s: %+v", id, f)
			}
			_, events, _ := e.s.Payment(ctx, id)
			if last := events[len(events)-1]; last.Actor != "system:cancellation" || last.Reason != cs[i].Reason || last.To != clearing.Refunded {
				t.Fatalf("event %+v", last)
			}
		}
		if log.refunds[1].Returned.String() != "15.00 EUR" || log.refunds[1].Paid.String() != "20.00 EUR" || log.refunds[2].Cause != store.RefundCancellation {
			t.Fatalf("refunds %+v", log.refunds)
		}
		wantCode(t, got[3].Err, "already_released", "uetr")
		wantCode(t, got[4].Err, "already_refunded", "uetr")
		wantCode(t, got[5].Err, "payment_not_found", "uetr")
		wantCode(t, got[6].Err, "payment_not_found", "uetr")
		if got[3].Payment.ID != released.ID || got[5].Payment.ID != "" {
			t.Fatalf("refusals carry the payment only when it is the sender's: %+v / %+v", got[3], got[5])
		}
		if p, _, _ := e.s.Payment(ctx, others.ID); p.State != clearing.Held {
			t.Fatalf("another bank's payment was touched: %s", p.State)
		}
		files := mailbox(t, e.s, sg, before)
		var want []string
		for _, id := range ids[:3] {
			want = append(want, "pacs.004.001.09: refund of "+id)
		}
		for _, r := range got {
			want = append(want, "camt.029.001.09: answer about "+r.Payment.ID)
		}
		slices.Sort(want)
		wantLines(t, contents(files), want)
		for _, f := range files {
			if f.InReplyTo != in.ID {
				t.Fatalf("file %+v does not answer %s", f, in.ID)
			}
		}
		if f := files[file.ReplyID]; f.Kind != "camt.029.001.09" || file.Status != "PART" || file.Accepted != 3 || string(file.Result) != `{"ok":true}` {
			t.Fatalf("file %+v replied by %+v", file, f)
		}
		if prev, ok, _ := e.s.InboundFileByMsgID(ctx, sg, "CXL-1"); !ok || prev.ID != in.ID {
			t.Fatalf("request not recorded: %+v", prev)
		}
		e.ledgerOK(t)

		// The same MsgId again is refused before anything happens.
		again := in
		again.ID = store.NewFileID("fil")
		if _, err := e.s.ReceiveCancellation(ctx, again, cs[:1], storetest.Operator, log.file, answer); !errors.Is(err, store.ErrDuplicateMessage) {
			t.Fatalf("second claim: %v", err)
		}

		// Answers that cannot be built undo the refunds.
		last := e.hold(t, 1, 0, "9.00")
		snap := e.snapshot(t)
		boom := errors.New("boom")
		in2 := store.InboundFile{ID: store.NewFileID("fil"), Sender: sg, MsgID: "CXL-2", Message: "camt.056.001.08", SHA256: "y", Size: 1}
		_, err = e.s.ReceiveCancellation(ctx, in2, []store.Cancellation{{PaymentID: last.ID}}, storetest.Operator, log.file,
			func([]store.Result, map[string]store.MailboxFile) ([]store.MailboxFile, store.InboundFile, error) {
				return nil, store.InboundFile{}, boom
			})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		e.unchanged(t, snap)
		if _, ok, _ := e.s.InboundFileByMsgID(ctx, sg, "CXL-2"); ok || len(mailbox(t, e.s, sg)) != len(before)+10 {
			t.Fatal("a broken answer left the request or a file behind")
		}
	})
}

// TestSettlePositions: net positions of a closed cycle are marked settled
// in one go; one settled before, or twice in the batch, is reported
// already settled; unknown ones are refused without stopping the rest;
// the last one settles the cycle. Candidates are the participants'
// non-zero positions of unsettled cycles, and of the cycles asked for.
func TestSettlePositions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		sg, us, de := e.w.Banks[1].ID, e.w.Banks[2].ID, e.w.Banks[0].ID
		for _, h := range []struct{ bank int }{{1}, {2}} {
			p := e.hold(t, h.bank, 0, "100.00")
			e.act(t, p.ID, clearing.Action{Kind: clearing.ActionRelease})
		}
		c, err := e.s.CloseCycle(ctx, storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		cands, err := e.s.SettlementCandidates(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range cands {
			names = append(names, p.Participant+" "+p.Currency)
			if p.CycleID != c.ID || !p.SettledAt.IsZero() {
				t.Fatalf("candidate %+v", p)
			}
		}
		wantLines(t, names, []string{us + " EUR", sg + " EUR", de + " EUR"}) // by cycle, owner, currency

		bank := clearing.Actor{Role: clearing.RoleBank, Subject: "ECBFDEFF"}
		key := func(owner string) store.PositionKey {
			return store.PositionKey{CycleID: c.ID, Owner: owner, Currency: "EUR"}
		}
		res, err := e.s.SettlePositions(ctx, []store.PositionKey{key(sg), key(sg), key("NOPEXXXX"), {CycleID: 99, Owner: sg, Currency: "EUR"}, {CycleID: 2, Owner: sg, Currency: "EUR"}}, bank, "pacs.002 SB-1")
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || res[0].Position.SettledBy != "bank:ECBFDEFF" || res[0].Position.NetMinor != -10000 || res[0].CycleState != clearing.CycleClosed {
			t.Fatalf("first %+v", res[0])
		}
		wantCode(t, res[1].Err, "already_settled", "participant")
		if !res[1].Position.SettledAt.Equal(res[0].Position.SettledAt) {
			t.Fatalf("second %+v", res[1])
		}
		wantCode(t, res[2].Err, "position_not_found", "participant")
		wantCode(t, res[3].Err, "cycle_not_found", "cycle_id")
		wantCode(t, res[4].Err, "cycle_not_closed", "cycle_id")
		if auditCount(t, e, "cycle.settle_position", "1") != 1 {
			t.Fatal("one position marked, one audit entry")
		}

		res, err = e.s.SettlePositions(ctx, []store.PositionKey{key(us), key(de)}, bank, "camt.054 SB-2")
		if err != nil || res[0].Err != nil || res[1].Err != nil || res[0].CycleState != clearing.CycleSettled || res[1].CycleState != clearing.CycleSettled {
			t.Fatalf("%v %+v", err, res)
		}
		if c, _ := e.s.Cycle(ctx, c.ID); c.State != clearing.CycleSettled || c.SettledAt.IsZero() {
			t.Fatalf("cycle %+v", c)
		}
		if cands, _ := e.s.SettlementCandidates(ctx, nil); len(cands) != 0 {
			t.Fatalf("a settled cycle's positions are no candidates unless asked for: %+v", cands)
		}
		if cands, _ := e.s.SettlementCandidates(ctx, []int64{c.ID}); len(cands) != 3 || cands[0].SettledAt.IsZero() {
			t.Fatalf("asked for: %+v", cands)
		}
	})
}
