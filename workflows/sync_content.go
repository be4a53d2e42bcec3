package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// SyncContent syncs one item of a site integration: it pulls the item from the site into the
// content store (ExternalID: added, updated, unchanged, or deleted when the site no longer has
// it), or pushes the hub's content row to the site (ContentID: pushed). One local activity,
// retried while the site is unavailable; a failure is a result (Error, ErrorCode), recorded as
// a failed sync event.
func SyncContent(ctx workflow.Context, in SyncContentInput) (SyncContentResult, error) {
	if in.IntegrationID == "" || in.ClientID == "" || (in.ExternalID == "") == (in.ContentID == "") {
		return SyncContentResult{}, temporal.NewNonRetryableApplicationError(
			"integration, client and one of external id and content id are required", transaction.ErrTypeInvalidInput, nil)
	}
	if in.SyncID == "" {
		in.SyncID = workflow.GetInfo(ctx).WorkflowExecution.RunID
	}
	logger := log.With(workflow.GetLogger(ctx), "sync_id", in.SyncID, "integration_id", in.IntegrationID)
	status, err := track(ctx, logger, transaction.KindSync, in.ClientID, in.IntegrationID, in.SyncID)
	if err != nil {
		return SyncContentResult{}, err
	}
	pol, err := syncPolicies(ctx)
	if err != nil {
		return SyncContentResult{}, err
	}
	var item activities.SyncItemResult
	err = workflow.ExecuteLocalActivity(syncItemOptions(ctx, pol), a.SyncItem, activities.SyncItemInput{SyncID: in.SyncID,
		IntegrationID: in.IntegrationID, ClientID: in.ClientID, ContentType: in.ContentType, ExternalID: in.ExternalID,
		ContentID: in.ContentID}).Get(ctx, &item)
	res := SyncContentResult{SyncID: in.SyncID, Action: item.Action, ContentID: item.ContentID}
	if err != nil {
		res.ContentID = in.ContentID
		res.Error, res.ErrorCode = syncErrorText(err), syncErrorCode(err)
		logger.Warn("Syncing an item failed", "external_id", in.ExternalID, "content_id", in.ContentID, "error", res.Error)
		if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordSyncEvent, activities.SyncEventInput{
			IntegrationID: in.IntegrationID, ClientID: in.ClientID, SyncID: in.SyncID, EventType: activities.SyncEventContent,
			Action: activities.SyncActionFailed, ContentID: in.ContentID, ExternalID: in.ExternalID,
			Details: map[string]any{"trigger": in.Trigger, "error_code": res.ErrorCode}, Error: res.Error}).Get(ctx, nil); err != nil {
			return SyncContentResult{}, err
		}
		status.show(ctx, StatusView{Status: transaction.StatusFailed, Error: res.Error, ErrorCode: res.ErrorCode},
			transaction.StatusFailed)
		return res, nil
	}
	status.show(ctx, StatusView{Status: transaction.StatusSuccessful}, transaction.StatusSuccessful)
	return res, nil
}

// SyncStructure records a site's structure in its integration's config: the one the site
// pushed (Structure), or the one read from the site. A failure is a result.
func SyncStructure(ctx workflow.Context, in SyncStructureInput) (SyncStructureResult, error) {
	if in.IntegrationID == "" || in.ClientID == "" {
		return SyncStructureResult{}, temporal.NewNonRetryableApplicationError("integration and client are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	if in.SyncID == "" {
		in.SyncID = workflow.GetInfo(ctx).WorkflowExecution.RunID
	}
	logger := log.With(workflow.GetLogger(ctx), "sync_id", in.SyncID, "integration_id", in.IntegrationID)
	status, err := track(ctx, logger, transaction.KindSync, in.ClientID, in.IntegrationID, in.SyncID)
	if err != nil {
		return SyncStructureResult{}, err
	}
	pol, err := syncPolicies(ctx)
	if err != nil {
		return SyncStructureResult{}, err
	}
	res := SyncStructureResult{SyncID: in.SyncID}
	err = workflow.ExecuteLocalActivity(syncItemOptions(ctx, pol), a.UpdateSiteStructure, activities.SiteStructureInput{
		SyncID: in.SyncID, IntegrationID: in.IntegrationID, ClientID: in.ClientID, Structure: in.Structure}).Get(ctx, &res.Structure)
	if err != nil {
		res.Error, res.ErrorCode = syncErrorText(err), syncErrorCode(err)
		logger.Warn("Recording a site's structure failed", "error", res.Error)
		if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordSyncEvent, activities.SyncEventInput{
			IntegrationID: in.IntegrationID, ClientID: in.ClientID, SyncID: in.SyncID, EventType: activities.SyncEventMetadata,
			Action: activities.SyncActionFailed, Details: map[string]any{"trigger": in.Trigger, "error_code": res.ErrorCode},
			Error: res.Error}).Get(ctx, nil); err != nil {
			return SyncStructureResult{}, err
		}
		status.show(ctx, StatusView{Status: transaction.StatusFailed, Error: res.Error, ErrorCode: res.ErrorCode},
			transaction.StatusFailed)
		return res, nil
	}
	status.show(ctx, StatusView{Status: transaction.StatusSuccessful}, transaction.StatusSuccessful)
	return res, nil
}

// syncPolicies reads the worker's sync policy once per run.
func syncPolicies(ctx workflow.Context) (activities.SyncPolicy, error) {
	var pol activities.SyncPolicy
	err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.SyncPolicies).Get(ctx, &pol)
	return pol, err
}

// syncItemOptions run a one-item step as a local activity, retried under the worker's sync
// policy while the site is unavailable (after its Retry-After).
func syncItemOptions(ctx workflow.Context, pol activities.SyncPolicy) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: pol.ItemTimeout,
		RetryPolicy:         syncRetryPolicy(pol),
	})
}
