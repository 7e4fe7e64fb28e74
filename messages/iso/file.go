package iso

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is what an inbound file is to crossclear: it says which path
// takes it in.
type Kind string

const (
	KindPayment      Kind = "payment"                 // pacs.008, pain.001: held in escrow, answered with a pacs.002
	KindCancellation Kind = "cancellation"            // camt.056: a refund or a refusal, answered with a camt.029
	KindSettlement   Kind = "settlement_confirmation" // pacs.002, camt.054: marks net positions settled
	KindFunding      Kind = "settlement_funding"      // pacs.009 from a net debtor: pays its position in, answered with a pacs.002
)

// kinds are the messages crossclear takes in, by kind.
var kinds = map[string]Kind{
	Pacs008v08: KindPayment, Pacs008v09: KindPayment, Pacs008v10: KindPayment, Pacs008v11: KindPayment,
	Pain001v09: KindPayment, Pain001v10: KindPayment,
	Camt056v08: KindCancellation, Camt056v09: KindCancellation,
	Pacs002v10: KindSettlement, Camt054v08: KindSettlement,
	Pacs009v08: KindFunding, Pacs009v09: KindFunding,
}

// KindOf says what an inbound message is ("camt.056.001.08" is a
// cancellation), and whether crossclear takes it in at all.
func KindOf(message string) (Kind, bool) {
	k, ok := kinds[message]
	return k, ok
}

// TakenIn lists every message crossclear takes in, sorted.
func TakenIn() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Refused are versions of messages crossclear takes in that it refuses,
// and why (README, "Exchanging ISO 20022 files": the versions matrix).
var Refused = map[string]string{
	"pacs.008.001.12": "no schema at hand to check the elements crossclear reads",
	"pacs.008.001.13": "no schema at hand to check the elements crossclear reads",
	"camt.056.001.10": "no schema or moov-io/iso20022 types at hand to check the elements crossclear reads",
	"camt.056.001.11": "no schema or moov-io/iso20022 types at hand to check the elements crossclear reads",
}

// NotTakenIn is the error for a Document crossclear does not take in:
// it names the message (or, outside ISO 20022's namespaces, the
// namespace), says when it is an unsupported version of a message
// crossclear takes and which versions of it are, and lists taken, what
// the caller takes. It wraps ErrUnsupported.
func NotTakenIn(env *Envelope, taken []string) error {
	name := env.MessageName()
	what := name
	if what == "" {
		what = fmt.Sprintf("a Document in namespace %q", env.Namespace)
	}
	if _, known := kinds[name]; !known && messageFamily(name) != "" {
		family := messageFamily(name)
		var versions []string
		for _, n := range TakenIn() {
			if messageFamily(n) == family {
				versions = append(versions, n)
			}
		}
		if len(versions) > 0 {
			why := ""
			if r, ok := Refused[name]; ok {
				why = " (" + r + ")"
			}
			return unsupported("Document", env.Line, "%s is not a message crossclear takes in: an unsupported version of %s%s, send %s (it takes %s)",
				what, family, why, strings.Join(versions, " or "), strings.Join(taken, ", "))
		}
	}
	return unsupported("Document", env.Line, "%s is not a message crossclear takes in (it takes %s)", what, strings.Join(taken, ", "))
}

// messageFamily is "pacs.008" for "pacs.008.001.12", "" when name is not
// an ISO 20022 message identifier.
func messageFamily(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) != 4 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// File is an inbound file decoded by its kind: exactly one of Payment,
// Cancellation, Settlement and Funding is set.
type File struct {
	Name         string                  `json:"message"`
	Kind         Kind                    `json:"kind"`
	Payment      *Message                `json:"payment,omitempty"`
	Cancellation *CancellationRequest    `json:"cancellation,omitempty"`
	Settlement   *SettlementConfirmation `json:"settlement,omitempty"`
	Funding      *Funding                `json:"funding,omitempty"`
}

// DecodeFile decodes a split inbound file of any kind crossclear takes
// in. A Document of another message or version fails with an error
// wrapping ErrUnsupported that lists what crossclear takes.
func DecodeFile(env *Envelope) (*File, error) {
	name := env.MessageName()
	kind, ok := KindOf(name)
	if !ok {
		return nil, NotTakenIn(env, TakenIn())
	}
	f := &File{Name: name, Kind: kind}
	var err error
	switch kind {
	case KindPayment:
		f.Payment, err = Decode(env)
	case KindCancellation:
		f.Cancellation, err = DecodeCancellationRequest(env)
	case KindSettlement:
		f.Settlement, err = DecodeSettlementConfirmation(env)
	case KindFunding:
		f.Funding, err = DecodeFunding(env)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeFileBytes splits and decodes an inbound file of any kind.
func DecodeFileBytes(data []byte, lim Limits) (*File, error) {
	env, err := SplitBytes(data, lim)
	if err != nil {
		return nil, err
	}
	return DecodeFile(env)
}

// DecodeOutbound reads back a file of a kind crossclear sends: a
// *StatusReport (pacs.002), *FICreditTransfer (pacs.009), *CashReport
// (camt.053, camt.054), *PaymentReturn (pacs.004) or *Resolution
// (camt.029). It is what `crossclear iso inspect` shows of them.
func DecodeOutbound(env *Envelope) (any, error) {
	switch name := env.MessageName(); name {
	case Pacs002v10:
		return DecodeStatusReport(env)
	case Pacs009v09:
		return DecodeFICreditTransfer(env)
	case Camt053v08, Camt054v08:
		return DecodeCashReport(env)
	case Pacs004v09:
		return DecodePaymentReturn(env)
	case Camt029v09:
		return DecodeResolution(env)
	default:
		what := name
		if what == "" {
			what = fmt.Sprintf("a Document in namespace %q", env.Namespace)
		}
		return nil, unsupported("Document", env.Line, "%s is not a message crossclear sends (it sends %s)", what, strings.Join(Outbound, ", "))
	}
}

// Outbound lists the messages crossclear sends (DecodeOutbound reads them).
var Outbound = []string{Pacs002v10, Pacs009v09, Camt053v08, Camt054v08, Pacs004v09, Camt029v09}

// Inspection is what `crossclear iso inspect` shows of a file that is not
// a payment: the decoded message; for a pacs.002 or a camt.054, what each
// of its items says read as a settlement confirmation; for a camt.056,
// what crossclear's rules find wrong.
type Inspection struct {
	Message    string                  `json:"message"`
	Kind       Kind                    `json:"kind,omitempty"` // "" for what only crossclear sends
	Document   any                     `json:"document"`
	Settlement *SettlementConfirmation `json:"settlement,omitempty"`
	Funding    *Funding                `json:"funding,omitempty"` // a pacs.009 read as a net debtor's funding
	Problems   []*Error                `json:"problems,omitempty"`
}

// Inspect decodes a cancellation request, a settlement confirmation or a
// file crossclear sends; ctx.Sender, when set, is checked as the bank
// that would upload it. A Document that is none of these fails with the
// error an upload of it gets (NotTakenIn): the message, or the namespace
// outside ISO 20022's, and what crossclear takes in.
func Inspect(env *Envelope, ctx Context) (*Inspection, error) {
	name := env.MessageName()
	kind, _ := KindOf(name)
	if kind == "" && !slices.Contains(Outbound, name) {
		// Neither taken in nor sent: what the API answers an upload of it.
		return nil, NotTakenIn(env, TakenIn())
	}
	in := &Inspection{Message: name, Kind: kind}
	switch kind {
	case KindPayment:
		return nil, unsupported("Document", env.Line, "%s is a payment: Decode and Validate read it", name)
	case KindFunding:
		// The pacs.009 itself, and what each transfer says read as a net
		// debtor's funding (its problems are there, as a confirmation's).
		doc, _, err := decodeFICdtTrf(env, name)
		if err != nil {
			return nil, err
		}
		in.Document = doc
		if in.Funding, err = DecodeFunding(env); err != nil {
			return nil, err
		}
		return in, nil
	case KindCancellation:
		r, err := DecodeCancellationRequest(env)
		if err != nil {
			return nil, err
		}
		rep := ValidateCancellation(r, ctx)
		in.Document = r
		if rep.Group != nil {
			in.Problems = append(in.Problems, rep.Group)
		}
		for _, e := range rep.Txs {
			if e != nil {
				in.Problems = append(in.Problems, e)
			}
		}
		return in, nil
	}
	doc, err := DecodeOutbound(env)
	if err != nil {
		return nil, err
	}
	in.Document = doc
	if kind == KindSettlement {
		if in.Settlement, err = DecodeSettlementConfirmation(env); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Valid reports whether the rules found nothing wrong.
func (in *Inspection) Valid() bool { return len(in.Problems) == 0 }
