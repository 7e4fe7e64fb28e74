package iso

import "strings"

// What compliance screening and the travel rule read of a transaction's
// parties beyond their names (FATF Recommendation 16: the originator's
// address, national identifier, or date and place of birth), and the
// ultimate debtor and creditor. Read from the text, like amounts and
// dates, so that one reader serves every message version; in a pain.001
// the debtor (and perhaps the ultimate debtor) is the PmtInf's.

// addPartyDetails completes t's parties from its part p.
// lookup is the text at path in p, else in its PmtInf.
func lookup(p *part, path string) string {
	if _, ok := p.get(path); ok || p.parent == nil {
		return p.text(path)
	}
	return p.parent.text(path)
}

func present(p *part, path string) bool {
	if _, ok := p.get(path); ok {
		return true
	}
	if p.parent != nil {
		_, ok := p.parent.get(path)
		return ok
	}
	return false
}

// agentAt reads the agent at path — a BranchAndFinancialInstitutionIdentification6
// (InstgAgt, DbtrAgt…) or a Party40Choice (a camt.056's Assgnr: an agent,
// or a party by its name) — in p, else in its PmtInf; nil when absent.
func agentAt(p *part, path string) *Agent {
	if !present(p, path) {
		return nil
	}
	if n := lookup(p, path+"/Pty/Nm"); n != "" {
		return &Agent{Name: n}
	}
	fi := path + "/Agt/FinInstnId/"
	if !present(p, fi[:len(fi)-1]) {
		fi = path + "/FinInstnId/"
	}
	a := &Agent{BIC: lookup(p, fi+"BICFI"), MemberID: lookup(p, fi+"ClrSysMmbId/MmbId"), LEI: lookup(p, fi+"LEI"), Name: lookup(p, fi+"Nm"),
		ClrSys: lookup(p, fi+"ClrSysMmbId/ClrSysId/Cd")}
	if a.ClrSys == "" {
		a.ClrSys = lookup(p, fi+"ClrSysMmbId/ClrSysId/Prtry")
	}
	return a
}

// cashAccountAt reads the account at (DbtrAcct, CdtrAcct), nil when absent.
func cashAccountAt(p *part, at string) *Account {
	if !present(p, at) {
		return nil
	}
	return &Account{IBAN: lookup(p, at+"/Id/IBAN"), Other: lookup(p, at+"/Id/Othr/Id"), Currency: lookup(p, at+"/Ccy")}
}

// partyAt reads the party at (Dbtr, Cdtr, UltmtDbtr…), nil when absent.
func partyAt(p *part, at string) *Party {
	if !present(p, at) {
		return nil
	}
	out := &Party{Name: lookup(p, at+"/Nm"), Country: lookup(p, at+"/PstlAdr/Ctry")}
	if out.Country == "" {
		out.Country = lookup(p, at+"/CtryOfRes")
	}
	for _, id := range []string{"Id/OrgId/AnyBIC", "Id/OrgId/LEI", "Id/OrgId/Othr/Id", "Id/PrvtId/Othr/Id"} {
		if out.ID = lookup(p, at+"/"+id); out.ID != "" {
			break
		}
	}
	partyDetails(out, p, at)
	return out
}

// partyDetails fills a party's address (its first address line, street,
// building, post code and town) and date and place of birth.
func partyDetails(party *Party, p *part, at string) {
	if party == nil {
		return
	}
	var addr []string
	for _, f := range []string{"AdrLine", "StrtNm", "BldgNb", "PstCd", "TwnNm"} {
		if v := lookup(p, at+"/PstlAdr/"+f); v != "" {
			addr = append(addr, v)
		}
	}
	party.Address = strings.Join(addr, ", ")
	birth := at + "/Id/PrvtId/DtAndPlcOfBirth/"
	party.BirthDate = lookup(p, birth+"BirthDt")
	var place []string
	for _, f := range []string{"CityOfBirth", "CtryOfBirth"} {
		if v := lookup(p, birth+f); v != "" {
			place = append(place, v)
		}
	}
	party.BirthPlace = strings.Join(place, ", ")
}
