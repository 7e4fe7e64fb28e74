package store_test

import (
	"testing"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// A console session speaks for its key until sign-out, idle expiry,
// absolute expiry or the key's revocation, whichever comes first; the
// token itself is never stored.
func TestConsoleSessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e env) {
		key, _, err := e.s.CreateAPIKey(ctx, clearing.RoleBank, e.w.Banks[0].ID, "console", storetest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		open := func(t *testing.T) string {
			t.Helper()
			token, sess, err := e.s.StartConsoleSession(ctx, key, 2*time.Hour, "zh-Hans")
			if err != nil {
				t.Fatal(err)
			}
			if sess.CSRF == "" || sess.CSRF == token || sess.Key.ID != key.ID {
				t.Fatalf("session %+v", sess)
			}
			return token
		}
		live := func(t *testing.T, token string) bool {
			t.Helper()
			s, err := e.s.ConsoleSessionOf(ctx, token, 30*time.Minute)
			if ce, ok := clearing.AsError(err); ok && ce.Kind == clearing.NotFound {
				return false
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Key.Role != clearing.RoleBank || s.Key.Subject != e.w.Banks[0].ID {
				t.Fatalf("session speaks for %+v", s.Key)
			}
			return true
		}

		token := open(t)
		if !live(t, token) || live(t, token+"x") {
			t.Fatal("a session is found by its token and by nothing else")
		}
		// Its language is kept, and changed by the switch.
		for _, want := range []string{"zh-Hans", "en"} {
			if s, err := e.s.ConsoleSessionOf(ctx, token, 30*time.Minute); err != nil || s.Lang != want {
				t.Fatalf("session language %q, want %q (%v)", s.Lang, want, err)
			}
			if err := e.s.SetConsoleSessionLanguage(ctx, token, "en"); err != nil {
				t.Fatal(err)
			}
		}
		var stored int
		if err := e.s.DB().NewRaw("SELECT COUNT(*) FROM console_sessions WHERE token_hash = ?", token).Scan(ctx, &stored); err != nil || stored != 0 {
			t.Fatalf("the token itself is stored (%d, %v)", stored, err)
		}

		// Idle: used every 20 minutes it lives on; 31 minutes unused ends it.
		for range 4 {
			e.clock.advance(20 * time.Minute)
			if !live(t, token) {
				t.Fatal("a session in use expired")
			}
		}
		e.clock.advance(31 * time.Minute)
		if live(t, token) {
			t.Fatal("an idle session lives on")
		}

		// Absolute: however busy, two hours end it.
		token = open(t)
		for range 6 {
			e.clock.advance(20 * time.Minute)
			live(t, token)
		}
		if live(t, token) {
			t.Fatal("a session outlived its absolute expiry")
		}

		// Sign-out, and revocation of the key.
		token = open(t)
		if err := e.s.EndConsoleSession(ctx, token); err != nil || live(t, token) {
			t.Fatalf("signed out, the session lives (%v)", err)
		}
		token = open(t)
		if err := e.s.RevokeAPIKey(ctx, key.ID, storetest.Operator); err != nil {
			t.Fatal(err)
		}
		if live(t, token) {
			t.Fatal("a revoked key's session lives on")
		}
	})
}
