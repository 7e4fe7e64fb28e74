package iso

import (
	"fmt"
	"strings"

	"github.com/moov-io/iso20022/pkg/pacs_v10"
)

// Outcome is what a settlement confirmation says became of a pacs.009.
type Outcome string

const (
	Settled          Outcome = "settled" // pacs.002 ACSC/ACCC, camt.054 entry BOOK
	SettlementFailed Outcome = "failed"  // pacs.002 RJCT
	// SettlementPending is any other status (ACSP, PDNG, a camt.054 entry
	// not yet booked…): nothing changes, the confirmation is kept.
	SettlementPending Outcome = "pending"
)

// SettlementConfirmation is what the settlement bank (or the operator)
// says about the pacs.009s crossclear sent for a cycle's net positions: a
// pacs.002.001.10 status report, or a camt.054.001.08 notification of the
// entries on the settlement account. Each item names one pacs.009 by its
// MsgId, EndToEndId and/or UETR; matching them to net positions is the
// store's.
type SettlementConfirmation struct {
	Name    string         `json:"message"`
	Header  *AppHdr        `json:"app_hdr,omitempty"`
	MsgID   string         `json:"msg_id"`
	CreDtTm string         `json:"cre_dt_tm,omitempty"`
	Items   []Confirmation `json:"items"`
}

// Confirmation is one item: the pacs.009 it is about and its outcome. An
// item crossclear cannot use (it names no pacs.009, or the status of
// another message) has a Problem and is reported, never dropped.
type Confirmation struct {
	Element    string  `json:"element"` // "TxInfAndSts[0]", "Ntfctn[0]/Ntry[1]/NtryDtls/TxDtls[0]"
	Line       int     `json:"line"`
	MsgID      string  `json:"msg_id,omitempty"` // the pacs.009's
	EndToEndID string  `json:"end_to_end_id,omitempty"`
	UETR       string  `json:"uetr,omitempty"`
	Status     string  `json:"status"` // as written: ACSC, RJCT…; BOOK, PDNG…
	Outcome    Outcome `json:"outcome"`
	Reason     string  `json:"reason,omitempty"` // of a RJCT
	Info       string  `json:"info,omitempty"`
	Amount     *Amount `json:"amount,omitempty"` // as the file says, when it does
	At         string  `json:"at,omitempty"`     // when it settled: AccptncDtTm, FctvIntrBkSttlmDt, BookgDt
	Problem    *Error  `json:"problem,omitempty"`
}

// DecodeSettlementConfirmation reads a pacs.002.001.10 or a camt.054.001.08
// as a settlement confirmation.
func DecodeSettlementConfirmation(env *Envelope) (*SettlementConfirmation, error) {
	var (
		c   *SettlementConfirmation
		err error
	)
	switch env.MessageName() {
	case Pacs002v10:
		c, err = confirmationsOfStatus(env)
	case Camt054v08:
		c, err = confirmationsOfNotification(env)
	default:
		return nil, unsupported("Document", env.Line, "%s is not a settlement confirmation: send a %s or a %s", env.MessageName(), Pacs002v10, Camt054v08)
	}
	if err != nil {
		return nil, err
	}
	if len(c.Items) == 0 {
		return nil, errorf(ReasonMissing, "Document", env.Line, "the %s holds no status and no entry: it confirms nothing", c.Name)
	}
	for i := range c.Items {
		c.Items[i].check()
	}
	return c, nil
}

// outcomeOf maps a pacs.002 transaction or group status.
func outcomeOf(status string) Outcome {
	switch status {
	case "ACSC", "ACCC":
		return Settled
	case StatusRejected:
		return SettlementFailed
	}
	return SettlementPending
}

func confirmationsOfStatus(env *Envelope) (*SettlementConfirmation, error) {
	c := &SettlementConfirmation{Name: Pacs002v10}
	if env.HeaderXML != nil {
		h, err := decodeHeader(env)
		if err != nil {
			return nil, err
		}
		c.Header = h
	}
	parts, root, err := cut(env.Document, "FIToFIPmtStsRpt", func(p []string) bool {
		return len(p) == 1 && (p[0] == "GrpHdr" || p[0] == "OrgnlGrpInfAndSts" || p[0] == "TxInfAndSts")
	})
	if err != nil {
		return nil, err
	}
	var (
		group    *part
		txs      []*part
		sawGroup bool
	)
	for _, p := range parts {
		switch p.name {
		case "GrpHdr":
			if err := unmarshalPart(p, Pacs002v10, &pacs_v10.GroupHeader91{}); err != nil {
				return nil, err
			}
			sawGroup = true
			c.MsgID, c.CreDtTm = p.text("MsgId"), p.text("CreDtTm")
		case "OrgnlGrpInfAndSts":
			if err := unmarshalPart(p, Pacs002v10, &pacs_v10.OriginalGroupHeader17{}); err != nil {
				return nil, err
			}
			group = p
		case "TxInfAndSts":
			if err := unmarshalPart(p, Pacs002v10, &pacs_v10.PaymentTransaction110{}); err != nil {
				return nil, err
			}
			txs = append(txs, p)
		}
	}
	if !sawGroup {
		return nil, errorf(ReasonFileFormat, "FIToFIPmtStsRpt/GrpHdr", root, "the message has no GrpHdr")
	}
	groupText := func(path string) string {
		if group == nil {
			return ""
		}
		return group.text(path)
	}
	if len(txs) == 0 && group != nil {
		// The group's status is the status of every transaction of the
		// original message: crossclear's pacs.009s carry one each.
		it := Confirmation{Element: "OrgnlGrpInfAndSts", Line: group.line, MsgID: group.text("OrgnlMsgId"), Status: group.text("GrpSts"),
			Reason: group.text("StsRsnInf/Rsn/Cd"), Info: group.text("StsRsnInf/AddtlInf")}
		it.Problem = notAPacs009(group.text("OrgnlMsgNmId"), it.Element+"/OrgnlMsgNmId", group.elems["OrgnlMsgNmId"].line)
		c.Items = append(c.Items, it)
	}
	for i, p := range txs {
		it := Confirmation{Element: indexed("TxInfAndSts", i), Line: p.line,
			MsgID: p.text("OrgnlGrpInf/OrgnlMsgId"), EndToEndID: p.text("OrgnlEndToEndId"), UETR: p.text("OrgnlUETR"),
			Status: p.text("TxSts"), Reason: p.text("StsRsnInf/Rsn/Cd"), Info: p.text("StsRsnInf/AddtlInf"),
			Amount: optAmount(p, "OrgnlTxRef/IntrBkSttlmAmt"), At: p.text("AccptncDtTm")}
		if it.At == "" {
			it.At = dateOrTimeAt(p, "FctvIntrBkSttlmDt")
		}
		name, nameElem := p.text("OrgnlGrpInf/OrgnlMsgNmId"), "OrgnlGrpInf/OrgnlMsgNmId"
		if it.MsgID == "" {
			it.MsgID, name, nameElem = groupText("OrgnlMsgId"), groupText("OrgnlMsgNmId"), "../OrgnlGrpInfAndSts/OrgnlMsgNmId"
		}
		if it.Status == "" {
			it.Status = groupText("GrpSts")
		}
		it.Problem = notAPacs009(name, it.Element+"/"+strings.TrimPrefix(nameElem, "../"), p.elems[nameElem].line)
		c.Items = append(c.Items, it)
	}
	return c, nil
}

// notAPacs009 refuses a confirmation of another message than a pacs.009.
func notAPacs009(name, elem string, line int) *Error {
	if name == "" || strings.HasPrefix(name, "pacs.009.") {
		return nil
	}
	return &Error{Reason: ReasonFileFormat, Element: elem, Line: line,
		Msg: fmt.Sprintf("this is about a %s: crossclear takes confirmations of the pacs.009s it sends for net positions", name)}
}

func confirmationsOfNotification(env *Envelope) (*SettlementConfirmation, error) {
	r, lines, err := decodeCashReport(env)
	if err != nil {
		return nil, err
	}
	c := &SettlementConfirmation{Name: Camt054v08, MsgID: r.MsgID, CreDtTm: r.CreDtTm}
	if r.Header.MsgDefIdr != "" {
		h := r.Header
		c.Header = &h
	}
	for i, a := range r.Accounts {
		for j, e := range a.Entries {
			at := fmt.Sprintf("Ntfctn[%d]/Ntry[%d]", i, j)
			it := Confirmation{Element: at, Line: lines[i][j].line, Status: e.Status, Outcome: SettlementPending, At: e.BookedAt,
				Problem: notAPacs009(e.MsgNameID, at+"/AddtlInfInd/MsgNmId", lines[i][j].line)}
			if e.Status == EntryBooked {
				it.Outcome = Settled
			}
			if len(e.Details) == 0 {
				a := e.Amount
				it.Amount = &a
				c.Items = append(c.Items, it)
				continue
			}
			for k, d := range e.Details {
				dt := it
				dt.Element, dt.Line = fmt.Sprintf("%s/NtryDtls/TxDtls[%d]", at, k), lines[i][j].details[k]
				dt.MsgID, dt.EndToEndID, dt.UETR, dt.Amount = d.MsgID, d.EndToEndID, d.UETR, d.Amount
				if dt.Amount == nil && len(e.Details) == 1 {
					a := e.Amount
					dt.Amount = &a
				}
				c.Items = append(c.Items, dt)
			}
		}
	}
	return c, nil
}

// check sets the outcome of a pacs.002 item and what makes an item
// unusable.
func (it *Confirmation) check() {
	if it.Outcome == "" {
		it.Outcome = outcomeOf(it.Status)
	}
	if it.Problem != nil {
		return
	}
	switch {
	case it.Status == "":
		it.Problem = &Error{Reason: ReasonMissing, Element: it.Element, Line: it.Line, Msg: "the item has no status"}
	case it.MsgID == "" && it.EndToEndID == "" && it.UETR == "":
		it.Problem = &Error{Reason: ReasonMissing, Element: it.Element, Line: it.Line,
			Msg: "the item names no pacs.009: give its MsgId, EndToEndId or UETR (OrgnlMsgId, OrgnlEndToEndId, OrgnlUETR; in a camt.054, NtryDtls/TxDtls/Refs)"}
	case it.UETR != "" && !validUETR(it.UETR):
		it.Problem = &Error{Reason: ReasonFormallyWrong, Element: it.Element, Line: it.Line, Msg: fmt.Sprintf("%q is not a UETR: a lower-case UUID v4", it.UETR)}
	}
}
