package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestReadOnlyPagesReadTheReplica mounts the console with a second store
// for its read-only pages, one that lacks the primary's payments: the
// payment list, a payment's page and the audit log read it (the payment
// and the sign-in's audit entry are not there), while signing in
// (sessions) and closing a cycle (an action) use the primary.
func TestReadOnlyPagesReadTheReplica(t *testing.T) {
	replica := storetest.Open(t, "sqlite", store.Options{})
	storetest.Seed(t, replica)
	e := newEnvReading(t, "sqlite", replica)
	b := e.browser()
	b.signIn("operator") // a session in the primary

	if p := b.get("/console/payments"); p.Status != http.StatusOK || strings.Contains(p.Body, e.paySGtoDE) {
		t.Fatalf("payments page: %d, shows the primary's payment %s: %v", p.Status, e.paySGtoDE, strings.Contains(p.Body, e.paySGtoDE))
	}
	if p := b.get("/console/payments/" + e.paySGtoDE); p.Status != http.StatusNotFound {
		t.Fatalf("a payment only the primary holds: %d, want 404 from the replica", p.Status)
	}

	// The audit log too: the primary audited this sign-in, the replica did not.
	if p := b.get("/console/audit?action=console.signin"); p.Status != http.StatusOK || !strings.Contains(p.Body, "No audited changes.") {
		t.Fatalf("audit page: %d, shows the primary's sign-in: %v", p.Status, strings.Contains(p.Body, "console.signin</td>"))
	}

	open, err := e.st.CurrentCycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(open.ID, 10)
	p := b.post("/console/cycles/"+id+"/close", url.Values{"csrf": {b.csrf("/console/cycles")}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("close cycle %s: %d %s", id, p.Status, p.Body)
	}
	if cy, err := e.st.Cycle(ctx, open.ID); err != nil || cy.State == clearing.CycleOpen {
		t.Fatalf("the close did not reach the primary: %+v %v", cy, err)
	}
}
