package api

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestGroupedRerunAlone: two requests share a commit group; the first
// fails on its first try (as a deadlock victim would) and runs again alone.
// Its second answer is its handler's, not whatever the middleware chain
// would give a second c.Next (fiber's 404 for a route already run), and
// the other request's answer stands.
func TestGroupedRerunAlone(t *testing.T) {
	st := storetest.Open(t, "sqlite", store.Options{})
	group := st.NewGroup(store.GroupConfig{Max: 2, Window: time.Minute}, nil)
	log := slog.New(slog.DiscardHandler)
	var tries atomic.Int32
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/flaky", grouped(st, group, log, func(c *fiber.Ctx) error {
		if tries.Add(1) == 1 {
			return errors.New("deadlock detected")
		}
		return c.Status(http.StatusCreated).SendString("held")
	}))
	app.Post("/steady", grouped(st, group, log, func(c *fiber.Ctx) error {
		return c.Status(http.StatusCreated).SendString("steady")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	defer app.Shutdown()
	base := "http://" + ln.Addr().String()

	answers := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, path := range []string{"/flaky", "/steady"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(base+path, "application/json", nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			mu.Lock()
			answers[path] = res.Status + " " + string(body)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if answers["/flaky"] != "201 Created held" || answers["/steady"] != "201 Created steady" || tries.Load() != 2 {
		t.Fatalf("answers %q after %d tries of /flaky; want both 201, /flaky on its second try", answers, tries.Load())
	}
}
