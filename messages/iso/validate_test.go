package iso_test

import (
	"strings"
	"testing"

	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/iso/isotest"
)

// directory is the fixture world as validation sees it.
type directory struct{}

func (directory) Bank(bic string) (string, bool) {
	switch iso.NormalBIC(bic) {
	case "DEUTDEFF", "DBSSSGSG", "CHASUS33":
		return iso.NormalBIC(bic), true
	}
	return "", false
}

func (directory) Merchant(bank, account string) (string, bool) {
	if bank == "DEUTDEFF" && account == isotest.CreditorAc {
		return "mer_berlin", true
	}
	return "", false
}

var ctx = iso.Context{Sender: isotest.Sender, Directory: directory{}}

func validate(t *testing.T, p isotest.Pacs008) iso.Report {
	t.Helper()
	m, err := iso.DecodeBytes(p.Bytes(), iso.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return iso.Validate(m, ctx)
}

func TestValidateAccepts(t *testing.T) {
	r := validate(t, isotest.Pacs008{Txs: []isotest.Tx{{Amount: "1250.00"}, {Amount: "0.01", CdtrAgt: "DEUTDEFFXXX"}}})
	if r.Group != nil || r.Accepted() != 2 {
		t.Fatalf("%v %+v", r.Group, r.Txs)
	}
	if tx := r.Txs[0]; tx.BuyerBank != "DBSSSGSG" || tx.Merchant != "mer_berlin" || tx.Amount.Minor != 125000 || tx.Amount.Currency.Code != "EUR" {
		t.Fatalf("%+v", tx)
	}
}

// TestValidateTransactionRules: each broken rule refuses its transaction
// alone, with the ISO reason and the element (and its line) to fix; the
// other transaction of the file stays accepted.
func TestValidateTransactionRules(t *testing.T) {
	cases := []struct {
		name    string
		tx      isotest.Tx
		reason  iso.Reason
		element string
		msg     string
	}{
		{"no UETR", isotest.Tx{UETR: isotest.Omit}, iso.ReasonMissing, "CdtTrfTxInf[1]", "no UETR"},
		{"UETR upper case", isotest.Tx{UETR: "3F2B6C1E-8A4D-4E5F-9B7A-1C2D3E4F5A01"}, iso.ReasonFormallyWrong, "CdtTrfTxInf[1]/PmtId/UETR", "not a lower-case UUID v4"},
		{"UETR v1", isotest.Tx{UETR: "3f2b6c1e-8a4d-1e5f-9b7a-1c2d3e4f5a01"}, iso.ReasonFormallyWrong, "CdtTrfTxInf[1]/PmtId/UETR", "UUID v4"},
		{"UETR twice", isotest.Tx{UETR: isotest.UETR(1)}, iso.ReasonDuplicate, "CdtTrfTxInf[1]/PmtId/UETR", "also the UETR of transaction 0"},
		{"no EndToEndId", isotest.Tx{EndToEndID: isotest.Omit}, iso.ReasonMissing, "CdtTrfTxInf[1]", "no EndToEndId"},
		{"no amount", isotest.Tx{Amount: isotest.Omit}, iso.ReasonMissing, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "missing"},
		{"unknown currency", isotest.Tx{Ccy: "XYZ"}, iso.ReasonCurrency, "CdtTrfTxInf[1]/IntrBkSttlmAmt", `"XYZ" is not an active`},
		{"lower-case currency", isotest.Tx{Ccy: "eur"}, iso.ReasonCurrency, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "not an active"},
		{"three decimals in EUR", isotest.Tx{Amount: "1.005"}, iso.ReasonInvalidAmount, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "more decimals than EUR allows (2)"},
		{"decimals in JPY", isotest.Tx{Amount: "100.5", Ccy: "JPY"}, iso.ReasonInvalidAmount, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "JPY allows (0)"},
		{"exponent", isotest.Tx{Amount: "1e3"}, iso.ReasonInvalidAmount, "", ""}, // moov fails first (float parse), or we do: either names the transaction
		{"zero", isotest.Tx{Amount: "0.00"}, iso.ReasonZeroAmount, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "zero"},
		{"negative", isotest.Tx{Amount: "-5.00"}, iso.ReasonInvalidAmount, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "negative"},
		{"too large", isotest.Tx{Amount: "100000000000000.00"}, iso.ReasonAmountTooLarge, "CdtTrfTxInf[1]/IntrBkSttlmAmt", "limit"},
		{"instructed amount in another currency without rate", isotest.Tx{InstdAmt: "110.00", InstdCcy: "USD"}, iso.ReasonMissing, "CdtTrfTxInf[1]/XchgRate", "XchgRate is required"},
		{"bad rate", isotest.Tx{InstdAmt: "110.00", InstdCcy: "USD", XchgRate: "-1.1"}, iso.ReasonFormallyWrong, "CdtTrfTxInf[1]/XchgRate", "not a positive decimal"},
		{"bad instructed amount", isotest.Tx{InstdAmt: "1.234", InstdCcy: "USD", XchgRate: "1.1"}, iso.ReasonInvalidAmount, "CdtTrfTxInf[1]/InstdAmt", "USD allows (2)"},
		{"no settlement date", isotest.Tx{SttlmDt: isotest.Omit}, iso.ReasonInvalidDate, "CdtTrfTxInf[1]/IntrBkSttlmDt", "missing"},
		{"another bank instructs", isotest.Tx{InstgAgt: "CHASUS33"}, iso.ReasonBankIdentifier, "CdtTrfTxInf[1]/InstgAgt/FinInstnId/BICFI", "instructing agent CHASUS33, but the file was uploaded by DBSSSGSG"},
		{"no instructing agent", isotest.Tx{InstgAgt: isotest.Omit}, iso.ReasonBankIdentifier, "CdtTrfTxInf[1]/InstgAgt/FinInstnId/BICFI", "no instructing agent"},
		{"unknown creditor agent", isotest.Tx{CdtrAgt: "BNPAFRPP"}, iso.ReasonCreditorAgent, "CdtTrfTxInf[1]/CdtrAgt/FinInstnId/BICFI", "BNPAFRPP is not a bank of the scheme"},
		{"no creditor agent", isotest.Tx{CdtrAgt: isotest.Omit}, iso.ReasonCreditorAgent, "CdtTrfTxInf[1]/CdtrAgt/FinInstnId/BICFI", "must be identified by its BIC"},
		{"unknown account", isotest.Tx{CdtrIBAN: "DE02120300000000202051"}, iso.ReasonCreditorAccount, "CdtTrfTxInf[1]/CdtrAcct/Id/IBAN", "no merchant has account DE02120300000000202051 at DEUTDEFF"},
		{"no account", isotest.Tx{CdtrIBAN: isotest.Omit}, iso.ReasonCreditorAccount, "CdtTrfTxInf[1]/CdtrAcct", "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := isotest.Pacs008{Txs: []isotest.Tx{{}, c.tx}}
			if strings.HasPrefix(c.tx.Amount, "1e") || c.tx.Amount == isotest.Omit || c.tx.Amount == "-5.00" {
				p.CtrlSum = isotest.Omit
			}
			r := validate(t, p)
			if r.Group != nil {
				t.Fatalf("group refused: %v", r.Group)
			}
			if r.Txs[0].Err != nil {
				t.Fatalf("the good transaction was refused: %v", r.Txs[0].Err)
			}
			e := wantErr(t, r.Txs[1].Err, c.reason, c.element, 0, c.msg)
			if e.Line == 0 {
				t.Fatalf("no line: %v", e)
			}
		})
	}
}

func TestValidateFileRules(t *testing.T) {
	two := []isotest.Tx{{Amount: "10.00"}, {Amount: "20.00"}}
	cases := []struct {
		name    string
		p       isotest.Pacs008
		reason  iso.Reason
		element string
		msg     string
	}{
		{"NbOfTxs too high", isotest.Pacs008{NbOfTxs: "3", Txs: two}, iso.ReasonNumberOfTxs, "GrpHdr/NbOfTxs", "NbOfTxs says 3, the file holds 2"},
		{"NbOfTxs not a number", isotest.Pacs008{NbOfTxs: "two", Txs: two}, iso.ReasonNumberOfTxs, "GrpHdr/NbOfTxs", "must be a number"},
		{"CtrlSum off by a cent", isotest.Pacs008{CtrlSum: "30.01", Txs: two}, iso.ReasonControlSum, "GrpHdr/CtrlSum", "CtrlSum is 30.01, the amounts add up to 30"},
		{"header from another bank", isotest.Pacs008{From: "CHASUS33", Txs: two}, iso.ReasonBankIdentifier, "AppHdr/Fr", "from \"CHASUS33\""},
		{"no MsgId", isotest.Pacs008{MsgID: isotest.Omit, Txs: two}, iso.ReasonMissing, "GrpHdr/MsgId", "no MsgId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validate(t, c.p)
			wantErr(t, r.Group, c.reason, c.element, 0, c.msg)
			if r.Accepted() != 0 {
				t.Fatal("a refused file accepts nothing")
			}
		})
	}
	// CtrlSum counts exactly: "30" and "30.00" are equal.
	if r := validate(t, isotest.Pacs008{CtrlSum: "30", Txs: two}); r.Group != nil {
		t.Fatal(r.Group)
	}
}
