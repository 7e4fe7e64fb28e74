package iso

import (
	"fmt"
	"strings"
)

// Our own types for what crossclear reads from and writes to ISO 20022
// files. Amounts are the decimal text of the file with its currency code:
// they are parsed into exact minor units (fx) by validation, and never pass
// through a float.

// Message is one decoded inbound payment message: a pacs.008 (FI to FI
// customer credit transfer) or a pain.001 (customer credit transfer
// initiation), flattened to its transactions.
type Message struct {
	Name             string        `json:"message"` // "pacs.008.001.08"
	Header           *AppHdr       `json:"app_hdr,omitempty"`
	MsgID            string        `json:"msg_id"`
	CreDtTm          string        `json:"cre_dt_tm,omitempty"`             // as written, offset kept
	NbOfTxs          string        `json:"nb_of_txs,omitempty"`             // as written
	CtrlSum          string        `json:"ctrl_sum,omitempty"`              // as written, "" when absent
	TotalAmount      *Amount       `json:"ttl_intr_bk_sttlm_amt,omitempty"` // pacs.008 TtlIntrBkSttlmAmt
	SettlementDate   string        `json:"intr_bk_sttlm_dt,omitempty"`      // pacs.008 group IntrBkSttlmDt
	SettlementMethod string        `json:"sttlm_mtd,omitempty"`
	InstructingAgent *Agent        `json:"instg_agt,omitempty"` // group level (pacs.008)
	InstructedAgent  *Agent        `json:"instd_agt,omitempty"`
	InitiatingParty  *Party        `json:"initg_pty,omitempty"` // pain.001
	PaymentInfos     []PaymentInfo `json:"pmt_inf,omitempty"`   // pain.001
	Transactions     []Transaction `json:"transactions"`

	lines map[string]int // group element → line
}

// PaymentInfo is a pain.001 PmtInf block's own totals.
type PaymentInfo struct {
	ID      string `json:"pmt_inf_id"`
	NbOfTxs string `json:"nb_of_txs,omitempty"`
	CtrlSum string `json:"ctrl_sum,omitempty"`
	First   int    `json:"-"` // index of its first transaction
	Count   int    `json:"-"`
	Line    int    `json:"line"`
	lines   map[string]int
}

// AppHdr is the business application header (head.001.001.02).
type AppHdr struct {
	From       string `json:"fr"` // BICFI
	To         string `json:"to"` // BICFI
	BizMsgIdr  string `json:"biz_msg_idr"`
	MsgDefIdr  string `json:"msg_def_idr"`
	BizSvc     string `json:"biz_svc,omitempty"`
	CreDt      string `json:"cre_dt"` // as written, with its offset
	PssblDplct bool   `json:"pssbl_dplct,omitempty"`
}

// Amount is a decimal amount as written in the file, with its currency.
type Amount struct {
	Value    string `json:"value"`
	Currency string `json:"ccy"`
}

func (a Amount) String() string { return a.Value + " " + a.Currency }

// Agent is a financial institution as the file identifies it.
type Agent struct {
	BIC      string `json:"bicfi,omitempty"`
	ClrSys   string `json:"clr_sys,omitempty"` // ClrSysId/Cd or Prtry
	MemberID string `json:"mmb_id,omitempty"`
	LEI      string `json:"lei,omitempty"`
	Name     string `json:"nm,omitempty"`
}

// String names the agent the way a person would look for it.
func (a *Agent) String() string {
	switch {
	case a == nil:
		return "(none)"
	case a.BIC != "":
		return a.BIC
	case a.MemberID != "":
		return strings.TrimPrefix(a.ClrSys+" ", " ") + a.MemberID
	case a.LEI != "":
		return "LEI " + a.LEI
	}
	return a.Name
}

// Party is a debtor or creditor.
type Party struct {
	Name       string `json:"nm,omitempty"`
	Country    string `json:"ctry,omitempty"`      // of its postal address, else of residence
	ID         string `json:"id,omitempty"`        // AnyBIC, LEI or the first Othr/Id
	Address    string `json:"adr,omitempty"`       // PstlAdr beyond the country (parties.go)
	BirthDate  string `json:"birth_dt,omitempty"`  // Id/PrvtId/DtAndPlcOfBirth/BirthDt, as written
	BirthPlace string `json:"birth_plc,omitempty"` // CityOfBirth, CtryOfBirth
}

// Account is a cash account: an IBAN or another identification.
type Account struct {
	IBAN     string `json:"iban,omitempty"`
	Other    string `json:"othr,omitempty"`
	Currency string `json:"ccy,omitempty"`
}

// ID is the IBAN, else the other identification.
func (a *Account) ID() string {
	if a == nil {
		return ""
	}
	if a.IBAN != "" {
		return a.IBAN
	}
	return a.Other
}

// Transaction is one credit transfer.
type Transaction struct {
	Index            int      `json:"index"` // 0-based, in file order
	Line             int      `json:"line"`
	PaymentInfoID    string   `json:"pmt_inf_id,omitempty"` // pain.001
	InstrID          string   `json:"instr_id,omitempty"`
	EndToEndID       string   `json:"end_to_end_id"`
	TxID             string   `json:"tx_id,omitempty"`
	UETR             string   `json:"uetr"`
	Amount           Amount   `json:"amount"`              // pacs.008 IntrBkSttlmAmt, pain.001 InstdAmt
	InstructedAmount *Amount  `json:"instd_amt,omitempty"` // pacs.008 InstdAmt
	ExchangeRate     string   `json:"xchg_rate,omitempty"` // as written
	SettlementDate   string   `json:"sttlm_dt,omitempty"`  // pacs.008 IntrBkSttlmDt, pain.001 ReqdExctnDt
	ChargeBearer     string   `json:"chrg_br,omitempty"`
	InstructingAgent *Agent   `json:"instg_agt,omitempty"`
	InstructedAgent  *Agent   `json:"instd_agt,omitempty"`
	DebtorAgent      *Agent   `json:"dbtr_agt,omitempty"`
	CreditorAgent    *Agent   `json:"cdtr_agt,omitempty"`
	Debtor           *Party   `json:"dbtr,omitempty"`
	DebtorAccount    *Account `json:"dbtr_acct,omitempty"`
	Creditor         *Party   `json:"cdtr,omitempty"`
	CreditorAccount  *Account `json:"cdtr_acct,omitempty"`
	UltimateDebtor   *Party   `json:"ultmt_dbtr,omitempty"`
	UltimateCreditor *Party   `json:"ultmt_cdtr,omitempty"`
	Unstructured     []string `json:"ustrd,omitempty"` // RmtInf/Ustrd

	// Problems the decoder found in this transaction alone (an element
	// that does not decode); the rest of the file still decodes.
	Problems []*Error `json:"-"`

	prefix string         // "CdtTrfTxInf[2]" or "PmtInf[1]/CdtTrfTxInf[0]"
	lines  map[string]int // element (relative to the transaction) → line
}

// Reference is the order reference: the first unstructured remittance line.
func (t *Transaction) Reference() string {
	if len(t.Unstructured) == 0 {
		return ""
	}
	return t.Unstructured[0]
}

// Path names an element of the transaction from the message root:
// "CdtTrfTxInf[2]/PmtId/UETR" (indices count from 0).
// An elem starting with "../" is an element of the enclosing PmtInf.
func (t *Transaction) Path(elem string) string {
	if elem == "" {
		return t.prefix
	}
	if rest, ok := strings.CutPrefix(elem, "../"); ok {
		if i := strings.LastIndexByte(t.prefix, '/'); i > 0 {
			return t.prefix[:i] + "/" + rest
		}
		return rest
	}
	return t.prefix + "/" + elem
}

// LineOf is the line elem starts on, else the transaction's.
func (t *Transaction) LineOf(elem string) int {
	if l, ok := t.lines[elem]; ok {
		return l
	}
	return t.Line
}

// Errorf builds an error about elem of t.
func (t *Transaction) Errorf(r Reason, elem, format string, args ...any) *Error {
	return &Error{Reason: r, Element: t.Path(elem), Line: t.LineOf(elem), Msg: fmt.Sprintf(format, args...)}
}

// lineOf is the line a group element ("GrpHdr/NbOfTxs") starts on.
func (m *Message) lineOf(elem string) int { return m.lines[elem] }
