package client_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/api/client"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestHoldAndReleaseWithTheGeneratedClient is the generated client in use
// against the real server on a real listener, on every engine: a bank holds
// a payment (with an Idempotency-Key), releases part of it, reads it back
// and releases the rest, through typed requests and answers only.
func TestHoldAndReleaseWithTheGeneratedClient(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine, store.Options{})
			w := storetest.Seed(t, st)
			_, secret, err := st.CreateAPIKey(ctx, clearing.RoleBank, "DBSSSGSG", "generated client", storetest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			app := api.New(st, api.Config{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go app.Listener(ln)
			t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })

			bank, err := client.NewClientWithResponses("http://"+ln.Addr().String(),
				client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
				client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
					req.Header.Set("Authorization", "Bearer "+secret)
					return nil
				}))
			if err != nil {
				t.Fatal(err)
			}

			key := "hold-order-42"
			held, err := bank.HoldPaymentWithResponse(ctx, &client.HoldPaymentParams{IdempotencyKey: &key},
				client.HoldRequest{MerchantId: w.Merchants[0].ID, Amount: "100.00", Currency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			if held.JSON201 == nil {
				t.Fatalf("hold: %d %s", held.StatusCode(), held.Body)
			}
			p := held.JSON201
			if p.State != "held" || p.Held != "100.00" || p.BuyerBankId != "DBSSSGSG" {
				t.Fatalf("held %+v", p)
			}

			part := client.Money("40.00")
			released, err := bank.ReleasePaymentWithResponse(ctx, p.Id, nil, client.ReleaseRequest{Amount: &part})
			if err != nil {
				t.Fatal(err)
			}
			if released.JSON200 == nil || released.JSON200.Released != "40.00" || released.JSON200.Held != "60.00" {
				t.Fatalf("partial release: %d %s", released.StatusCode(), released.Body)
			}

			got, err := bank.GetPaymentWithResponse(ctx, p.Id)
			if err != nil {
				t.Fatal(err)
			}
			if got.JSON200 == nil || got.JSON200.Held != "60.00" {
				t.Fatalf("get: %d %s", got.StatusCode(), got.Body)
			}

			rest, err := bank.ReleasePaymentWithResponse(ctx, p.Id, nil, client.ReleaseRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if rest.JSON200 == nil || rest.JSON200.State != "released" || rest.JSON200.Held != "0.00" {
				t.Fatalf("release the rest: %d %s", rest.StatusCode(), rest.Body)
			}

			again, err := bank.ReleasePaymentWithResponse(ctx, p.Id, nil, client.ReleaseRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if again.JSON422 == nil || again.JSON422.Error.Code != "illegal_transition" {
				t.Fatalf("releasing a released payment: %d %s", again.StatusCode(), again.Body)
			}
		})
	}
}
