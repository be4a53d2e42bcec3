package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI parses and validates the embedded OpenAPI 3 document.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := addIntegrationPaths(doc); err != nil {
		return nil, fmt.Errorf("documenting the integration routes: %w", err)
	}
	if err := addConnectorPaths(doc); err != nil {
		return nil, fmt.Errorf("documenting the connectors' routes: %w", err)
	}
	if err := doc.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	return doc, nil
}

// swaggerInitializer points Swagger UI at the hub's own document.
const swaggerInitializer = `window.onload = function() {
  window.ui = SwaggerUIBundle({
    url: "/api/docs/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};`

// registerDocs serves /api/docs/openapi.json and Swagger UI at /api/docs/swagger/.
func (s *Server) registerDocs(r gin.IRouter) error {
	doc, err := OpenAPI()
	if err != nil {
		return err
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	r.GET("/api/docs/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) })
	r.GET("/api/docs", func(c *gin.Context) { c.Redirect(http.StatusFound, "/api/docs/swagger/") })
	assets := http.StripPrefix("/api/docs/swagger", http.FileServer(http.FS(swaggerfiles.FS)))
	if _, err := fs.Stat(swaggerfiles.FS, "index.html"); err != nil {
		return fmt.Errorf("swagger UI assets: %w", err)
	}
	r.GET("/api/docs/swagger/*file", func(c *gin.Context) {
		if c.Param("file") == "/swagger-initializer.js" {
			c.Data(http.StatusOK, "application/javascript", []byte(swaggerInitializer))
			return
		}
		assets.ServeHTTP(c.Writer, c.Request)
	})
	return nil
}
