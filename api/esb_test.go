package api

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

func esbContext(target string, header ...string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		c.Request.Header.Set(header[i], header[i+1])
	}
	return c
}

func TestESBRouteChoosesTheCode(t *testing.T) {
	t.Parallel()
	both := schema.ESBRegistrationRow{Organization: "ORG", APICode: "A", PushCode: "P"}
	pushOnly := schema.ESBRegistrationRow{Organization: "ORG", PushCode: "P"}
	for _, tc := range []struct {
		name   string
		reg    schema.ESBRegistrationRow
		target string
		header []string
		want   *transaction.ESBRoute
		field  string
	}{
		{"api_code by default", both, "/x", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "normal", Code: "A"}, ""},
		{"push_code when there is no api_code", pushOnly, "/x", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "push", Code: "P"}, ""},
		{"the header asks for push", both, "/x", []string{"X-ESB-Mode", "PUSH"}, &transaction.ESBRoute{Organization: "ORG", Mode: "push", Code: "P"}, ""},
		{"the query asks for normal", both, "/x?esb_mode=normal", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "normal", Code: "A"}, ""},
		{"normal without an api_code", pushOnly, "/x?esb_mode=normal", nil, nil, "esb_mode"},
		{"another mode", both, "/x?esb_mode=turbo", nil, nil, "esb_mode"},
		{"header and query disagree", both, "/x?esb_mode=normal", []string{"X-ESB-Mode", "push"}, nil, "esb_mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := esbRoute(esbContext(tc.target, tc.header...), tc.reg)
			if tc.field != "" {
				require.Equal(t, tc.field, toError(err).Details["field"])
				require.Equal(t, http.StatusBadRequest, toError(err).Status)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRequestOrganization(t *testing.T) {
	t.Parallel()
	org, err := requestOrganization(esbContext("/x?organization=ORG-1"), "")
	require.NoError(t, err)
	require.Equal(t, "ORG-1", org)
	_, err = requestOrganization(esbContext("/x"), "")
	require.Equal(t, CodeOrganizationRequired, toError(err).Code)
	_, err = requestOrganization(esbContext("/x", "X-Organization", "ORG 1"), "")
	require.Equal(t, CodeValidation, toError(err).Code)
}

func TestESBIndexKeepsTheGlobalAndTheOldestChannelRegistration(t *testing.T) {
	t.Parallel()
	ch := func(id string) sql.NullString { return sql.NullString{String: id, Valid: true} }
	idx := newESBIndex([]schema.ESBRegistrationRow{ // oldest first, as the store lists them
		{ID: "1", Organization: "ORG", ChannelID: ch("c1"), APICode: "on-c1"},
		{ID: "2", Organization: "ORG", ChannelID: ch("c2"), APICode: "on-c2"},
		{ID: "3", Organization: "ORG", APICode: "global"},
		{ID: "4", Organization: "OTHER", ChannelID: ch("c2"), PushCode: "other-on-c2"},
	})
	require.Equal(t, "3", idx.global["ORG"].ID)
	require.Equal(t, "1", idx.bound["ORG"].ID)
	require.Equal(t, "4", idx.bound["OTHER"].ID)
	require.Len(t, idx.byChannel["c2"], 2)
	require.Empty(t, idx.byChannel["c3"])
}
