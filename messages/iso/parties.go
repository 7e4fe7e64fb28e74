package iso

import "strings"

// What compliance screening and the travel rule read of a transaction's
// parties beyond their names (FATF Recommendation 16: the originator's
// address, national identifier, or date and place of birth), and the
// ultimate debtor and creditor. Read from the text, like amounts and
// dates, so that one reader serves every message version; in a pain.001
// the debtor (and perhaps the ultimate debtor) is the PmtInf's.

// addPartyDetails completes t's parties from its part p.
func addPartyDetails(t *Transaction, p *part) {
	t.UltimateDebtor, t.UltimateCreditor = partyAt(p, "UltmtDbtr"), partyAt(p, "UltmtCdtr")
	partyDetails(t.Debtor, p, "Dbtr")
	partyDetails(t.Creditor, p, "Cdtr")
}

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

// partyAt reads the party at (UltmtDbtr, UltmtCdtr), nil when absent.
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
