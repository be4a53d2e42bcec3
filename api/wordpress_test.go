package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

const (
	wordPressStatusPath   = "/api/v1/integration/webhooks/wordpress/status/"
	wordPressMetadataPath = "/api/v1/integration/webhooks/wordpress/metadata/"
)

func TestWordPressCallbacksStartTheirWorkOnce(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionIntegrations)
	siteID, key := h.site(owner, "Blog")
	from := address()
	callback := func(path string, body any, header ...string) answer {
		return h.doFrom(from, "POST", path, body, header...)
	}

	t.Run("the site's key is required, and checked", func(t *testing.T) {
		h.onStart(nil)
		body := map[string]any{"site_id": siteID, "post_id": 42}
		a := callback(wordPressStatusPath, body)
		require.Equal(t, http.StatusUnauthorized, a.code, a.raw)
		a = callback(wordPressStatusPath, body, "X-Api-Key", "wpk_wrong")
		require.Equal(t, http.StatusUnauthorized, a.code, a.raw)
		require.Equal(t, "INVALID_CREDENTIALS", a.errorCode())
		a = callback(wordPressMetadataPath, map[string]any{"site_id": "2f0e6f0a-1d7e-4c1b-9b35-7f3d1d0a9e11"},
			"X-Api-Key", key)
		require.Equal(t, http.StatusUnauthorized, a.code, "another site's key: %s", a.raw)
		a = callback(wordPressStatusPath, map[string]any{"post_id": 42}, "X-Api-Key", key)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Empty(t, h.started())
	})

	t.Run("a site without a WordPress integration is not found", func(t *testing.T) {
		a := callback(wordPressStatusPath, map[string]any{"site_id": siteID, "post_id": 42}, "X-Api-Key", key)
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
	})

	created := h.do("POST", integrationsPath, owner, wordPress(siteID))
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)

	t.Run("a status change starts SyncContent, named by the body's hash", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID}, nil
		})
		raw := `{"site_id": "` + siteID + `", "post_id": "42", "post_type": "page", "post_status": "publish", "title": "Hello"}`
		a := callback(wordPressStatusPath, raw, "Authorization", "Bearer "+key)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		sum := sha256.Sum256([]byte(raw))
		want := "sync:" + id + ":content:" + hex.EncodeToString(sum[:])[:32]
		require.Equal(t, want, a.body["workflow_id"])
		require.Equal(t, true, a.body["accepted"])

		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowSyncContent, s[0].workflowType)
		require.Equal(t, workflows.TaskQueueSync, s[0].opts.TaskQueue)
		require.Equal(t, want, s[0].opts.ID)
		require.True(t, s[0].opts.EnableEagerStart)
		require.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, s[0].opts.WorkflowIDReusePolicy,
			"the same callback after its run finished is new work (the post changed again)")
		require.Equal(t, enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL, s[0].opts.WorkflowIDConflictPolicy,
			"the same callback while its run goes on is a duplicate")
		in := s[0].input.(workflows.SyncContentInput)
		require.NotEmpty(t, in.SyncID)
		in.SyncID = ""
		require.Equal(t, workflows.SyncContentInput{IntegrationID: id, ClientID: owner, ContentType: "page", ExternalID: "42",
			Trigger: workflows.TriggerCallback}, in)
		memo := s[0].opts.Memo[transaction.MemoKey].(transaction.Memo)
		require.Equal(t, owner, memo.ClientID)
		require.Equal(t, transaction.KindSync, memo.Kind)
	})

	t.Run("the same body while its run goes on is a duplicate", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "run-1")
		})
		a := callback(wordPressStatusPath, map[string]any{"site_id": siteID, "post_id": 42}, "X-Api-Key", key)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.body["duplicate"])
	})

	t.Run("bad fields are named", func(t *testing.T) {
		h.onStart(nil)
		a := callback(wordPressStatusPath, map[string]any{"site_id": siteID, "post_id": "abc", "post_type": "Bad Type"},
			"X-Api-Key", key)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "post_id")
		require.Contains(t, a.fields(), "post_type")
		a = callback(wordPressMetadataPath, map[string]any{"site_id": siteID, "post_types": 7, "timestamp": "yesterday"},
			"X-Api-Key", key)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "post_types")
		require.Contains(t, a.fields(), "timestamp")
		a = callback(wordPressMetadataPath, map[string]any{"site_id": siteID, "padding": strings.Repeat("x", 70<<10)},
			"X-Api-Key", key)
		require.Equal(t, http.StatusRequestEntityTooLarge, a.code, "a callback is at most 64 KiB")
		require.Empty(t, h.started())
	})

	t.Run("metadata starts SyncStructure with what the site reported", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID}, nil
		})
		a := callback(wordPressMetadataPath, map[string]any{"site_id": siteID,
			"post_types": map[string]any{"post": map[string]any{"label": "Posts"}, "page": map[string]any{"label": "Pages"}},
			"taxonomies": []string{"category", "post_tag"}, "plugins": map[string]bool{"woocommerce": true, "yoast": false},
			"timestamp": 1735689600}, "X-Api-Key", key)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.True(t, strings.HasPrefix(a.body["workflow_id"].(string), "sync:"+id+":structure:"))
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowSyncStructure, s[0].workflowType)
		in := s[0].input.(workflows.SyncStructureInput)
		require.Equal(t, id, in.IntegrationID)
		require.Equal(t, workflows.TriggerCallback, in.Trigger)
		require.Equal(t, &platform.SiteStructure{PostTypes: []string{"page", "post"}, Taxonomies: []string{"category", "post_tag"},
			Plugins: map[string]bool{"woocommerce": true, "yoast": false}, Timestamp: time.Unix(1735689600, 0).UTC()}, in.Structure)
	})

	t.Run("an integration not syncing takes no status callbacks", func(t *testing.T) {
		h.onStart(nil)
		require.Equal(t, http.StatusOK, h.do("PATCH", integrationsPath+id+"/", owner, map[string]any{"sync_enabled": false}).code)
		a := callback(wordPressStatusPath, map[string]any{"site_id": siteID, "post_id": 8}, "X-Api-Key", key)
		require.Equal(t, http.StatusConflict, a.code, a.raw)
	})

	t.Run("an inactive integration takes no callbacks", func(t *testing.T) {
		h.onStart(nil)
		require.Equal(t, http.StatusOK, h.do("PATCH", integrationsPath+id+"/", owner, map[string]any{"is_active": false}).code)
		a := callback(wordPressStatusPath, map[string]any{"site_id": siteID, "post_id": 7}, "X-Api-Key", key)
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
	})
}
