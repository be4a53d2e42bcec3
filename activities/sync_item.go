package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// SyncItemInput syncs one item: pulls it from the site (ExternalID, with its ContentType), or
// pushes the hub's content row (ContentID).
type SyncItemInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	ContentType   string
	ExternalID    string
	ContentID     string
}

// SyncItemResult is what happened to the item: added, updated, unchanged, deleted or pushed.
type SyncItemResult struct {
	Action     string
	ContentID  string
	ExternalID string
}

// maxExternalID bounds an item's id at the site.
const maxExternalID = 256

// SyncItem syncs one item. A pulled item is compared with the content store (UpsertContent);
// one the site no longer has is marked deleted (deleted when it was live, else unchanged). A
// pushed row is Put to the site (created when it has no external id) and marked pushed. Another
// integration's row is not found.
func (a *Activities) SyncItem(ctx context.Context, in SyncItemInput) (SyncItemResult, error) {
	switch {
	case in.SyncID == "" || in.IntegrationID == "" || in.ClientID == "":
		return SyncItemResult{}, classify(&InvalidRequestError{Reason: "sync, integration and client are required"})
	case (in.ExternalID == "") == (in.ContentID == ""):
		return SyncItemResult{}, classify(&InvalidRequestError{Reason: "one of external id and content id is required"})
	case in.ExternalID != "" && (!contentTypePattern.MatchString(in.ContentType) || len(in.ExternalID) > maxExternalID):
		return SyncItemResult{}, classify(&InvalidRequestError{Reason: fmt.Sprintf(
			"a pulled item needs a content type (1 to 64 characters of a-z, A-Z, 0-9, _ and -) and an external id of at most %d bytes",
			maxExternalID)})
	}
	s, err := a.openSite(ctx, in.IntegrationID, in.ClientID)
	if err != nil {
		return SyncItemResult{}, classifySite(err)
	}
	if !s.integration.Active {
		return SyncItemResult{}, classify(&InvalidRequestError{Reason: "the integration is inactive"})
	}
	st := a.Sites.Store
	if in.ContentID != "" {
		row, err := st.GetContent(ctx, in.ContentID)
		if err == nil && row.IntegrationID != in.IntegrationID {
			err = fmt.Errorf("content %s: %w", in.ContentID, schema.ErrNotFound)
		}
		if err != nil {
			return SyncItemResult{}, classifyStore(err)
		}
		if row.DeletedAt != nil {
			return SyncItemResult{}, classify(&InvalidRequestError{Reason: "the content was deleted"})
		}
		refusal, err := a.pushOne(ctx, s.client, in.SyncID, row, nil)
		if err != nil {
			return SyncItemResult{}, err
		}
		if refusal != nil {
			return SyncItemResult{}, classifySite(refusal)
		}
		// The external id the site gave a new item.
		if row, err = st.GetContent(ctx, in.ContentID); err != nil && !errors.Is(err, schema.ErrNotFound) {
			return SyncItemResult{}, classifyStore(err)
		}
		return SyncItemResult{Action: ContentPushed, ContentID: in.ContentID, ExternalID: row.ExternalID}, nil
	}
	item, err := s.client.Get(ctx, in.ContentType, in.ExternalID)
	if errors.Is(err, platform.ErrSiteItemNotFound) {
		deleted, err := st.MarkContentDeleted(ctx, in.IntegrationID, in.SyncID, in.ContentType, in.ExternalID)
		if err != nil {
			return SyncItemResult{}, classifyStore(err)
		}
		res := SyncItemResult{Action: ContentUnchanged, ExternalID: in.ExternalID}
		if deleted {
			res.Action = ContentDeleted
		}
		return res, nil
	}
	if err != nil {
		return SyncItemResult{}, classifySite(err)
	}
	if item.Type == "" {
		item.Type = in.ContentType
	}
	if item.ExternalID == "" {
		item.ExternalID = in.ExternalID
	}
	action, row, err := st.UpsertContent(ctx, in.IntegrationID, in.ClientID, in.SyncID, contentItem(item))
	if err != nil {
		return SyncItemResult{}, classifyStore(err)
	}
	return SyncItemResult{Action: action, ContentID: row.ID, ExternalID: row.ExternalID}, nil
}

// SiteStructureInput records a site's structure: the one given (the site pushed it), or the
// one read from the site (nil).
type SiteStructureInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	Structure     *platform.SiteStructure `json:",omitempty"`
}

// Structure limits: a site's post types, taxonomies and plugins, and the size of it all.
const (
	maxStructureNames = 1000
	maxStructureName  = 200
	maxStructureBytes = 256 << 10
)

// UpdateSiteStructure stores a site's structure in its integration's config (with a
// "structure_updated" sync event) and answers it.
func (a *Activities) UpdateSiteStructure(ctx context.Context, in SiteStructureInput) (platform.SiteStructure, error) {
	if in.SyncID == "" || in.IntegrationID == "" || in.ClientID == "" {
		return platform.SiteStructure{}, classify(&InvalidRequestError{Reason: "sync, integration and client are required"})
	}
	s, err := a.openSite(ctx, in.IntegrationID, in.ClientID)
	if err != nil {
		return platform.SiteStructure{}, classifySite(err)
	}
	structure := in.Structure
	if structure == nil {
		got, err := s.client.Structure(ctx)
		if err != nil {
			return platform.SiteStructure{}, classifySite(err)
		}
		structure = &got
	}
	if structure.Timestamp.IsZero() {
		structure.Timestamp = time.Now().UTC()
	}
	b, err := checkStructure(*structure)
	if err != nil {
		return platform.SiteStructure{}, classifyStore(err)
	}
	if _, err := a.Sites.Store.SetSiteStructure(ctx, in.IntegrationID, in.SyncID, b); err != nil {
		return platform.SiteStructure{}, classifyStore(err)
	}
	return *structure, nil
}

// checkStructure holds a structure to the limits and encodes it.
func checkStructure(st platform.SiteStructure) (json.RawMessage, error) {
	if len(st.PostTypes)+len(st.Taxonomies)+len(st.Plugins) > maxStructureNames {
		return nil, &InvalidRequestError{Reason: fmt.Sprintf("a site structure names at most %d post types, taxonomies and plugins",
			maxStructureNames)}
	}
	names := append(append([]string{}, st.PostTypes...), st.Taxonomies...)
	for name := range st.Plugins {
		names = append(names, name)
	}
	for _, n := range names {
		if n == "" || len(n) > maxStructureName {
			return nil, &InvalidRequestError{Reason: fmt.Sprintf("a site structure's names are 1 to %d bytes", maxStructureName)}
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, &InvalidRequestError{Reason: "site structure: " + err.Error()}
	}
	if len(b) > maxStructureBytes {
		return nil, &InvalidRequestError{Reason: fmt.Sprintf("a site structure is at most %d bytes", maxStructureBytes)}
	}
	return b, nil
}

// checkTimeout bounds a site's connection test.
const checkTimeout = 25 * time.Second

// checkSite tests a site integration's connection with one harmless call (a stored
// integration, by id, or unsaved credentials) and, for a stored one, records a test_connection
// sync event.
func (a *Activities) checkSite(ctx context.Context, integrationID string, in platform.Integration) (platform.Health, error) {
	var client platform.SiteClient
	var clientID string
	if integrationID != "" {
		s, err := a.openSite(ctx, integrationID, "")
		if err != nil {
			var invalid *InvalidRequestError
			if errors.As(err, &invalid) {
				return platform.Health{Error: invalid.Reason}, nil
			}
			return platform.Health{}, classifyStore(err)
		}
		client, clientID = s.client, s.row.ClientID
	} else {
		if a.Sites.Client == nil {
			return platform.Health{}, classify(&InvalidRequestError{Reason: "this worker serves no site integrations"})
		}
		var err error
		if client, err = a.Sites.Client(in, platform.SiteConfig{}); err != nil {
			return platform.Health{Error: err.Error()}, nil
		}
	}
	timeout := a.Config.SiteTimeout
	if timeout <= 0 {
		timeout = defaultSiteTimeout
	}
	// The check's workflow gives its local activity 30 s: the answer must come before.
	timeout = min(timeout, checkTimeout)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	test := client.Test(tctx)
	latency := float64(time.Since(start).Microseconds()) / 1000
	details := maps.Clone(test.Details)
	if details == nil {
		details = map[string]any{}
	}
	details["message"] = test.Message
	h := platform.Health{OK: test.Success, LatencyMS: latency, Details: details}
	if !test.Success {
		h.Error = test.Message
	}
	if integrationID != "" {
		err := a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: integrationID, ClientID: clientID,
			EventType: SyncEventTestConnection, Action: SyncActionTested, Success: test.Success, ErrorMessage: h.Error,
			DurationMS: latency}, details)
		if err != nil {
			// The test was made: its answer matters more than its line in the log.
			activity.GetLogger(ctx).Error("Recording a connection test failed", "integration_id", integrationID, "error", err)
		}
	}
	return h, nil
}
