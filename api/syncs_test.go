package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// --- an in-memory Temporal schedule client ---------------------------------------------------

// fakeSchedules keeps schedules in memory and describes them as Temporal does: the action's
// memo and arguments as payloads, the next runs of an interval.
type fakeSchedules struct {
	mu   sync.Mutex
	byID map[string]*fakeSchedule
}

type fakeSchedule struct {
	action  *client.ScheduleWorkflowAction
	spec    client.ScheduleSpec
	policy  client.SchedulePolicies
	state   client.ScheduleState
	created time.Time
}

// stubSchedules gives the hub's Temporal client a fake schedule client.
func stubSchedules(h *hub) {
	h.schedules = &fakeSchedules{byID: map[string]*fakeSchedule{}}
	h.temporal.On("ScheduleClient").Return(h.schedules).Maybe()
}

func (f *fakeSchedules) Create(_ context.Context, opts client.ScheduleOptions) (client.ScheduleHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byID[opts.ID]; ok {
		return nil, temporal.ErrScheduleAlreadyRunning
	}
	action, ok := opts.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return nil, serviceerror.NewInvalidArgument("a schedule's action starts a workflow")
	}
	if len(opts.Spec.Intervals) == 0 && len(opts.Spec.CronExpressions) == 0 {
		return nil, serviceerror.NewInvalidArgument("a schedule needs a spec")
	}
	f.byID[opts.ID] = &fakeSchedule{action: action, spec: opts.Spec, policy: client.SchedulePolicies{Overlap: opts.Overlap},
		state: client.ScheduleState{Paused: opts.Paused, Note: opts.Note}, created: time.Now()}
	return &fakeHandle{f: f, id: opts.ID}, nil
}

func (f *fakeSchedules) List(context.Context, client.ScheduleListOptions) (client.ScheduleListIterator, error) {
	return nil, errors.New("listing schedules is not faked")
}

func (f *fakeSchedules) GetHandle(_ context.Context, id string) client.ScheduleHandle {
	return &fakeHandle{f: f, id: id}
}

// get is a schedule as it was set (not described); nil when none.
func (f *fakeSchedules) get(id string) *fakeSchedule {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.byID[id]; ok {
		c := *s
		return &c
	}
	return nil
}

type fakeHandle struct {
	f  *fakeSchedules
	id string
}

func (h *fakeHandle) GetID() string { return h.id }

func (h *fakeHandle) Delete(context.Context) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if _, ok := h.f.byID[h.id]; !ok {
		return serviceerror.NewNotFound("schedule not found")
	}
	delete(h.f.byID, h.id)
	return nil
}

func (h *fakeHandle) Backfill(context.Context, client.ScheduleBackfillOptions) error { return nil }
func (h *fakeHandle) Trigger(context.Context, client.ScheduleTriggerOptions) error   { return nil }
func (h *fakeHandle) Pause(context.Context, client.SchedulePauseOptions) error       { return nil }
func (h *fakeHandle) Unpause(context.Context, client.ScheduleUnpauseOptions) error   { return nil }

func (h *fakeHandle) Update(_ context.Context, opts client.ScheduleUpdateOptions) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	s, ok := h.f.byID[h.id]
	if !ok {
		return serviceerror.NewNotFound("schedule not found")
	}
	up, err := opts.DoUpdate(client.ScheduleUpdateInput{Description: *describe(s)})
	if errors.Is(err, temporal.ErrSkipScheduleUpdate) {
		return nil
	}
	if err != nil {
		return err
	}
	if a, ok := up.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		s.action = a
	}
	if up.Schedule.Spec != nil {
		s.spec = *up.Schedule.Spec
	}
	if up.Schedule.Policy != nil {
		s.policy = *up.Schedule.Policy
	}
	if up.Schedule.State != nil {
		s.state = *up.Schedule.State
	}
	return nil
}

func (h *fakeHandle) Describe(context.Context) (*client.ScheduleDescription, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	s, ok := h.f.byID[h.id]
	if !ok {
		return nil, serviceerror.NewNotFound("schedule not found")
	}
	return describe(s), nil
}

// describe is the schedule as Temporal describes it: memo and arguments as payloads, a cron
// expression as calendars (so not given back), the next three runs of an interval.
func describe(s *fakeSchedule) *client.ScheduleDescription {
	dc := converter.GetDefaultDataConverter()
	action := *s.action
	action.Memo, action.Args = map[string]any{}, nil
	for k, v := range s.action.Memo {
		if p, ok := v.(*common.Payload); ok {
			action.Memo[k] = p
			continue
		}
		p, err := dc.ToPayload(v)
		if err != nil {
			panic(err)
		}
		action.Memo[k] = p
	}
	for _, v := range s.action.Args {
		p, err := dc.ToPayload(v)
		if err != nil {
			panic(err)
		}
		action.Args = append(action.Args, p)
	}
	spec := client.ScheduleSpec{Intervals: s.spec.Intervals}
	if len(s.spec.CronExpressions) > 0 {
		spec.Calendars = []client.ScheduleCalendarSpec{{Comment: "from cron"}}
	}
	policy, state := s.policy, s.state
	d := &client.ScheduleDescription{Schedule: client.Schedule{Action: &action, Spec: &spec, Policy: &policy, State: &state},
		Info: client.ScheduleInfo{CreatedAt: s.created, NextActionTimes: []time.Time{}}}
	if len(s.spec.Intervals) > 0 {
		every := s.spec.Intervals[0].Every
		next := time.Now().UTC().Truncate(every)
		for i := 1; i <= 3; i++ {
			d.Info.NextActionTimes = append(d.Info.NextActionTimes, next.Add(time.Duration(i)*every))
		}
	}
	return d
}

// --- helpers -----------------------------------------------------------------------------------

// makeSyncSite makes a site and a site integration of it for owner, straight in the store.
func (h *hub) makeSyncSite(owner string, name platform.Name, active, syncEnabled bool, config string) string {
	h.t.Helper()
	ctx := context.Background()
	site, err := h.store.CreateSite(ctx, schema.SiteRow{ID: uuid.NewString(), ClientID: owner, Name: "Blog",
		URL: "https://blog.example", APIKey: "sealed-key"})
	require.NoError(h.t, err)
	creds, err := h.vault.SealCredentials(platform.Credentials{Fields: map[string]string{
		"site_url": "https://blog.example", "username": "editor", "application_password": "abcd efgh ijkl mnop qrst uvwx"}})
	require.NoError(h.t, err)
	if config == "" {
		config = "{}"
	}
	row, err := h.store.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: owner, Name: "Blog",
		Platform: string(name), Credentials: creds, Config: json.RawMessage(config), IsActive: active, SiteID: &site.ID,
		PlatformType: name.PlatformType(), SyncEnabled: syncEnabled})
	require.NoError(h.t, err)
	return row.ID
}

// startRun records a sync run of the integration as its workflow would.
func (h *hub) startRun(integrationID, owner, workflowID string) schema.SyncRunRow {
	h.t.Helper()
	run, err := h.store.StartSyncRun(context.Background(), schema.SyncRunRow{ID: uuid.NewString(),
		IntegrationID: integrationID, ClientID: owner, WorkflowID: workflowID, Direction: platform.DirectionFromExternal})
	require.NoError(h.t, err)
	return run
}

// runningWorkflow makes Temporal describe workflowID's latest run as running.
func (h *hub) runningWorkflow(workflowID string) {
	h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "").Return(
		&workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status: enums.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil)
}

// encoded is a query's answer.
type encoded struct{ v any }

func (e encoded) HasValue() bool { return e.v != nil }
func (e encoded) Get(ptr any) error {
	b, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func (a answer) details() map[string]any {
	d, _ := a.body["details"].(map[string]any)
	return d
}

// --- tests --------------------------------------------------------------------------------------

func TestSyncStartIsValidatedAndOneAtATime(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	id := h.makeSyncSite(owner, platform.WordPress, true, true, "")
	path := integrationsPath + id + "/sync/"

	t.Run("bad requests name their fields and start nothing", func(t *testing.T) {
		h.onStart(nil)
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{}, "direction"},
			{map[string]any{"direction": "sideways"}, "direction"},
			{map[string]any{"direction": "both", "since": "yesterday"}, "since"},
			{map[string]any{"direction": "both", "since": time.Now().Add(time.Hour).Format(time.RFC3339)}, "since"},
			{map[string]any{"direction": "both", "filters": map[string]any{"Bad Key": "x"}}, "filters"},
			{map[string]any{"direction": "both", "filters": map[string]any{"status": strings.Repeat("x", 2000)}}, "filters.status"},
			// The sync's own rules, refused before anything starts (not a run that fails at once).
			{map[string]any{"direction": "both", "filters": map[string]any{"type": "post"}}, "filters.type"},
			{map[string]any{"direction": "both", "filters": map[string]any{"content_types": "post,bad type!"}}, "filters.content_types"},
			{map[string]any{"direction": "both", "filters": map[string]any{"status": strings.Repeat("x", 100)}}, "filters.status"},
		} {
			a := h.do("POST", path, owner, tc.body)
			require.Equal(t, http.StatusBadRequest, a.code, a.raw)
			require.Equal(t, api.CodeValidation, a.errorCode())
			require.Contains(t, a.fields(), tc.field, a.raw)
		}
		many := map[string]any{}
		for i := range 21 {
			many["f"+strings.Repeat("x", i)] = "v"
		}
		a := h.do("POST", path, owner, map[string]any{"direction": "both", "filters": many})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "filters")
		a = h.do("POST", path, owner, map[string]any{"direction": "both", "filters": map[string]any{"status": 1}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("POST", path, owner, `{"direction": "both", "extra": true}`)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Empty(t, h.started())
	})

	t.Run("only active site integrations with syncs on sync", func(t *testing.T) {
		h.onStart(nil)
		wa := h.do("POST", integrationsPath, owner, whatsApp("Support"))
		require.Equal(t, http.StatusCreated, wa.code, wa.raw)
		a := h.do("POST", integrationsPath+wa.data()["id"].(string)+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.raw, "only site integrations")

		inactive := h.makeSyncSite(owner, platform.Shopify, false, true, "")
		a = h.do("POST", integrationsPath+inactive+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, api.CodeConflict, a.errorCode())

		off := h.makeSyncSite(owner, platform.Custom, true, false, "")
		a = h.do("POST", integrationsPath+off+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, api.CodeSyncDisabled, a.errorCode())
		require.Empty(t, h.started())
	})

	t.Run("another client's integration is not found", func(t *testing.T) {
		h.onStart(nil)
		a := h.do("POST", path, other, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
		require.Empty(t, h.started())
	})

	t.Run("a sync starts as sync:<integration id> on the sync queue", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		since := "2025-01-31T12:00:00+01:00"
		a := h.do("POST", path, owner, map[string]any{"direction": "from_external", "since": since,
			"filters": map[string]any{"content_types": "post,page"}, "reset": true})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowSync, s[0].workflowType)
		require.Equal(t, workflows.SyncWorkflowID(id), s[0].opts.ID)
		require.Equal(t, workflows.TaskQueueSync, s[0].opts.TaskQueue)
		require.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, s[0].opts.WorkflowIDReusePolicy)
		require.Equal(t, enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL, s[0].opts.WorkflowIDConflictPolicy)
		require.True(t, s[0].opts.EnableEagerStart)
		memo := s[0].opts.Memo[transaction.MemoKey].(transaction.Memo)
		require.Equal(t, transaction.KindSync, memo.Kind)
		require.Equal(t, owner, memo.ClientID)
		kind, ok := s[0].opts.TypedSearchAttributes.GetKeyword(workflows.KindKey)
		require.True(t, ok)
		require.Equal(t, "sync", kind)

		in := s[0].input.(workflows.SyncInput)
		require.NoError(t, uuid.Validate(in.SyncID))
		require.Equal(t, id, in.IntegrationID)
		require.Equal(t, owner, in.ClientID)
		require.Equal(t, platform.DirectionFromExternal, in.Direction)
		require.Equal(t, workflows.TriggerAPI, in.Trigger)
		require.True(t, in.Reset)
		require.Equal(t, map[string]string{"content_types": "post,page"}, in.Filters)
		require.Equal(t, time.Date(2025, 1, 31, 11, 0, 0, 0, time.UTC), *in.Since)

		require.Equal(t, in.SyncID, a.data()["sync_id"])
		require.Equal(t, workflows.SyncWorkflowID(id), a.data()["workflow_id"])
		require.Equal(t, "RUNNING", a.data()["status"])
		require.Equal(t, integrationsPath+id+"/sync_status/", a.data()["status_url"])

		// The run's row holds the slot from the answer on, before the workflow's first task.
		run, err := h.store.ActiveSyncRun(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, in.SyncID, run.ID)
		require.Equal(t, workflows.SyncWorkflowID(id), run.WorkflowID)
		_, err = h.store.FinishSyncRun(context.Background(), run.ID, transaction.SyncSuccess, schema.SyncCounts{}, "")
		require.NoError(t, err)
	})

	t.Run("a start refused by Temporal is 409 SYNC_RUNNING and frees the slot", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("running", "", "run-1")
		})
		a := h.do("POST", path, owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, transaction.ErrorCodeSyncRunning, a.errorCode())
		require.Equal(t, workflows.SyncWorkflowID(id), a.details()["workflow_id"])
		_, err := h.store.ActiveSyncRun(context.Background(), id)
		require.ErrorIs(t, err, schema.ErrNotFound, "the row made for a start that failed is closed")
		row, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, transaction.SyncSuccess, row.SyncStatus, "a start that failed leaves the last status")
	})

	t.Run("an active run answers 409 SYNC_RUNNING with its status and progress", func(t *testing.T) {
		h.onStart(nil)
		busy := h.makeSyncSite(owner, platform.WordPress, true, true, "")
		run := h.startRun(busy, owner, workflows.SyncWorkflowID(busy)+"-2026-01-01T00:00:00Z")
		h.runningWorkflow(run.WorkflowID)
		h.temporal.On("QueryWorkflow", mock.Anything, run.WorkflowID, "", workflows.QueryProgress).Return(
			nil, errors.New("no worker")).Once()

		a := h.do("POST", integrationsPath+busy+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, transaction.ErrorCodeSyncRunning, a.errorCode())
		d := a.details()
		require.Equal(t, run.ID, d["sync_id"])
		require.Equal(t, "RUNNING", d["status"])
		progress := d["progress"].(map[string]any)
		require.Equal(t, "database", progress["source"], "the run did not answer: its row did")

		h.temporal.On("QueryWorkflow", mock.Anything, run.WorkflowID, "", workflows.QueryProgress).Return(
			encoded{workflows.SyncProgress{SyncID: run.ID, Status: transaction.SyncPaused, Phase: workflows.PhasePull,
				Pages: 3, Items: 300, Added: 290, Unchanged: 10, ItemsPerSecond: 150, Note: "lunch"}}, nil).Once()
		a = h.do("POST", integrationsPath+busy+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		d = a.details()
		require.Equal(t, "PAUSED", d["status"])
		progress = d["progress"].(map[string]any)
		require.Equal(t, "workflow", progress["source"])
		require.EqualValues(t, 300, progress["items"])
		require.EqualValues(t, 290, progress["added"])
		require.Equal(t, "lunch", progress["note"])
		require.Empty(t, h.started())
	})

	t.Run("a closed execution under the run's ID is the run's only when it names the run", func(t *testing.T) {
		busy := h.makeSyncSite(owner, platform.WordPress, true, true, "")
		run := h.startRun(busy, owner, workflows.SyncWorkflowID(busy)+"-reused")
		closed := func(syncID string) *workflowservice.DescribeWorkflowExecutionResponse {
			p, err := converter.GetDefaultDataConverter().ToPayload(syncID)
			require.NoError(t, err)
			return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
				Status: enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, StartTime: timestamppb.Now(),
				SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
					workflows.CorrelationIDKey.GetName(): p}}}}
		}
		// The previous sync's execution, closed a moment ago, while this run's start is on its
		// way: the slot stays taken.
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, run.WorkflowID, "").Return(closed("an-earlier-sync"), nil).Once()
		h.temporal.On("QueryWorkflow", mock.Anything, run.WorkflowID, "", workflows.QueryProgress).Return(
			nil, errors.New("closed")).Once()
		a := h.do("POST", integrationsPath+busy+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		// This run's own execution, closed without finishing the row: the slot is freed.
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, run.WorkflowID, "").Return(closed(run.ID), nil).Once()
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a = h.do("POST", integrationsPath+busy+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		ended, err := h.store.GetSyncRun(context.Background(), run.ID)
		require.NoError(t, err)
		require.Equal(t, transaction.SyncError, ended.Status)
	})

	t.Run("a run whose workflow is gone does not hold the slot", func(t *testing.T) {
		stale := h.makeSyncSite(owner, platform.WordPress, true, true, "")
		run := h.startRun(stale, owner, workflows.SyncWorkflowID(stale)+"-terminated")
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, run.WorkflowID, "").Return(
			nil, serviceerror.NewNotFound("workflow not found"))
		h.temporal.On("QueryWorkflow", mock.Anything, run.WorkflowID, "", workflows.QueryProgress).Return(
			nil, errors.New("no such workflow")).Once()
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		// A row younger than its start grace may be a start in progress: it holds the slot.
		a := h.do("POST", integrationsPath+stale+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		_, err := h.store.DB().Exec(`UPDATE sync_runs SET started_at = now() - interval '2 minutes' WHERE id = $1`, run.ID)
		require.NoError(t, err)
		a = h.do("POST", integrationsPath+stale+"/sync/", owner, map[string]any{"direction": "both"})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		ended, err := h.store.GetSyncRun(context.Background(), run.ID)
		require.NoError(t, err)
		require.Equal(t, transaction.SyncError, ended.Status)
		require.Contains(t, ended.Error, "workflow")
	})
}

func TestSyncSignalsReachTheActiveRun(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	id := h.makeSyncSite(owner, platform.WordPress, true, true, "")
	path := integrationsPath + id + "/sync/"

	for _, signal := range []string{"pause", "resume", "cancel"} {
		a := h.do("POST", path+signal+"/", owner, nil)
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		require.Equal(t, api.CodeNoSyncRunning, a.errorCode())
	}

	run := h.startRun(id, owner, workflows.SyncWorkflowID(id))
	for _, signal := range []string{"pause", "resume", "cancel"} {
		h.temporal.On("SignalWorkflow", mock.Anything, run.WorkflowID, "", signal,
			workflows.OperatorSignal{Note: "by hand " + signal, By: owner}).Return(nil).Once()
		a := h.do("POST", path+signal, owner, map[string]any{"note": "by hand " + signal})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Equal(t, run.ID, a.data()["sync_id"])
		require.Equal(t, signal, a.data()["signal"])
	}
	h.temporal.On("SignalWorkflow", mock.Anything, run.WorkflowID, "", "pause",
		workflows.OperatorSignal{By: owner}).Return(nil).Once()
	require.Equal(t, http.StatusAccepted, h.do("POST", path+"pause/", owner, nil).code, "the body is optional")

	a := h.do("POST", path+"pause/", owner, map[string]any{"note": strings.Repeat("n", 1001)})
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	a = h.do("POST", path+"pause/", owner, map[string]any{"note": "a\u0000b"})
	require.Equal(t, http.StatusBadRequest, a.code, "a note with a control character: %s", a.raw)
	a = h.do("POST", path+"pause/", other, nil)
	require.Equal(t, http.StatusNotFound, a.code, a.raw)

	h.temporal.On("SignalWorkflow", mock.Anything, run.WorkflowID, "", "resume", mock.Anything).Return(
		serviceerror.NewNotFound("workflow not found")).Once()
	a = h.do("POST", path+"resume/", owner, nil)
	require.Equal(t, http.StatusConflict, a.code, a.raw)
	require.Equal(t, api.CodeNoSyncRunning, a.errorCode())
}

func TestSyncStatusRunsAndEvents(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	id := h.makeSyncSite(owner, platform.WordPress, true, true, `{"content_types": ["post", "page"]}`)
	ctx := context.Background()

	a := h.do("GET", integrationsPath+id+"/sync_status/", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, "", a.data()["sync_status"], "never synced")
	require.Nil(t, a.data()["active"])
	require.Nil(t, a.data()["last_run"])
	require.Nil(t, a.data()["schedule"])

	first := h.startRun(id, owner, workflows.SyncWorkflowID(id))
	_, err := h.store.FinishSyncRun(ctx, first.ID, transaction.SyncSuccess, schema.SyncCounts{Pages: 2, Items: 150, Added: 150}, "")
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, h.store.RecordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: id, ClientID: owner,
			SyncRunID: first.ID, EventType: "content", Action: "added", Success: i != 2, ExternalID: "10" + string(rune('0'+i)),
			Details: json.RawMessage(`{"title": "Hello"}`), ErrorMessage: map[bool]string{true: "", false: "refused"}[i != 2],
			DurationMS: 12.5}))
	}
	second := h.startRun(id, owner, workflows.SyncWorkflowID(id))
	h.temporal.On("QueryWorkflow", mock.Anything, second.WorkflowID, "", workflows.QueryProgress).Return(
		encoded{workflows.SyncProgress{SyncID: second.ID, Status: transaction.SyncRunning, Phase: workflows.PhasePull,
			ContentType: "post", Pages: 1, Items: 100, Unchanged: 100}}, nil)
	put := h.do("PUT", integrationsPath+id+"/schedule/", owner, map[string]any{"interval": "1h"})
	require.Equal(t, http.StatusCreated, put.code, put.raw)

	t.Run("status: the integration's fields, the active run, the last finished run and the schedule", func(t *testing.T) {
		a := h.do("GET", integrationsPath+id+"/sync_status", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		d := a.data()
		require.Equal(t, "RUNNING", d["sync_status"])
		require.Equal(t, true, d["sync_enabled"])
		require.NotNil(t, d["last_sync_at"])
		active := d["active"].(map[string]any)
		require.Equal(t, second.ID, active["sync_id"])
		require.EqualValues(t, 100, active["progress"].(map[string]any)["unchanged"])
		require.Equal(t, "pull", active["progress"].(map[string]any)["phase"])
		last := d["last_run"].(map[string]any)
		require.Equal(t, first.ID, last["sync_id"])
		require.Equal(t, "SUCCESS", last["status"])
		require.EqualValues(t, 150, last["added"])
		schedule := d["schedule"].(map[string]any)
		require.Equal(t, "1h0m0s", schedule["interval"])
		require.Len(t, schedule["next_runs"], 3)
	})

	t.Run("runs and events page newest first", func(t *testing.T) {
		a := h.do("GET", integrationsPath+id+"/sync_runs/?limit=1", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		runs := a.body["data"].([]any)
		require.Len(t, runs, 1)
		require.Equal(t, second.ID, runs[0].(map[string]any)["sync_id"])
		require.Contains(t, a.raw, `"has_more":true`)

		a = h.do("GET", integrationsPath+id+"/sync_events/?limit=2", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		events := a.body["data"].([]any)
		require.Len(t, events, 2)
		e := events[0].(map[string]any)
		require.Equal(t, "content", e["event_type"])
		require.Equal(t, "added", e["action"])
		require.Equal(t, false, e["success"])
		require.Equal(t, "refused", e["error_message"])
		require.Equal(t, "102", e["external_id"])
		require.Equal(t, first.ID, e["sync_id"])
		require.InDelta(t, 12.5, e["duration"], 0.001)
		require.Equal(t, map[string]any{"title": "Hello"}, e["details"])

		a = h.do("GET", integrationsPath+id+"/sync_events/?limit=0", owner, nil)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	t.Run("debug status: runs, error rate, lag, schedule", func(t *testing.T) {
		a := h.do("GET", integrationsPath+id+"/debug_status/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		d := a.data()
		require.NotEmpty(t, d["last_runs"])
		require.GreaterOrEqual(t, d["events_24h"], float64(3))
		require.GreaterOrEqual(t, d["errors_24h"], float64(1))
		require.Greater(t, d["error_rate"], 0.0)
		require.Less(t, d["error_rate"], 1.0)
		require.NotNil(t, d["lag_seconds"])
		require.NotNil(t, d["active"])
		require.NotNil(t, d["schedule"])
	})

	t.Run("content types: the config's and the structure", func(t *testing.T) {
		a := h.do("GET", integrationsPath+id+"/content_types/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, []any{"post", "page"}, a.data()["content_types"])
		require.Nil(t, a.data()["structure"])
	})

	t.Run("another client sees none of it", func(t *testing.T) {
		for _, p := range []string{"sync_status/", "sync_runs/", "sync_events/", "debug_status/", "content_types/", "schedule/"} {
			a := h.do("GET", integrationsPath+id+"/"+p, other, nil)
			require.Equal(t, http.StatusNotFound, a.code, p)
		}
		require.Equal(t, http.StatusNotFound, h.do("DELETE", integrationsPath+id+"/schedule/", other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("PUT", integrationsPath+id+"/schedule/", other,
			map[string]any{"interval": 60}).code)
		require.NotNil(t, h.schedules.get(workflows.SyncScheduleID(id)), "untouched")
	})
}

func TestSyncSchedules(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionIntegrations)
	id := h.makeSyncSite(owner, platform.Shopify, true, true, "")
	path := integrationsPath + id + "/schedule/"
	scheduleID := workflows.SyncScheduleID(id)

	t.Run("interval xor cron, each checked", func(t *testing.T) {
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{}, "interval"},
			{map[string]any{"interval": "15m", "cron": "0 * * * *"}, "cron"},
			{map[string]any{"interval": "5s"}, "interval"},
			{map[string]any{"interval": 5}, "interval"},
			{map[string]any{"interval": "400d"}, "interval"},
			{map[string]any{"interval": "soon"}, "interval"},
			{map[string]any{"cron": "* * *"}, "cron"},
			{map[string]any{"cron": "0 12 * * MON; rm"}, "cron"},
			{map[string]any{"cron": "@sometimes"}, "cron"},
			{map[string]any{"interval": "1h", "direction": "up"}, "direction"},
		} {
			a := h.do("PUT", path, owner, tc.body)
			require.Equal(t, http.StatusBadRequest, a.code, a.raw)
			require.Equal(t, tc.field, a.body["details"].(map[string]any)["field"], a.raw)
		}
		require.Nil(t, h.schedules.get(scheduleID))
		require.Equal(t, http.StatusNotFound, h.do("GET", path, owner, nil).code)
	})

	t.Run("created: a Sync per interval, overlaps skipped", func(t *testing.T) {
		a := h.do("PUT", path, owner, map[string]any{"interval": "15m"})
		require.Equal(t, http.StatusCreated, a.code, a.raw)
		require.Equal(t, scheduleID, a.data()["schedule_id"])
		require.Equal(t, "15m0s", a.data()["interval"])
		require.EqualValues(t, 900, a.data()["interval_seconds"])
		require.Equal(t, "from_external", a.data()["direction"])
		require.Equal(t, false, a.data()["paused"])
		require.Len(t, a.data()["next_runs"], 3)

		s := h.schedules.get(scheduleID)
		require.NotNil(t, s)
		require.Equal(t, workflows.WorkflowSync, s.action.Workflow)
		require.Equal(t, workflows.SyncWorkflowID(id), s.action.ID)
		require.Equal(t, workflows.TaskQueueSync, s.action.TaskQueue)
		require.Equal(t, []any{workflows.SyncInput{IntegrationID: id, ClientID: owner, Direction: "from_external",
			Trigger: workflows.TriggerSchedule}}, s.action.Args)
		require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, s.policy.Overlap)
		require.Equal(t, 15*time.Minute, s.spec.Intervals[0].Every)
		kind, ok := s.action.TypedSearchAttributes.GetKeyword(workflows.KindKey)
		require.True(t, ok)
		require.Equal(t, "sync", kind)
		memo := s.action.Memo[transaction.MemoKey].(transaction.Memo)
		require.Equal(t, owner, memo.ClientID)
		require.Equal(t, transaction.KindSync, memo.Kind)
	})

	t.Run("replaced: cron, another direction, paused; cron read back as set", func(t *testing.T) {
		a := h.do("PUT", path, owner, map[string]any{"cron": "30 2 * * MON-FRI", "direction": "both", "paused": true,
			"note": "holidays"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		a = h.do("GET", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		d := a.data()
		require.Equal(t, "30 2 * * MON-FRI", d["cron"])
		require.Nil(t, d["interval"])
		require.Equal(t, "both", d["direction"])
		require.Equal(t, true, d["paused"])
		require.Equal(t, "holidays", d["note"])
		s := h.schedules.get(scheduleID)
		require.Equal(t, []string{"30 2 * * MON-FRI"}, s.spec.CronExpressions)
		require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, s.policy.Overlap)
		require.Equal(t, "both", s.action.Args[0].(workflows.SyncInput).Direction)

		a = h.do("PUT", path, owner, map[string]any{"interval": 3600})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "1h0m0s", a.data()["interval"])
		require.Equal(t, false, a.data()["paused"])
	})

	t.Run("a schedule that runs needs syncs on", func(t *testing.T) {
		off := h.makeSyncSite(owner, platform.WordPress, true, false, "")
		a := h.do("PUT", integrationsPath+off+"/schedule/", owner, map[string]any{"interval": "1h"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		a = h.do("PUT", integrationsPath+off+"/schedule/", owner, map[string]any{"interval": "1h", "paused": true})
		require.Equal(t, http.StatusCreated, a.code, a.raw)
	})

	t.Run("deleted", func(t *testing.T) {
		a := h.do("DELETE", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, scheduleID, a.data()["id"])
		require.Nil(t, h.schedules.get(scheduleID))
		require.Equal(t, http.StatusNotFound, h.do("GET", path, owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("DELETE", path, owner, nil).code)
	})

	t.Run("deleting the integration deletes its schedule", func(t *testing.T) {
		gone := h.makeSyncSite(owner, platform.WordPress, true, true, "")
		require.Equal(t, http.StatusCreated, h.do("PUT", integrationsPath+gone+"/schedule/", owner,
			map[string]any{"interval": "1h"}).code)
		a := h.do("DELETE", integrationsPath+gone+"/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Nil(t, h.schedules.get(workflows.SyncScheduleID(gone)))
	})
}

func TestSiteStructureAndOneItemSyncs(t *testing.T) {
	// A write timeout of 6 s bounds the runs' wait to 1 s.
	h := newHub(t, api.Config{WriteTimeout: 6 * time.Second})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	id := h.makeSyncSite(owner, platform.WordPress, true, true, `{"content_types": ["post"]}`)
	shop := h.makeSyncSite(owner, platform.Shopify, true, true, "")

	t.Run("a pushed structure is checked, recorded by SyncStructure and answered", func(t *testing.T) {
		h.onStart(nil)
		for _, body := range []any{
			map[string]any{"post_types": "post"},
			map[string]any{"post_types": []any{"post", strings.Repeat("x", 101)}},
			map[string]any{"timestamp": "last week"},
			map[string]any{"plugins": map[string]any{"yoast": "yes"}},
			map[string]any{"extra": 1},
		} {
			a := h.do("POST", integrationsPath+id+"/update_site_structure/", owner, body)
			require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		}
		require.Empty(t, h.started())

		h.onStart(func(opts client.StartWorkflowOptions, _ string, input any) (client.WorkflowRun, error) {
			in := input.(workflows.SyncStructureInput)
			return fakeRun{id: opts.ID, result: workflows.SyncStructureResult{SyncID: in.SyncID, Structure: *in.Structure}}, nil
		})
		a := h.do("POST", integrationsPath+id+"/update_site_structure/", owner, map[string]any{
			"post_types": map[string]any{"post": map[string]any{"label": "Posts"}, "page": map[string]any{}},
			"taxonomies": []any{"category", "post_tag"}, "plugins": map[string]any{"woocommerce": false, "yoast": true},
			"timestamp": 1767225600})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowSyncStructure, s[0].workflowType)
		require.Equal(t, workflows.TaskQueueSync, s[0].opts.TaskQueue)
		in := s[0].input.(workflows.SyncStructureInput)
		require.True(t, strings.HasPrefix(s[0].opts.ID, workflows.SyncWorkflowID(id)+":structure:"), s[0].opts.ID)
		require.Equal(t, []string{"page", "post"}, in.Structure.PostTypes)
		require.Equal(t, []string{"category", "post_tag"}, in.Structure.Taxonomies)
		require.Equal(t, time.Unix(1767225600, 0).UTC(), in.Structure.Timestamp)
		require.Equal(t, workflows.TriggerAPI, in.Trigger)
		require.Equal(t, []any{"post"}, a.data()["content_types"])
		require.Equal(t, []any{"page", "post"}, a.data()["structure"].(map[string]any)["post_types"])

		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a = h.do("POST", integrationsPath+id+"/update_site_structure/", owner, map[string]any{"post_types": []any{"post"}})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Equal(t, "RUNNING", a.data()["status"])

		h.onStart(nil)
		a = h.do("POST", integrationsPath+id+"/update_site_structure/", other, map[string]any{"post_types": []any{"post"}})
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
	})

	t.Run("one WordPress item: by the hub's content id or the site's id", func(t *testing.T) {
		h.onStart(nil)
		a := h.do("POST", integrationsPath+shop+"/sync_wordpress_content/", owner, map[string]any{"external_id": "1",
			"content_type": "product"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		for _, body := range []any{
			map[string]any{},
			map[string]any{"external_id": "12"},
			map[string]any{"external_id": "12", "content_type": "Post Type!"},
			map[string]any{"content_id": uuid.NewString(), "external_id": "12", "content_type": "post"},
		} {
			a := h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, body)
			require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		}
		a = h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, map[string]any{"content_id": uuid.NewString()})
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
		elsewhere, err := h.store.CreateContent(context.Background(), schema.ContentRow{ID: uuid.NewString(),
			IntegrationID: shop, ClientID: owner, ContentType: "product", Title: "Mug"})
		require.NoError(t, err)
		a = h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, map[string]any{"content_id": elsewhere.ID})
		require.Equal(t, http.StatusNotFound, a.code, "another integration's content")
		require.Empty(t, h.started())

		h.onStart(func(opts client.StartWorkflowOptions, _ string, input any) (client.WorkflowRun, error) {
			in := input.(workflows.SyncContentInput)
			action := "updated"
			if in.ContentID != "" {
				action = "pushed"
			}
			return fakeRun{id: opts.ID, result: workflows.SyncContentResult{SyncID: in.SyncID, Action: action,
				ContentID: "c-1"}}, nil
		})
		a = h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, map[string]any{"external_id": "42",
			"content_type": "post"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "updated", a.data()["action"])
		in := h.started()[0].input.(workflows.SyncContentInput)
		require.Equal(t, workflows.SyncContentInput{SyncID: in.SyncID, IntegrationID: id, ClientID: owner, ContentType: "post",
			ExternalID: "42", Trigger: workflows.TriggerAPI}, in)
		require.Equal(t, workflows.WorkflowSyncContent, h.started()[0].workflowType)

		// The id the store makes ("cnt_" and a UUID), as the content routes answer it.
		draft, err := h.store.CreateContent(context.Background(), schema.ContentRow{
			IntegrationID: id, ClientID: owner, ContentType: "post", Title: "Draft"})
		require.NoError(t, err)
		h.onStart(h.start)
		a = h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, map[string]any{"content_id": draft.ID})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "pushed", a.data()["action"], "a hub item the site never saw is pushed")
		in = h.started()[0].input.(workflows.SyncContentInput)
		require.Equal(t, draft.ID, in.ContentID)
		require.Empty(t, in.ExternalID)

		h.onStart(func(opts client.StartWorkflowOptions, _ string, input any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.SyncContentResult{Error: "the site refused the credentials",
				ErrorCode: transaction.ErrorCodeSiteRejected}}, nil
		})
		a = h.do("POST", integrationsPath+id+"/sync_wordpress_content/", owner, map[string]any{"external_id": "42",
			"content_type": "post"})
		require.Equal(t, http.StatusBadGateway, a.code, a.raw)
		require.Equal(t, transaction.ErrorCodeSiteRejected, a.errorCode())
	})
}
