// Package api serves the clearing domain over HTTP (fiber). This file pins
// dependencies while the package is written; delete it once they are used.
package api

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/gofiber/fiber/v2"
	_ "github.com/gofiber/fiber/v2/middleware/adaptor"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promauto"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
)
