package iso

import (
	"errors"
	"fmt"
)

// Reason is an ISO 20022 ExternalStatusReason1Code: what a pacs.002 says
// when it rejects a file or a transaction. The codes crossclear uses, and
// what for, are listed here and in the README ("Exchanging ISO 20022
// files").
type Reason string

const (
	ReasonFileFormat      Reason = "FF01" // InvalidFileFormat: not well-formed, over a limit, namespace disagreeing with the header, unsupported message, an element that does not decode
	ReasonMissing         Reason = "CH21" // RequiredCompulsoryElementMissing: UETR, EndToEndId, an amount, XchgRate when currencies differ
	ReasonFormallyWrong   Reason = "CH16" // ElementContentFormallyIncorrect: a UETR that is not a lower-case UUID v4, a malformed exchange rate, text over its length
	ReasonInvalidDate     Reason = "DT01" // InvalidDate: IntrBkSttlmDt / ReqdExctnDt missing or malformed
	ReasonZeroAmount      Reason = "AM01" // ZeroAmount
	ReasonCurrency        Reason = "AM03" // NotAllowedCurrency: unknown, or not settled by a bank of the payment
	ReasonInvalidAmount   Reason = "AM12" // InvalidAmount: malformed, an exponent, more decimals than the currency has
	ReasonAmountTooLarge  Reason = "AM13" // AmountExceedsClearingSystemLimit: above 10^15 minor units
	ReasonCapExceeded     Reason = "AM14" // AmountExceedsAgreedLimit: the buyer's bank's net debit cap
	ReasonControlSum      Reason = "AM10" // InvalidControlSum: CtrlSum or TtlIntrBkSttlmAmt disagree with the transactions
	ReasonNumberOfTxs     Reason = "AM18" // InvalidNumberOfTransactions: NbOfTxs disagrees with the transactions
	ReasonBankIdentifier  Reason = "RC01" // BankIdentifierIncorrect: the instructing (or debtor) agent, or the header's sender, is not the uploading bank
	ReasonCreditorAgent   Reason = "RC04" // InvalidCreditorBankIdentifier: the creditor agent is missing or not a bank of the scheme
	ReasonCreditorAccount Reason = "AC03" // InvalidCreditorAccountNumber: no merchant with that account at the creditor agent
	ReasonDuplicateMsg    Reason = "DU01" // DuplicateMessageID: the MsgId was used by this sender for another file
	ReasonDuplicatePmtInf Reason = "DU02" // DuplicatePaymentInformationID: a PmtInfId twice in one pain.001
	ReasonDuplicate       Reason = "DUPL" // DuplicatePayment: the UETR belongs to another payment
	ReasonAgentSuspended  Reason = "AG10" // AgentSuspended: a bank of the payment is suspended
	ReasonForbidden       Reason = "AG01" // TransactionForbidden: the merchant is suspended, or another business rule says no
	ReasonNotSpecified    Reason = "MS03" // NotSpecifiedReasonAgentGenerated
)

// Error is what is wrong with a file or with one of its transactions: the
// element (a path from the message root, "CdtTrfTxInf[2]/PmtId/UETR"), the
// line of the input it starts on (0 when unknown), the ISO reason code and
// a sentence for a person.
type Error struct {
	Reason  Reason `json:"reason"`
	Element string `json:"element,omitempty"`
	Line    int    `json:"line,omitempty"`
	Msg     string `json:"message"`
}

func (e *Error) Error() string {
	at := ""
	switch {
	case e.Element != "" && e.Line > 0:
		at = fmt.Sprintf("line %d: %s: ", e.Line, e.Element)
	case e.Element != "":
		at = e.Element + ": "
	case e.Line > 0:
		at = fmt.Sprintf("line %d: ", e.Line)
	}
	return fmt.Sprintf("%s%s (%s)", at, e.Msg, e.Reason)
}

func errorf(r Reason, element string, line int, format string, args ...any) *Error {
	return &Error{Reason: r, Element: element, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrUnsupported marks a well-formed ISO 20022 file of a message or
// version crossclear does not take in (it wraps an *Error with FF01).
var ErrUnsupported = errors.New("unsupported message")

// unsupportedError is an *Error that is also ErrUnsupported.
type unsupportedError struct{ e *Error }

func (u unsupportedError) Error() string   { return u.e.Error() }
func (u unsupportedError) Unwrap() []error { return []error{u.e, ErrUnsupported} }

func unsupported(element string, line int, format string, args ...any) error {
	return unsupportedError{errorf(ReasonFileFormat, element, line, format, args...)}
}
