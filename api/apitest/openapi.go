// Package apitest checks HTTP exchanges against Switchyard's OpenAPI document, for the tests
// of every package that talks to the API.
package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
)

var (
	once      sync.Once
	router    routers.Router
	routerErr error
)

func load() (routers.Router, error) {
	once.Do(func() {
		doc, err := api.OpenAPI()
		if err != nil {
			routerErr = err
			return
		}
		router, routerErr = legacy.NewRouter(doc)
	})
	return router, routerErr
}

// Documented reports whether the document describes method and path (the hub's own routes;
// proxied paths are not).
func Documented(t testing.TB, method, path string) bool {
	t.Helper()
	r, err := load()
	require.NoError(t, err)
	req := &http.Request{Method: method, URL: &url.URL{Path: path}}
	_, _, err = r.FindRoute(req)
	return err == nil
}

// CheckResponse fails the test when a response of a documented route does not match the
// OpenAPI document (status, headers, body schema).
func CheckResponse(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	r, err := load()
	require.NoError(t, err)
	req := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}}
	route, params, err := r.FindRoute(req)
	require.NoError(t, err, "%s %s is not in the OpenAPI document", method, path)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				IncludeResponseStatus: true},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in),
		"%s %s -> %d does not match the OpenAPI document: %s", method, path, status, body)
}
