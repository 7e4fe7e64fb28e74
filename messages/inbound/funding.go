package inbound

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
)

// A net debit bank funds its position of a closed cycle with a pacs.009
// (.08 or .09) to the settlement account. Each transfer names the position
// by the id of the pacs.009 crossclear sent for it (C<cycle>-9-<bank>-<ccy>,
// as its EndToEndId, InstrId or first RmtInf/Ustrd); it settles the
// position when the debtor is the uploading bank, the position is that
// bank's debit of a closed cycle, and the currency and amount are exactly
// the position's. The file is claimed on (bank, MsgId) like a settlement
// confirmation, its positions are marked through the same store path
// (store.ReceiveSettlement) and its pacs.002 goes into the bank's mailbox,
// all in one transaction: the same file again replays the first answer.

// Reasons a funding transfer is refused, besides the decoder's.
const (
	reasonFundingWrongAmount = iso.Reason("AM09")  // WrongAmount: not |net|
	reasonFundingDuplicate   = iso.ReasonDuplicate // DUPL: the position is settled already
)

func receiveFunding(ctx context.Context, st *store.Store, bank string, f *iso.Funding, raw []byte, cfg Config, by clearing.Actor) (*Result, error) {
	sum := store.SHA256Hex(raw)
	if f.MsgID == "" {
		return nil, &FileError{Code: "malformed_file", Err: &iso.Error{Reason: iso.ReasonMissing, Element: "GrpHdr/MsgId",
			Msg: "a pacs.009 needs its MsgId: it is what makes sending it twice harmless"}}
	}
	if prev, ok, err := st.SettlementFileByMsgID(ctx, bank, f.MsgID); err != nil {
		return nil, err
	} else if ok {
		return replaySettlement(prev, sum)
	}
	refs := make([]string, 0, len(f.Transfers))
	for _, t := range f.Transfers {
		refs = append(refs, t.Reference)
	}
	idx, err := positionIndexOf(ctx, st, refs)
	if err != nil {
		return nil, err
	}
	debtors := map[string]string{} // BIC as written → participant id
	items := make([]SettlementJSON, len(f.Transfers))
	outcomes := make([]iso.TxOutcome, len(f.Transfers))
	refuse := func(i int, e *iso.Error) {
		items[i].Error, items[i].Status, items[i].Reason = errJSON(e), iso.StatusRejected, string(e.Reason)
		outcomes[i] = iso.TxOutcome{Status: iso.StatusRejected, Reason: e.Reason, Info: e.Error()}
	}
	var keys []store.PositionKey
	var at []int
	for i, t := range f.Transfers {
		j := &items[i]
		*j = SettlementJSON{Element: t.Element, Line: t.Line, MsgID: t.Reference, EndToEndID: t.EndToEndID, UETR: t.UETR, Outcome: outcomeRefused}
		if t.Problem != nil {
			refuse(i, t.Problem)
			continue
		}
		debtor, ok := debtors[t.Debtor]
		if !ok {
			if debtor, err = st.ParticipantID(ctx, t.Debtor); err != nil {
				return nil, err
			}
			debtors[t.Debtor] = debtor
		}
		if debtor != bank {
			refuse(i, &iso.Error{Reason: iso.ReasonBankIdentifier, Element: t.Element + "/Dbtr/FinInstnId/BICFI", Line: t.Line,
				Msg: fmt.Sprintf("the debtor is %s, but the file was uploaded by %s: a bank funds its own net position", t.Debtor, bank)})
			continue
		}
		pos, ok := idx.byMsgID[t.Reference]
		if !ok || pos.Participant != bank || pos.NetMinor >= 0 {
			refuse(i, &iso.Error{Reason: iso.ReasonNarrative, Element: t.Element + "/" + t.ReferenceAt, Line: t.Line,
				Msg: fmt.Sprintf("%s names no net debit position of %s in a closed cycle: give the id of the pacs.009 crossclear sent you for it", t.Reference, bank)})
			continue
		}
		j.describe(pos)
		want := fx.MustCurrency(pos.Currency).FromMinor(-pos.NetMinor)
		if t.Amount.Currency != pos.Currency {
			refuse(i, &iso.Error{Reason: iso.ReasonCurrency, Element: t.Element + "/IntrBkSttlmAmt", Line: t.Line,
				Msg: fmt.Sprintf("the transfer is in %q, but the position %s is %s %s: nothing is marked settled", t.Amount.Currency, positionName(pos), want.Value(), pos.Currency)})
			continue
		}
		got, perr := t.Amount.Parse()
		if perr != nil {
			refuse(i, &iso.Error{Reason: iso.ReasonInvalidAmount, Element: t.Element + "/IntrBkSttlmAmt", Line: t.Line, Msg: fmt.Sprintf("%q: %v", t.Amount.Value, perr)})
			continue
		}
		if got != want {
			refuse(i, &iso.Error{Reason: reasonFundingWrongAmount, Element: t.Element + "/IntrBkSttlmAmt", Line: t.Line,
				Msg: fmt.Sprintf("the transfer pays %s %s, but the position %s is %s %s: pay it exactly, nothing is marked settled", t.Amount.Value, t.Amount.Currency, positionName(pos), want.Value(), pos.Currency)})
			continue
		}
		keys = append(keys, pos.Key())
		at = append(at, i)
	}
	id := store.NewFileID("fil")
	replyID := store.NewFileID("mbx")
	var res *Result
	answer := func(results []store.SettleResult) (store.SettlementFile, error) {
		for k, r := range results {
			i := at[k]
			j := &items[i]
			j.CycleState = string(r.CycleState)
			ce, _ := clearing.AsError(r.Err)
			switch {
			case r.Err == nil:
				j.Outcome, j.Status = outcomeSettled, iso.StatusSettled
				outcomes[i] = iso.TxOutcome{Status: iso.StatusSettled}
				j.SettledAt, j.SettledBy = r.Position.SettledAt.Format(time.RFC3339Nano), r.Position.SettledBy
			case ce != nil && ce.Code == "already_settled":
				refuse(i, &iso.Error{Reason: reasonFundingDuplicate, Element: j.Element, Line: j.Line, Msg: ce.Msg + ": it is not paid twice"})
				j.Outcome = outcomeAlreadySettled
				j.SettledAt, j.SettledBy = r.Position.SettledAt.Format(time.RFC3339Nano), r.Position.SettledBy
			case ce != nil:
				refuse(i, &iso.Error{Reason: reasonNotSettlable, Element: j.Element, Line: j.Line, Msg: ce.Msg})
			default:
				return store.SettlementFile{}, r.Err
			}
		}
		settled := 0
		for _, j := range items {
			if j.Outcome == outcomeSettled {
				settled++
			}
		}
		now := st.Now()
		rep := iso.FundingReply(f, outcomes, iso.ReplyParams{From: cfg.OperatorBIC, To: bank, MsgID: replyMsgID(now), Now: now})
		content, err := rep.Encode()
		if err != nil {
			return store.SettlementFile{}, fmt.Errorf("encode pacs.002: %w", err)
		}
		res = &Result{
			File: FileJSON{ID: id, Sender: bank, Kind: iso.KindFunding, Message: f.Name, MsgID: f.MsgID, SHA256: sum, Size: int64(len(raw)),
				Status: rep.Original.Status, Accepted: settled, Rejected: len(items) - settled, ReceivedAt: now.Format(time.RFC3339Nano)},
			Reply:        &ReplyRef{ID: replyID, Kind: iso.Pacs002v10, SHA256: store.SHA256Hex(content)},
			Transactions: []TxJSON{},
			Settlements:  items,
		}
		stored, err := json.Marshal(res)
		return store.SettlementFile{Status: rep.Original.Status, Accepted: settled, Rejected: len(items) - settled, Result: stored,
			Reply: &store.MailboxFile{ID: replyID, BankID: bank, Kind: iso.Pacs002v10, Content: content}}, err
	}
	note := fmt.Sprintf("%s %s from %s (file %s)", f.Name, f.MsgID, bank, id)
	in := store.SettlementFile{ID: id, Sender: bank, MsgID: f.MsgID, Message: f.Name, SHA256: sum, Size: int64(len(raw))}
	return claimSettlementFile(ctx, st, in, keys, by, note, answer, &res)
}
