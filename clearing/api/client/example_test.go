package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/api/client"
	"github.com/crossclear/crossclear/clearing/store"
)

// A bank holds a payment in escrow and releases part of it to the
// merchant, with the generated client against a real server (here on a
// fresh SQLite database).
func Example() {
	ctx := context.Background()
	base, bankKey, merchantID, stop := exampleServer(ctx)
	defer stop()

	bank, err := client.NewClientWithResponses(base, client.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+bankKey)
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	key := "order-42"
	held, err := bank.HoldPaymentWithResponse(ctx, &client.HoldPaymentParams{IdempotencyKey: &key},
		client.HoldRequest{MerchantId: merchantID, Amount: "100.00", Currency: "EUR"})
	if err != nil || held.JSON201 == nil {
		log.Fatalf("hold: %v %s", err, held.Body)
	}
	fmt.Println("held:", held.JSON201.State, held.JSON201.Held, held.JSON201.Currency)

	part := client.Money("40.00")
	released, err := bank.ReleasePaymentWithResponse(ctx, held.JSON201.Id, nil, client.ReleaseRequest{Amount: &part})
	if err != nil || released.JSON200 == nil {
		log.Fatalf("release: %v %s", err, released.Body)
	}
	fmt.Println("released:", released.JSON200.Released, "still held:", released.JSON200.Held)
	// Output:
	// held: held 100.00 EUR
	// released: 40.00 still held: 60.00
}

// exampleServer serves the API over a fresh SQLite database with a paying
// bank (DBSSSGSG), a merchant's bank (DEUTDEFF) and its merchant, and
// returns the server's URL, the paying bank's API key, the merchant's id and
// what stops the server and removes the database.
func exampleServer(ctx context.Context) (base, bankKey, merchantID string, stop func()) {
	dir, err := os.MkdirTemp("", "crossclear-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "crossclear.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	operator := clearing.Actor{Role: clearing.RoleOperator, Subject: "example"}
	caps := []clearing.SettlementCurrency{{Currency: "EUR", NetDebitCapMinor: 10_000_000}}
	if _, err := st.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: "DBSSSGSG", Name: "DBS", Country: "SG", Jurisdiction: "SG", Currencies: caps}, operator); err != nil {
		log.Fatal(err)
	}
	de, err := st.CreateParticipant(ctx, clearing.Participant{Kind: clearing.Bank, BIC: "DEUTDEFF", Name: "Deutsche Bank", Country: "DE", Jurisdiction: "DE", Currencies: caps}, operator)
	if err != nil {
		log.Fatal(err)
	}
	m, err := st.CreateMerchant(ctx, clearing.Merchant{Name: "Berlin Books", Country: "DE", Currency: "EUR", Account: "DE89370400440532013000", BankID: de.ID}, operator)
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err := st.CreateAPIKey(ctx, clearing.RoleBank, "DBSSSGSG", "example", operator)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	app := api.New(st, api.Config{})
	go app.Listener(ln) // the listener is open: requests wait for fiber to accept them
	stop = func() {
		app.Shutdown()
		st.Close()
		os.RemoveAll(dir)
	}
	return "http://" + ln.Addr().String(), secret, m.ID, stop
}
