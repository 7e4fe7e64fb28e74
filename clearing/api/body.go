package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Request bodies are read from the connection as a stream (fiber's
// StreamRequestBody), never buffered whole by the framework: a declared
// Content-Length over the route's limit is refused before a byte of the
// body is read, and a chunked or gzip-compressed body is cut off at the
// limit. JSON routes are held to Config.BodyLimit, an uploaded ISO 20022
// file (POST /v1/files) to Config.FileLimit.

// bodyLimit is the limit of the request's route and what its body is.
func bodyLimit(c *fiber.Ctx, cfg Config) (int, string) {
	// The web console's upload (clearing/console) takes files too.
	if c.Method() == fiber.MethodPost && (c.Path() == "/v1/files" || c.Path() == "/console/upload") {
		return cfg.FileLimit, "the file"
	}
	return cfg.BodyLimit, "the request body"
}

// refuseDeclaredOversize answers 413 for a body whose Content-Length is
// over the route's limit, before authentication and without reading it.
func refuseDeclaredOversize(cfg Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		limit, what := bodyLimit(c, cfg)
		if n := c.Request().Header.ContentLength(); n > limit {
			return tooLarge(what, limit)
		}
		return c.Next()
	}
}

// readBody reads an authenticated request's body under its route's limit,
// decompressing gzip (the only Content-Encoding taken, so that a small
// compressed body cannot inflate past the limit), and leaves it as the
// request's body for the handlers.
func readBody(cfg Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := c.Request()
		encoding := strings.ToLower(strings.TrimSpace(string(req.Header.Peek(fiber.HeaderContentEncoding))))
		if !req.IsBodyStream() && encoding == "" {
			return c.Next() // already in memory, and under BodyLimit: fasthttp streams anything larger
		}
		limit, what := bodyLimit(c, cfg)
		// Never req.Body() on a stream: it reads the whole stream, limit or not.
		var r io.Reader
		if req.IsBodyStream() {
			r = progressing{r: c.Context().RequestBodyStream(), conn: c.Context().Conn(), timeout: cfg.ReadTimeout}
		} else {
			r = bytes.NewReader(req.Body())
		}
		r = io.LimitReader(r, int64(limit)+1) // compressed bytes count too
		switch encoding {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				return newError(http.StatusBadRequest, "malformed_body", "Content-Encoding", "the body is not gzip data: %v", err)
			}
			r = zr
		default:
			return newError(http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding", "Content-Encoding %q is not accepted; send the body uncompressed or gzip", encoding)
		}
		body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
		switch {
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF) && encoding == "gzip":
			return newError(http.StatusBadRequest, "malformed_body", "Content-Encoding", "the gzip body is corrupt: %v", err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return newError(http.StatusRequestTimeout, "request_timeout", "body", "no more of the body came for %s", cfg.ReadTimeout)
		case err != nil:
			return newError(http.StatusBadRequest, "malformed_body", "body", "reading the body: %v", err)
		case len(body) > limit:
			return tooLarge(what, limit)
		}
		req.Header.Del(fiber.HeaderContentEncoding)
		req.SetBodyRaw(body)
		return c.Next()
	}
}

// progressing reads a streamed body giving every read its own deadline:
// the server's ReadTimeout, set when the request began, would otherwise
// bound the whole upload, and a large file over a slow link would never
// arrive. A client that stops sending is still cut off.
type progressing struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
}

func (p progressing) Read(b []byte) (int, error) {
	deadline := time.Now().Add(p.timeout)
	if err := p.conn.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("set read deadline: %w", err)
	}
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF && !time.Now().Before(deadline) {
		// fasthttp wraps some read errors (a broken chunk) without Unwrap.
		err = fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	return n, err
}

func tooLarge(what string, limit int) error {
	return newError(http.StatusRequestEntityTooLarge, "body_too_large", "body", "%s is larger than the %s this server accepts", what, byteSize(limit))
}

// byteSize prints a limit the way operators configure it.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// closeUnreadBodies closes the connection after a request whose body was
// not read to its end (refused before readBody, or by a route that takes
// none): the rest of the body must not be parsed as the next request.
func closeUnreadBodies(c *fiber.Ctx) error {
	err := c.Next()
	if c.Request().IsBodyStream() {
		c.Context().SetConnectionClose()
	}
	return err
}
