package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

func TestContentStoreRoutes(t *testing.T) {
	h := newHub(t, api.Config{MaxRequestBodyBytes: 1 << 20})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	siteID, _ := h.site(owner, "Blog")
	created := h.do("POST", integrationsPath, owner, wordPress(siteID))
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)
	contents := integrationsPath + id + "/contents/"

	t.Run("bad content is refused, naming every field", func(t *testing.T) {
		a := h.do("POST", contents, owner, map[string]any{"title": strings.Repeat("t", 1001), "body": "a\x00b",
			"status": "Published!"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		for _, field := range []string{"content_type", "title", "body", "status"} {
			require.Contains(t, a.fields(), field)
		}
		a = h.do("POST", contents, owner, map[string]any{"content_type": "post", "body": strings.Repeat("b", 1<<20+1)})
		require.Equal(t, http.StatusRequestEntityTooLarge, a.code, a.raw)
		a = h.do("POST", contents, owner, map[string]any{"content_type": "post", "body": strings.Repeat("b", 900<<10)})
		require.Equal(t, http.StatusCreated, a.code, "a large body within the request cap")
		a = h.do("POST", contents, owner, map[string]any{"content_type": "post", "author": "me"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	a := h.do("POST", contents, owner, map[string]any{"content_type": "post", "title": "Hello", "body": "<p>World</p>"})
	require.Equal(t, http.StatusCreated, a.code, a.raw)
	item := a.data()
	contentID := item["id"].(string)
	path := contents + contentID + "/"

	t.Run("content made in the hub is dirty, with the change-detection hash", func(t *testing.T) {
		require.Equal(t, true, item["dirty"])
		require.Equal(t, "", item["external_id"])
		require.Equal(t, "draft", item["status"])
		require.Equal(t, "<p>World</p>", item["body"])
		require.Equal(t, platform.SiteItem{Type: "post", Title: "Hello", Body: "<p>World</p>", Status: "draft"}.Hash(),
			item["content_hash"])

		list := h.do("GET", contents, owner, nil)
		require.Equal(t, http.StatusOK, list.code, list.raw)
		require.Len(t, list.body["data"], 2, "the large one and this one")
		listed := list.body["data"].([]any)[0].(map[string]any)
		require.Equal(t, contentID, listed["id"])
		require.NotContains(t, listed, "body", "lists leave bodies out")

		first := h.do("GET", contents+"?limit=1", owner, nil)
		require.Equal(t, http.StatusOK, first.code, first.raw)
		require.Equal(t, true, first.body["has_more"])
		require.Equal(t, contentID, first.body["next_page"], "newest first; the cursor is the last item's id")
		second := h.do("GET", contents+"?limit=1&starting_after="+contentID, owner, nil)
		require.Equal(t, http.StatusOK, second.code, second.raw)
		require.Len(t, second.body["data"], 1)
		require.NotEqual(t, contentID, second.body["data"].([]any)[0].(map[string]any)["id"])
		require.Equal(t, false, second.body["has_more"])

		one := h.do("GET", path, owner, nil)
		require.Equal(t, http.StatusOK, one.code, one.raw)
		require.Equal(t, "<p>World</p>", one.data()["body"])
	})

	t.Run("an edit changes the hash and keeps it dirty", func(t *testing.T) {
		_, err := h.store.UpdateContent(context.Background(), contentID, func(r *schema.ContentRow) error {
			r.Dirty = false // as if pushed
			return nil
		})
		require.NoError(t, err)
		a := h.do("PATCH", path, owner, map[string]any{"title": "Hello again", "status": "publish"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "Hello again", a.data()["title"])
		require.Equal(t, "<p>World</p>", a.data()["body"], "fields not given are kept")
		require.Equal(t, platform.SiteItem{Type: "post", Title: "Hello again", Body: "<p>World</p>", Status: "publish"}.Hash(),
			a.data()["content_hash"])
		require.Equal(t, true, a.data()["dirty"])

		a = h.do("PATCH", path, owner, map[string]any{"content_type": "page"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("PATCH", path, owner, map[string]any{"title": "bad\x07title"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	t.Run("content is its integration's and its client's", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, h.do("GET", path, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", contents, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("PATCH", path, other, map[string]any{"title": "x"}).code)
		require.Equal(t, http.StatusNotFound, h.do("POST", contents, other, map[string]any{"content_type": "post"}).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", contents+"cnt_unknown/", owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", contents+"%00/", owner, nil).code, "a NUL is no id, not a 500")
		require.Equal(t, http.StatusNotFound, h.do("GET", contents+"%FF/", owner, nil).code)

		shop := h.do("POST", integrationsPath, owner, map[string]any{"name": "Shop", "platform": "shopify", "site_id": siteID,
			"credentials": map[string]any{"shop_domain": "demo.myshopify.com", "access_token": "shpat_token"}})
		require.Equal(t, http.StatusCreated, shop.code, shop.raw)
		foreign := integrationsPath + shop.data()["id"].(string) + "/contents/" + contentID + "/"
		require.Equal(t, http.StatusNotFound, h.do("GET", foreign, owner, nil).code, "another integration's content")

		wa := h.do("POST", integrationsPath, owner, whatsApp("Support"))
		require.Equal(t, http.StatusCreated, wa.code, wa.raw)
		a := h.do("GET", integrationsPath+wa.data()["id"].(string)+"/contents/", owner, nil)
		require.Equal(t, http.StatusBadRequest, a.code, "a messaging integration has no content store: %s", a.raw)
	})
}
