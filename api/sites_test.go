package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

const sitesPath = "/api/v1/integration/sites/"

// site registers a site for clientID and answers its id and api key.
func (h *hub) site(clientID, name string) (id, key string) {
	h.t.Helper()
	a := h.do("POST", sitesPath, clientID, map[string]any{"name": name, "url": "https://" + strings.ToLower(name) + ".example.com"})
	require.Equal(h.t, http.StatusCreated, a.code, a.raw)
	return a.data()["id"].(string), a.data()["api_key"].(string)
}

// wordPress is a valid WordPress integration body for a site.
func wordPress(siteID string) map[string]any {
	return map[string]any{"name": "Blog", "platform": "wordpress", "site_id": siteID, "credentials": map[string]any{
		"site_url": "https://blog.example.com", "username": "editor",
		"application_password": "abcd efgh ijkl mnop qrst uvwx"}}
}

func TestSitesCarryASealedKeyAndBelongToTheirClient(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)

	t.Run("bad sites are refused, naming the field", func(t *testing.T) {
		a := h.do("POST", sitesPath, owner, map[string]any{"url": "ftp://blog.example.com"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "required", a.fields()["name"])
		require.Contains(t, a.fields(), "url")
		a = h.do("POST", sitesPath, owner, map[string]any{"name": strings.Repeat("n", 201)})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "name")
		a = h.do("POST", sitesPath, owner, map[string]any{"name": "Blog", "url": "https://user:pw@blog.example.com"})
		require.Equal(t, http.StatusBadRequest, a.code, "credentials in a site URL")
		a = h.do("POST", sitesPath, owner, map[string]any{"name": "Blog", "api_key": "mine"})
		require.Equal(t, http.StatusBadRequest, a.code, "the key is the hub's to make")
		a = h.do("POST", sitesPath, owner, map[string]any{"name": strings.Repeat("x", 20<<10)})
		require.Equal(t, http.StatusRequestEntityTooLarge, a.code)
	})

	created := h.do("POST", sitesPath, owner, map[string]any{"name": "Blog", "url": "https://blog.example.com"})
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id, key := created.data()["id"].(string), created.data()["api_key"].(string)
	path := sitesPath + id + "/"

	t.Run("the key is random, shown to its owner and sealed at rest", func(t *testing.T) {
		require.True(t, strings.HasPrefix(key, api.SiteKeyPrefix), key)
		require.Len(t, key, len(api.SiteKeyPrefix)+40)
		_, second := h.site(owner, "Shop")
		require.NotEqual(t, key, second)

		row, err := h.store.GetSite(context.Background(), id)
		require.NoError(t, err)
		require.NotContains(t, row.APIKey, key)
		opened, err := h.vault.OpenSiteKey(row.APIKey)
		require.NoError(t, err)
		require.Equal(t, key, opened)

		a := h.do("GET", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, key, a.data()["api_key"])
		require.Equal(t, "https://blog.example.com", a.data()["url"])
		list := h.do("GET", sitesPath, owner, nil)
		require.Equal(t, http.StatusOK, list.code, list.raw)
		require.Len(t, list.body["data"], 2)
	})

	t.Run("another client's site is not found", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, h.do("GET", path, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("PATCH", path, other, map[string]any{"name": "Mine"}).code)
		require.Equal(t, http.StatusNotFound, h.do("POST", path+"rotate_key/", other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("DELETE", path, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", sitesPath+"not-a-uuid/", owner, nil).code)
		require.Empty(t, h.do("GET", sitesPath, other, nil).body["data"])
		a := h.do("GET", sitesPath, h.client("account_balance"), nil)
		require.Equal(t, http.StatusForbidden, a.code)
	})

	t.Run("an update renames and validates", func(t *testing.T) {
		a := h.do("PATCH", path, owner, map[string]any{"name": "Journal"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "Journal", a.data()["name"])
		require.Equal(t, "https://blog.example.com", a.data()["url"], "fields not given are kept")
		require.Equal(t, key, a.data()["api_key"])
		a = h.do("PATCH", path, owner, map[string]any{"url": "blog"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	t.Run("rotating the key retires the old one", func(t *testing.T) {
		a := h.do("POST", path+"rotate_key/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		rotated := a.data()["api_key"].(string)
		require.NotEqual(t, key, rotated)
		require.Equal(t, rotated, h.do("GET", path, owner, nil).data()["api_key"])

		old := h.do("POST", testConnectionPath, "", map[string]any{"site_id": id, "api_key": key})
		require.Equal(t, http.StatusUnauthorized, old.code, old.raw)
		key = rotated
	})

	t.Run("deleting a site deletes its integrations", func(t *testing.T) {
		in := h.do("POST", integrationsPath, owner, wordPress(id))
		require.Equal(t, http.StatusCreated, in.code, in.raw)
		a := h.do("DELETE", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["deleted"])
		require.Equal(t, http.StatusNotFound, h.do("GET", path, owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", integrationsPath+in.data()["id"].(string)+"/", owner, nil).code)
	})
}

func TestSiteIntegrationsLiveInTheIntegrationsResource(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	siteID, key := h.site(owner, "Blog")
	othersSite, _ := h.site(other, "Theirs")

	t.Run("the site is required and must be the client's", func(t *testing.T) {
		body := wordPress(siteID)
		delete(body, "site_id")
		a := h.do("POST", integrationsPath, owner, body)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "site_id")

		a = h.do("POST", integrationsPath, owner, wordPress(othersSite))
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
		require.Equal(t, "no such site", a.body["error"])
		a = h.do("POST", integrationsPath, owner, wordPress("2f0e6f0a-1d7e-4c1b-9b35-7f3d1d0a9e11"))
		require.Equal(t, http.StatusNotFound, a.code, a.raw)

		wa := whatsApp("Support")
		wa["site_id"], wa["sync_enabled"] = siteID, true
		a = h.do("POST", integrationsPath, owner, wa)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "site_id")
		require.Contains(t, a.fields(), "sync_enabled")
	})

	t.Run("credentials and settings are validated by platform", func(t *testing.T) {
		body := wordPress(siteID)
		body["credentials"] = map[string]any{"site_url": "blog", "username": "a:b"}
		body["config"] = map[string]any{"page_size": 101, "content_types": []string{"post", "Bad Type"}, "tolerance": "5m"}
		a := h.do("POST", integrationsPath, owner, body)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		for _, field := range []string{"credentials.site_url", "credentials.username", "credentials.application_password",
			"config.page_size", "config.content_types.1", "config.tolerance"} {
			require.Contains(t, a.fields(), field)
		}

		shop := map[string]any{"name": "Shop", "platform": "shopify", "site_id": siteID,
			"credentials": map[string]any{"shop_domain": "demo.myshopify.com", "access_token": "shpat_token"},
			"config":      map[string]any{"page_size": 251}}
		a = h.do("POST", integrationsPath, owner, shop)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields()["config.page_size"], "between 1 and 250")

		wa := whatsApp("Support")
		wa["config"] = map[string]any{"content_types": []string{"post"}}
		a = h.do("POST", integrationsPath, owner, wa)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "only for site platforms", a.fields()["config.content_types"])

		body = wordPress(siteID)
		body["credentials"].(map[string]any)["api_key"] = "wpk_not-the-sites-key"
		a = h.do("POST", integrationsPath, owner, body)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "credentials.api_key")
	})

	body := wordPress(siteID)
	body["config"] = map[string]any{"content_types": []string{"post", "page"}, "page_size": 50}
	body["credentials"].(map[string]any)["api_key"] = key
	created := h.do("POST", integrationsPath, owner, body)
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)
	path := integrationsPath + id + "/"

	t.Run("the view shows the site fields and the site's key, never a credential", func(t *testing.T) {
		for _, a := range []answer{created, h.do("GET", path, owner, nil)} {
			d := a.data()
			require.Equal(t, siteID, d["site_id"])
			require.Equal(t, "cms", d["platform_type"])
			require.Equal(t, true, d["sync_enabled"])
			require.Equal(t, "", d["sync_status"])
			require.Nil(t, d["last_sync_at"])
			require.Equal(t, key, d["api_key"], "the derived api_key, as the seed shows it")
			require.Equal(t, map[string]any{"content_types": []any{"post", "page"}, "page_size": float64(50)}, d["config"])
			require.Equal(t, []any{platform.CapSyncContent, platform.CapTestConnection}, d["capabilities"])
			require.Equal(t, "/api/v1/integration/webhooks/wordpress/", d["webhook_path"])
			require.NotContains(t, a.raw, "abcd efgh ijkl mnop qrst uvwx")
			require.NotContains(t, d["credentials"], "api_key", "the site's key is not stored twice")
		}
		list := h.do("GET", integrationsPath, owner, nil)
		require.Equal(t, http.StatusOK, list.code, list.raw)
		require.Equal(t, key, list.body["data"].([]any)[0].(map[string]any)["api_key"])

		row, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, siteID, *row.SiteID)
		require.NotContains(t, row.Credentials, "abcd efgh")
	})

	t.Run("one integration per site and platform", func(t *testing.T) {
		a := h.do("POST", integrationsPath, owner, wordPress(siteID))
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, "CONFLICT", a.errorCode())
		require.Equal(t, id, a.body["details"].(map[string]any)["integration_id"])

		shop := h.do("POST", integrationsPath, owner, map[string]any{"name": "Shop", "platform": "shopify", "site_id": siteID,
			"sync_enabled": false, "credentials": map[string]any{"shop_domain": "demo.myshopify.com", "access_token": "shpat_token"}})
		require.Equal(t, http.StatusCreated, shop.code, shop.raw)
		require.Equal(t, "ecommerce", shop.data()["platform_type"])
		require.Equal(t, false, shop.data()["sync_enabled"])
		require.NotContains(t, shop.data(), "api_key", "only WordPress shows the site's key")
	})

	t.Run("an update keeps the site and the reported structure", func(t *testing.T) {
		structure, err := json.Marshal(platform.SiteStructure{PostTypes: []string{"post", "page", "product"},
			Taxonomies: []string{"category"}})
		require.NoError(t, err)
		_, err = h.store.SetSiteStructure(context.Background(), id, "", structure)
		require.NoError(t, err)

		a := h.do("PATCH", path, owner, map[string]any{"site_id": othersSite})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "site_id")
		a = h.do("PATCH", path, owner, map[string]any{"platform": "shopify"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)

		a = h.do("PATCH", path, owner, map[string]any{"sync_enabled": false, "config": map[string]any{"page_size": 20},
			"credentials": map[string]any{"username": "writer"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["sync_enabled"])
		cfg := a.data()["config"].(map[string]any)
		require.Equal(t, float64(20), cfg["page_size"])
		require.NotContains(t, cfg, "content_types", "the config is replaced")
		require.Equal(t, []any{"post", "page", "product"}, cfg["structure"].(map[string]any)["post_types"])

		row, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
		creds, err := h.vault.OpenCredentials(row.Credentials)
		require.NoError(t, err)
		require.Equal(t, "writer", creds.Fields["username"])
		require.Equal(t, "abcd efgh ijkl mnop qrst uvwx", creds.Fields["application_password"])
		require.False(t, row.SyncEnabled)

		a = h.do("PATCH", path, owner, map[string]any{"config": map[string]any{"ordered": true}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "config.ordered")
	})

	t.Run("another client's site integration is not found", func(t *testing.T) {
		for _, p := range []string{path, path + "status/", path + "contents/"} {
			require.Equal(t, http.StatusNotFound, h.do("GET", p, other, nil).code, p)
		}
		require.Equal(t, http.StatusNotFound, h.do("POST", path+"test_connection/", other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("PATCH", path, other, map[string]any{"name": "x"}).code)
	})

	t.Run("messaging routes refuse a site integration", func(t *testing.T) {
		a := h.do("POST", path+"messages/", owner, map[string]any{"to": "123", "content": map[string]any{"type": "TEXT", "text": "hi"}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("POST", "/api/v1/integration/webhooks/"+id, "", map[string]any{"hello": "world"})
		require.Equal(t, http.StatusNotFound, a.code, "a site integration receives no platform webhooks: %s", a.raw)
	})

	t.Run("validate checks a site platform's settings", func(t *testing.T) {
		a := h.do("POST", integrationsPath+"validate/", owner, map[string]any{"platform": "wordpress",
			"credentials": map[string]any{"site_url": "https://blog.example.com", "username": "editor",
				"application_password": "abcd efgh"}, "config": map[string]any{"page_size": 500}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["valid"])
		require.Contains(t, a.data()["errors"], "config.page_size")

		h.checkAnswers(platform.Health{OK: true, LatencyMS: 2})
		a = h.do("POST", integrationsPath+"validate/", owner, map[string]any{"platform": "wordpress",
			"credentials": map[string]any{"site_url": "https://blog.example.com", "username": "editor",
				"application_password": "abcd efgh"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["valid"], "the site took the credentials")
		s := h.started()
		require.Len(t, s, 1)
		in := s[0].input.(workflows.CheckInput)
		require.Equal(t, "wordpress", in.Platform)
		require.NotContains(t, in.SealedCredentials, "abcd efgh", "never in clear in history")
		h.onStart(nil)
	})

	t.Run("deleting a site integration leaves the site", func(t *testing.T) {
		require.Equal(t, http.StatusOK, h.do("DELETE", path, owner, nil).code)
		_, err := h.store.SiteIntegration(context.Background(), owner, siteID, "wordpress")
		require.ErrorIs(t, err, schema.ErrNotFound)
		require.Equal(t, http.StatusOK, h.do("GET", sitesPath+siteID+"/", owner, nil).code)
	})
}
