package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"

	"github.com/crossclear/crossclear/messages/iso"
)

var isoInspectCmd = &command{
	name:    "iso inspect",
	args:    "FILE",
	summary: "decode an ISO 20022 file offline and print a JSON summary or the precise error",
	about: `
Reads FILE (a bare Document, or an AppHdr and a Document in any envelope,
with or without namespace prefixes) the way POST /v1/files does, without a
database. For a payment (pacs.008.001.08 to .11, pain.001.001.09/.10) it prints
the message, its header, MsgId, totals and every transaction (UETR,
EndToEndId, amount and currency as written, agents, debtor, creditor,
account, order reference), each with what crossclear's rules say about it:
the ISO reason code, the element and the line. For anything else it
prints {"message", "kind", "document", "settlement", "problems"}: the
decoded document, whether a bank sends it (a camt.056 cancellation
request, with the rules' problems) or crossclear does (pacs.002, pacs.009,
camt.053, camt.054, pacs.004, camt.029); a pacs.002 or camt.054 is also
read as a settlement confirmation, each item with its outcome or why
crossclear could not use it. Rules that need the scheme's banks and
merchants are not checked offline; --sender checks that the given bank
instructs every transaction, or assigns the cancellation request.

Exit status: 0 when the file decodes and breaks no rule checked, 1 when
it does not decode (the error names the line and element) or breaks a
rule (the JSON says which), 2 for a usage error.`,
	example: `  crossclear iso inspect testdata/iso/pacs008-merlion.xml
  crossclear iso inspect --sender MERLSGSG testdata/iso/pacs008-merlion.xml
  crossclear iso inspect mailbox/C42-S-DBSSSGSG-EUR.xml | jq '.document.accounts[0].bal'`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		sender := fs.String("sender", "", "the uploading bank's BIC: check it instructs every transaction")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("iso inspect", "give exactly one FILE")
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			out, ok, err := inspect(raw, *sender)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return err
			}
			if !ok {
				return exitCode(exitError)
			}
			return nil
		}
	},
}

// inspection is what iso inspect prints for an inbound payment message.
type inspection struct {
	*iso.Message
	Valid        bool          `json:"valid"`
	Accepted     int           `json:"accepted"`
	Rejected     int           `json:"rejected"`
	GroupError   *inspectError `json:"group_error,omitempty"`
	Transactions []inspectedTx `json:"transactions"`
}

type inspectedTx struct {
	iso.Transaction
	Reference string        `json:"reference,omitempty"`
	Error     *inspectError `json:"error,omitempty"`
}

type inspectError struct {
	Reason  string `json:"reason"`
	Element string `json:"element,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func toInspectError(e *iso.Error) *inspectError {
	if e == nil {
		return nil
	}
	return &inspectError{Reason: string(e.Reason), Element: e.Element, Line: e.Line, Message: e.Msg}
}

// inspect decodes raw and says whether it breaks no rule.
func inspect(raw []byte, sender string) (any, bool, error) {
	env, err := iso.SplitBytes(raw, iso.DefaultLimits)
	if err != nil {
		return nil, false, err
	}
	if kind, _ := iso.KindOf(env.MessageName()); kind != iso.KindPayment {
		in, err := iso.Inspect(env, iso.Context{Sender: sender})
		if err != nil {
			return nil, false, err
		}
		return in, in.Valid(), nil
	}
	m, err := iso.Decode(env)
	if err != nil {
		return nil, false, err
	}
	rep := iso.Validate(m, iso.Context{Sender: sender})
	out := inspection{Message: m, GroupError: toInspectError(rep.Group)}
	for i, t := range m.Transactions {
		e := rep.Txs[i].Err
		if rep.Group != nil {
			e = rep.Group
		}
		out.Transactions = append(out.Transactions, inspectedTx{Transaction: t, Reference: t.Reference(), Error: toInspectError(e)})
		if e == nil {
			out.Accepted++
		} else {
			out.Rejected++
		}
	}
	out.Valid = out.Rejected == 0 && rep.Group == nil
	return out, out.Valid, nil
}
