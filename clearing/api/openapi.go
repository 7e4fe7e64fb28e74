package api

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the hand-written OpenAPI 3.0.3 description of this package's
// routes; openapi_test.go fails when it and the route table disagree.
//
//go:embed openapi.json
var openAPIDoc []byte

func openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(openAPIDoc)
}
