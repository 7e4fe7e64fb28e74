package gateway

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the OpenAPI 3.0.3 description of the gateway's routes,
// served at /openapi.json; the tests check every exchange against it
// (openapi_test.go).
//
//go:embed openapi.json
var openAPIDoc []byte

func openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(openAPIDoc)
}
