package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnavailableIs503: a database that cannot work now is a 503 the
// client may retry, not a 500, and says nothing of the database's text.
func TestUnavailableIs503(t *testing.T) {
	err := fmt.Errorf("hold: %w", &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"})
	status, detail, internal := classify(err)
	if status != http.StatusServiceUnavailable || detail.Code != "unavailable" || internal {
		t.Fatalf("read-only primary: %d %+v internal=%v", status, detail, internal)
	}
	status, _, internal = classify(fmt.Errorf("hold: %w", &pgconn.PgError{Code: "42601"}))
	if status != http.StatusInternalServerError || !internal {
		t.Fatalf("syntax error: %d internal=%v", status, internal)
	}
}
