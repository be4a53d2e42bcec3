package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func newRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	return httptest.NewRequest(method, url, nil)
}
