package iso

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/moov-io/iso20022/pkg/head_v02"
)

// The messages crossclear takes in, by Document namespace.
const (
	Pacs008v08 = "pacs.008.001.08" // SWIFT CBPR+
	Pacs008v09 = "pacs.008.001.09"
	Pacs008v10 = "pacs.008.001.10" // newer market infrastructures; read with the .09 types (pacs008.go)
	Pacs008v11 = "pacs.008.001.11"
	Pain001v09 = "pain.001.001.09" // SWIFT CBPR+, most banks' implementation guides
	Pain001v10 = "pain.001.001.10"
	Pacs002v10 = "pacs.002.001.10" // what crossclear answers with; in: settlement confirmations
	Head001v02 = "head.001.001.02"

	Camt056v08 = "camt.056.001.08" // SWIFT CBPR+: cancellation requests
	Camt056v09 = "camt.056.001.09"
	Camt054v08 = "camt.054.001.08" // out: merchant credits; in: settlement confirmations

	Pacs009v09 = "pacs.009.001.09" // out: a net position's settlement; in: a net debtor funding it
	Pacs009v08 = "pacs.009.001.08" // SWIFT CBPR+; in: a net debtor funding its position (read with the .09 types)
	Camt053v08 = "camt.053.001.08" // out: a bank's statement of a cycle
	Pacs004v09 = "pacs.004.001.09" // out: a refund
	Camt029v09 = "camt.029.001.09" // out: the answer to a camt.056
)

// Inbound lists the messages Decode accepts.
var Inbound = []string{Pacs008v08, Pacs008v09, Pacs008v10, Pacs008v11, Pain001v09, Pain001v10}

// IsPain001 reports whether message is a pain.001 crossclear takes in
// (customer credit transfer initiation: the debtor agent instructs, the
// amount is Amt/InstdAmt, the date ReqdExctnDt).
func IsPain001(message string) bool { return message == Pain001v09 || message == Pain001v10 }

// Decode turns a split file into a Message: moov-io/iso20022 decodes each
// block (group header, each transaction) in the message's own version,
// and crossclear reads the amounts, rates, control sums and dates from
// the text itself, so that no amount passes through a float. A block
// moov cannot decode makes the file fail when it is the group header, and
// only its transaction (Transaction.Problems) when it is a transaction.
// A Document of another message or version fails with an error wrapping
// ErrUnsupported.
func Decode(env *Envelope) (*Message, error) {
	name := env.MessageName()
	if !slices.Contains(Inbound, name) {
		return nil, NotTakenIn(env, Inbound)
	}
	var hdr *AppHdr
	if env.HeaderXML != nil {
		h, err := decodeHeader(env)
		if err != nil {
			return nil, err
		}
		hdr = h
	}
	var (
		m   *Message
		err error
	)
	switch name {
	case Pacs008v08, Pacs008v09, Pacs008v10, Pacs008v11:
		m, err = decodePacs008(env, name)
	default:
		m, err = decodePain001(env.Document, name)
	}
	if err != nil {
		return nil, err
	}
	m.Name, m.Header = name, hdr
	return m, nil
}

// DecodeBytes splits and decodes a file.
func DecodeBytes(data []byte, lim Limits) (*Message, error) {
	env, err := SplitBytes(data, lim)
	if err != nil {
		return nil, err
	}
	return Decode(env)
}

// decodeHeader reads a head.001.001.02 AppHdr with moov-io/iso20022.
func decodeHeader(env *Envelope) (*AppHdr, error) {
	if v := messageName(env.HeaderNS); v != Head001v02 {
		if v == "" {
			v = fmt.Sprintf("namespace %q", env.HeaderNS)
		}
		return nil, unsupported("AppHdr", env.HeaderLine, "AppHdr %s is not supported: send %s", v, Head001v02)
	}
	var h head_v02.BusinessApplicationHeaderV02
	if err := xml.Unmarshal(env.HeaderXML, &h); err != nil {
		return nil, errorf(ReasonFileFormat, "AppHdr", env.HeaderLine, "the AppHdr does not decode as %s: %v", Head001v02, err)
	}
	parts, err := headerText(env.HeaderXML)
	if err != nil {
		return nil, err
	}
	out := &AppHdr{
		From: sp(h.Fr.FIId.FinInstnId.BICFI), To: sp(h.To.FIId.FinInstnId.BICFI),
		BizMsgIdr: string(h.BizMsgIdr), MsgDefIdr: string(h.MsgDefIdr), BizSvc: sp(h.BizSvc),
		CreDt: parts["CreDt"], PssblDplct: h.PssblDplct,
	}
	return out, nil
}

// headerText reads the direct children's text of the AppHdr (CreDt as
// written: moov's time drops nothing, but the text is what was sent).
func headerText(raw []byte) (map[string]string, error) {
	out := map[string]string{}
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	depth, cur := 0, ""
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				cur = t.Name.Local
			}
		case xml.EndElement:
			depth--
			if depth == 1 {
				cur = ""
			}
		case xml.CharData:
			if depth == 2 && cur != "" {
				out[cur] += strings.TrimSpace(string(t))
			}
		}
	}
	return out, nil
}

// sp reads an optional string-typed field.
func sp[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(string(*p))
}

// amountAt reads an amount element of a part as text.
func amountAt(p *part, path string) (Amount, bool) {
	e, ok := p.get(path)
	if !ok {
		return Amount{}, false
	}
	return Amount{Value: e.text, Currency: e.ccy}, true
}

func optAmount(p *part, path string) *Amount {
	if a, ok := amountAt(p, path); ok {
		return &a
	}
	return nil
}

func nonEmpty[T any](v *T, empty bool) *T {
	if empty {
		return nil
	}
	return v
}

// txPrefix names the i-th (0-based) element name among its siblings.
func indexed(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }

// decodeProblem records that moov could not decode a transaction's block.
func decodeProblem(t *Transaction, name string, err error) {
	t.Problems = append(t.Problems, &Error{Reason: ReasonFileFormat, Element: t.Path(""), Line: t.Line,
		Msg: fmt.Sprintf("the transaction does not decode as %s: %v", name, err)})
}
