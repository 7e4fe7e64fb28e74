package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/outbound"
)

// A settlement confirmation (a pacs.002 or a camt.054 from the settlement
// bank, or uploaded by the operator) says which of the pacs.009s sent for
// closed cycles' net positions were paid. Each item is matched to its
// position by recomputing the pacs.009's ids (outbound.PositionRef); the
// settled ones are marked in one transaction, and a cycle whose last
// position is marked becomes settled. Nothing is answered by file: the
// API's answer lists every item. The file is claimed on (sender, MsgId):
// the same file again replays its first answer, another file reusing the
// MsgId is refused (DU01); a position confirmed again by a new file is
// reported already_settled.

// Outcomes of a settlement confirmation's item.
const (
	outcomeSettled        = "settled"         // this file marked the position settled
	outcomeAlreadySettled = "already_settled" // it was, before or by an earlier item of the file
	outcomeFailed         = "failed"          // the settlement bank rejected the pacs.009 (RJCT): nothing marked
	outcomePending        = "pending"         // not final yet (ACSP, PDNG, an entry not booked): nothing marked
	outcomeRefused        = "refused"         // crossclear cannot use the item (Error says why): nothing marked
)

// Reasons crossclear gives for an item it cannot use, besides the
// decoder's (CH21 nothing named, FF01 about another message…).
const (
	reasonNoPacs009    iso.Reason = "NOOR" // NoOriginalTransactionReceived: no pacs.009 of crossclear's has these ids
	reasonWrongAmount  iso.Reason = "AM09" // WrongAmount: not the net position's amount
	reasonNotSettlable iso.Reason = "AG01" // TransactionForbidden: the cycle or position cannot be settled (open, gone)
)

// SettlementJSON is one item of a settlement confirmation and what became
// of it.
type SettlementJSON struct {
	Element     string     `json:"element"` // "TxInfAndSts[0]", "Ntfctn[0]/Ntry[1]/NtryDtls/TxDtls[0]"
	Line        int        `json:"line,omitempty"`
	MsgID       string     `json:"msg_id,omitempty"` // the pacs.009's, as the item names it
	EndToEndID  string     `json:"end_to_end_id,omitempty"`
	UETR        string     `json:"uetr,omitempty"`
	Status      string     `json:"status"` // as written: ACSC, RJCT, BOOK…
	Reason      string     `json:"reason,omitempty"`
	Info        string     `json:"info,omitempty"` // the settlement bank's, of a RJCT
	Outcome     string     `json:"outcome"`
	CycleID     int64      `json:"cycle_id,omitempty"` // the position, once matched
	Participant string     `json:"participant,omitempty"`
	Currency    string     `json:"currency,omitempty"`
	Net         string     `json:"net,omitempty"` // the position's net: below zero the bank paid in
	SettledAt   string     `json:"settled_at,omitempty"`
	SettledBy   string     `json:"settled_by,omitempty"`
	CycleState  string     `json:"cycle_state,omitempty"` // open, closed, settled
	Error       *ErrorJSON `json:"error,omitempty"`
}

func receiveSettlement(ctx context.Context, st *store.Store, bank string, c *iso.SettlementConfirmation, raw []byte, cfg Config, by clearing.Actor) (*Result, error) {
	// The operator's uploads share one MsgId space, whichever key sent them.
	sender, shown := bank, bank
	if by.Role == clearing.RoleOperator {
		sender, shown = string(clearing.RoleOperator), by.String()
	}
	sum := store.SHA256Hex(raw)
	if c.MsgID == "" {
		return nil, &FileError{Code: "malformed_file", Err: &iso.Error{Reason: iso.ReasonMissing, Element: "GrpHdr/MsgId",
			Msg: "a settlement confirmation needs its MsgId: it is what makes sending it twice harmless"}}
	}
	if prev, ok, err := st.SettlementFileByMsgID(ctx, sender, c.MsgID); err != nil {
		return nil, err
	} else if ok {
		return replaySettlement(prev, sum)
	}
	id := store.NewFileID("fil")
	idx, err := newPositionIndex(ctx, st, c.Items)
	if err != nil {
		return nil, err
	}
	items := make([]SettlementJSON, len(c.Items))
	var keys []store.PositionKey
	var at []int // at[k]: the item of keys[k]
	for i, it := range c.Items {
		j := &items[i]
		*j = SettlementJSON{Element: it.Element, Line: it.Line, MsgID: it.MsgID, EndToEndID: it.EndToEndID, UETR: it.UETR,
			Status: it.Status, Reason: it.Reason, Info: it.Info, Outcome: outcomeRefused}
		if it.Problem != nil {
			j.Error = errJSON(it.Problem)
			continue
		}
		pos, e := idx.match(it)
		if e != nil {
			j.Error = errJSON(e)
			continue
		}
		j.describe(pos)
		switch it.Outcome {
		case iso.SettlementFailed:
			j.Outcome = outcomeFailed
			continue
		case iso.SettlementPending:
			j.Outcome = outcomePending
			continue
		}
		if e := checkAmount(c.Name, it, pos); e != nil {
			j.Error = errJSON(e)
			continue
		}
		keys = append(keys, pos.Key())
		at = append(at, i)
	}
	var res *Result
	answer := func(results []store.SettleResult) (store.SettlementFile, error) {
		for k, r := range results {
			j := &items[at[k]]
			j.CycleState = string(r.CycleState)
			ce, _ := clearing.AsError(r.Err)
			switch {
			case r.Err == nil:
				j.Outcome = outcomeSettled
			case ce != nil && ce.Code == "already_settled":
				j.Outcome = outcomeAlreadySettled
			case ce != nil:
				j.Error = &ErrorJSON{Reason: string(reasonNotSettlable), Element: j.Element, Line: j.Line, Message: ce.Msg}
				continue
			default:
				return store.SettlementFile{}, r.Err
			}
			j.SettledAt, j.SettledBy = r.Position.SettledAt.Format(time.RFC3339Nano), r.Position.SettledBy
		}
		accepted := 0
		for _, j := range items {
			if j.Outcome == outcomeSettled || j.Outcome == outcomeAlreadySettled {
				accepted++
			}
		}
		status := groupStatus(accepted, len(items))
		res = &Result{
			File: FileJSON{ID: id, Sender: shown, Kind: iso.KindSettlement, Message: c.Name, MsgID: c.MsgID, SHA256: sum, Size: int64(len(raw)),
				Status: status, Accepted: accepted, Rejected: len(items) - accepted, ReceivedAt: st.Now().Format(time.RFC3339Nano)},
			Transactions: []TxJSON{},
			Settlements:  items,
		}
		stored, err := json.Marshal(res)
		return store.SettlementFile{Status: status, Accepted: accepted, Rejected: len(items) - accepted, Result: stored}, err
	}
	note := fmt.Sprintf("%s %s from %s (file %s)", c.Name, c.MsgID, shown, id)
	in := store.SettlementFile{ID: id, Sender: sender, MsgID: c.MsgID, Message: c.Name, SHA256: sum, Size: int64(len(raw))}
	return claimSettlementFile(ctx, st, in, keys, by, note, answer, &res)
}

// claimSettlementFile applies a file that settles positions (a settlement
// confirmation, a bank's funding) claimed on (sender, MsgId): answer
// fills *res inside the store's transaction; the same file again replays
// the first answer.
func claimSettlementFile(ctx context.Context, st *store.Store, in store.SettlementFile, keys []store.PositionKey, by clearing.Actor, note string,
	answer store.SettlementAnswer, res **Result) (*Result, error) {
	file, err := st.ReceiveSettlement(ctx, in, keys, by, note, answer)
	if errors.Is(err, store.ErrDuplicateMessage) {
		prev, ok, lerr := st.SettlementFileByMsgID(ctx, in.Sender, in.MsgID)
		if lerr != nil || !ok {
			return nil, err
		}
		return replaySettlement(prev, in.SHA256)
	}
	if err != nil {
		return nil, err
	}
	(*res).File.ReceivedAt = file.ReceivedAt.Format(time.RFC3339Nano)
	return *res, nil
}

// replaySettlement answers a confirmation's MsgId sent again: the first
// answer for the same bytes, DU01 for other content.
func replaySettlement(prev store.SettlementFile, sum string) (*Result, error) {
	return replay(store.InboundFile{ID: prev.ID, MsgID: prev.MsgID, SHA256: prev.SHA256, Result: prev.Result, ReceivedAt: prev.ReceivedAt}, sum)
}

func (j *SettlementJSON) describe(p store.CyclePosition) {
	j.CycleID, j.Participant, j.Currency = p.CycleID, p.Participant, p.Currency
	j.Net = fx.MustCurrency(p.Currency).FromMinor(p.NetMinor).Value()
}

// checkAmount compares the amount an item states, if any, with the
// position's. A pacs.002 states what the pacs.009 moved, |net|; a
// camt.054 states the entry on the settlement account, signed: a net
// debtor's pay-in credits it (−net > 0), a payout to a net creditor debits
// it (−net < 0).
func checkAmount(message string, it iso.Confirmation, p store.CyclePosition) *iso.Error {
	if it.Amount == nil {
		return nil
	}
	ccy := fx.MustCurrency(p.Currency)
	want, what := ccy.FromMinor(max(p.NetMinor, -p.NetMinor)), "moved"
	if message == iso.Camt054v08 {
		want, what = ccy.FromMinor(-p.NetMinor), "is, on the settlement account,"
	}
	got, err := it.Amount.Parse()
	if err == nil && got == want {
		return nil
	}
	return &iso.Error{Reason: reasonWrongAmount, Element: it.Element, Line: it.Line,
		Msg: fmt.Sprintf("the item says %s %s, but the pacs.009 %s %s %s: nothing is marked settled", it.Amount.Value, it.Amount.Currency, positionName(p), what, want)}
}

func positionName(p store.CyclePosition) string {
	return fmt.Sprintf("of cycle %d for %s in %s", p.CycleID, p.Participant, p.Currency)
}

// positionIndex finds net positions by their pacs.009's MsgId (which is
// also its EndToEndId) and UETR.
type positionIndex struct {
	byMsgID, byUETR map[string]store.CyclePosition
}

// cycleInID reads the cycle out of a pacs.009 id ("C42-9-DBSSSGSG-EUR").
var cycleInID = regexp.MustCompile(`^C([0-9]{1,18})-9-`)

// maxNamedCycles bounds the cycles one confirmation may name besides the
// unsettled ones (whose positions are always candidates).
const maxNamedCycles = 1000

// newPositionIndex loads the positions items may be about: those of every
// closed cycle not yet settled, and those of the cycles the items' ids
// name, so that a position confirmed a second time is recognised.
func newPositionIndex(ctx context.Context, st *store.Store, items []iso.Confirmation) (*positionIndex, error) {
	var refs []string
	for _, it := range items {
		refs = append(refs, it.MsgID, it.EndToEndID)
	}
	return positionIndexOf(ctx, st, refs)
}

// positionIndexOf loads the positions of every closed cycle not yet
// settled and of the cycles refs name.
func positionIndexOf(ctx context.Context, st *store.Store, refs []string) (*positionIndex, error) {
	named := map[int64]bool{}
	for _, ref := range refs {
		if m := cycleInID.FindStringSubmatch(ref); m != nil && len(named) < maxNamedCycles {
			if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				named[n] = true
			}
		}
	}
	cycles := make([]int64, 0, len(named))
	for n := range named {
		cycles = append(cycles, n)
	}
	cands, err := st.SettlementCandidates(ctx, cycles)
	if err != nil {
		return nil, err
	}
	idx := &positionIndex{byMsgID: make(map[string]store.CyclePosition, len(cands)), byUETR: make(map[string]store.CyclePosition, len(cands))}
	for _, p := range cands {
		msgID, uetr := outbound.PositionRef(p.CycleID, p.Participant, p.Currency)
		idx.byMsgID[msgID], idx.byUETR[uetr] = p, p
	}
	return idx, nil
}

// match finds the position an item names. Every id it gives must name
// the same pacs.009.
func (x *positionIndex) match(it iso.Confirmation) (store.CyclePosition, *iso.Error) {
	var found *store.CyclePosition
	for _, ref := range []struct {
		what, id string
		in       map[string]store.CyclePosition
	}{{"MsgId", it.MsgID, x.byMsgID}, {"EndToEndId", it.EndToEndID, x.byMsgID}, {"UETR", it.UETR, x.byUETR}} {
		if ref.id == "" {
			continue
		}
		p, ok := ref.in[ref.id]
		if !ok {
			return store.CyclePosition{}, &iso.Error{Reason: reasonNoPacs009, Element: it.Element, Line: it.Line,
				Msg: fmt.Sprintf("crossclear sent no pacs.009 with %s %s for a net position of a closed cycle", ref.what, ref.id)}
		}
		if found != nil && found.Key() != p.Key() {
			return store.CyclePosition{}, &iso.Error{Reason: reasonNoPacs009, Element: it.Element, Line: it.Line,
				Msg: fmt.Sprintf("the item's ids name two pacs.009s: the one %s and, by its %s, the one %s", positionName(*found), ref.what, positionName(p))}
		}
		found = &p
	}
	if found == nil { // the decoder gives such an item a Problem
		return store.CyclePosition{}, &iso.Error{Reason: iso.ReasonMissing, Element: it.Element, Line: it.Line, Msg: "the item names no pacs.009"}
	}
	return *found, nil
}
