package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Limits of a sync schedule.
const (
	// MinSyncInterval is the shortest interval a sync schedule takes.
	MinSyncInterval = 10 * time.Second
	// MaxSyncInterval is the longest.
	MaxSyncInterval = 366 * 24 * time.Hour
	maxCronLength   = 100
	maxScheduleNote = 500
	maxScheduleBody = 4 << 10
)

// scheduleMemoKey holds, in the memo of the schedule's action, the schedule as the client set
// it: Temporal answers a cron expression back as calendars.
const scheduleMemoKey = "sync_schedule"

// labelSyncSchedule labels the runs a schedule starts.
const labelSyncSchedule = "sync_schedule"

// cronField is one field of a cron expression: numbers, names (MON, JAN), *, ?, ranges, lists
// and steps.
var cronField = regexp.MustCompile(`^[0-9A-Za-z*?/,\-]+$`)

// cronShorthands are the cron shorthands Temporal accepts for the five fields.
var cronShorthands = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// ScheduleRequest creates or replaces an integration's sync schedule: an interval or a cron
// expression (one of the two), the direction of the runs (from_external unless given) and
// whether the schedule is paused.
type ScheduleRequest struct {
	// Interval is a Go duration ("15m") or a number of seconds, at least MinSyncInterval.
	Interval *ScheduleInterval `json:"interval"`
	// Cron is a five-field cron expression (minute hour day-of-month month day-of-week, UTC)
	// or a shorthand such as @hourly.
	Cron      string `json:"cron"`
	Direction string `json:"direction"`
	Paused    bool   `json:"paused"`
	// Note says why (shown with the schedule, e.g. why it is paused).
	Note string `json:"note"`
}

// ScheduleInterval is an interval sent as a Go duration ("90s", "15m") or a number of seconds.
type ScheduleInterval time.Duration

// UnmarshalJSON reads a duration string or a number of seconds.
func (si *ScheduleInterval) UnmarshalJSON(b []byte) error {
	var secs Seconds
	var text string
	if err := json.Unmarshal(b, &text); err == nil {
		if err := secs.Decode(strings.TrimSpace(text)); err != nil {
			return fieldError("interval", "must be a duration such as 15m, or a number of seconds")
		}
	} else {
		var n float64
		if err := json.Unmarshal(b, &n); err != nil || n < 0 {
			return fieldError("interval", "must be a duration such as 15m, or a number of seconds")
		}
		secs = Seconds(time.Duration(n * float64(time.Second)))
	}
	*si = ScheduleInterval(secs)
	return nil
}

// scheduleSettings is a schedule as the client set it (kept in the action's memo).
type scheduleSettings struct {
	IntervalSeconds float64 `json:"interval_seconds,omitempty"`
	Cron            string  `json:"cron,omitempty"`
	Direction       string  `json:"direction"`
}

// settings checks the request, every problem named by field.
func (r ScheduleRequest) settings() (scheduleSettings, error) {
	problems := map[string]string{}
	set := scheduleSettings{Direction: r.Direction, Cron: strings.TrimSpace(r.Cron)}
	if set.Direction == "" {
		set.Direction = platform.DirectionFromExternal
	}
	if msg := directionProblem(set.Direction, false); msg != "" {
		problems["direction"] = msg
	}
	switch {
	case r.Interval == nil && set.Cron == "":
		problems["interval"] = "give interval or cron"
	case r.Interval != nil && set.Cron != "":
		problems["cron"] = "give interval or cron, not both"
	case r.Interval != nil:
		d := time.Duration(*r.Interval)
		if d < MinSyncInterval || d > MaxSyncInterval {
			problems["interval"] = "must be from " + MinSyncInterval.String() + " to " + strconv.Itoa(int(MaxSyncInterval.Hours()/24)) + " days"
		}
		set.IntervalSeconds = d.Seconds()
	default:
		if msg := cronProblem(set.Cron); msg != "" {
			problems["cron"] = msg
		}
	}
	if len(r.Note) > maxScheduleNote || hasControl(r.Note) {
		problems["note"] = "must be text of at most " + strconv.Itoa(maxScheduleNote) + " characters"
	}
	if len(problems) > 0 {
		return set, invalidFields(problems)
	}
	return set, nil
}

// cronProblem says what is wrong with a cron expression ("" when nothing Temporal would refuse
// is seen here; Temporal checks the values).
func cronProblem(cron string) string {
	const want = "must be five fields (minute hour day-of-month month day-of-week) or a shorthand such as @hourly"
	if len(cron) > maxCronLength {
		return "must be at most " + strconv.Itoa(maxCronLength) + " characters"
	}
	if strings.HasPrefix(cron, "@") {
		for _, s := range cronShorthands {
			if cron == s {
				return ""
			}
		}
		return want
	}
	fields := strings.Fields(cron)
	if len(fields) != 5 {
		return want
	}
	for _, f := range fields {
		if !cronField.MatchString(f) {
			return want
		}
	}
	return ""
}

// spec is the schedule's Temporal spec.
func (set scheduleSettings) spec() client.ScheduleSpec {
	if set.Cron != "" {
		return client.ScheduleSpec{CronExpressions: []string{set.Cron}}
	}
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{
		Every: time.Duration(set.IntervalSeconds * float64(time.Second))}}}
}

// scheduleView is an integration's sync schedule as clients read it.
type scheduleView struct {
	ScheduleID      string             `json:"schedule_id"`
	IntegrationID   string             `json:"integration_id"`
	Interval        string             `json:"interval,omitempty"`
	IntervalSeconds float64            `json:"interval_seconds,omitempty"`
	Cron            string             `json:"cron,omitempty"`
	Direction       string             `json:"direction"`
	Paused          bool               `json:"paused"`
	Note            string             `json:"note,omitempty"`
	NextRuns        []time.Time        `json:"next_runs"`
	RecentRuns      []scheduledRunView `json:"recent_runs"`
	// Running are the workflow IDs of the runs it started that still run.
	Running []string `json:"running"`
	// Actions counts the runs it started; SkippedOverlap the times it skipped one because a
	// sync was still running.
	Actions        int        `json:"actions"`
	SkippedOverlap int        `json:"skipped_overlap"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
}

// scheduledRunView is one run a schedule started.
type scheduledRunView struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id,omitempty"`
}

// errNoSchedule answers an integration without a sync schedule.
var errNoSchedule = newError(http.StatusNotFound, CodeNotFound, "this integration has no sync schedule")

// putSchedule creates the integration's Temporal Schedule (ID sync-schedule:<integration id>)
// or replaces its spec, action and state. Its runs start Sync workflows on the sync queue;
// one that comes while a sync still runs is skipped.
func (s *Server) putSchedule(c *gin.Context) {
	req, row, ok := decodeForSite[ScheduleRequest](s, c, maxScheduleBody)
	if !ok {
		return
	}
	set, err := req.settings()
	if err != nil {
		writeError(c, err)
		return
	}
	if platform.Name(row.Platform) == platform.ERP && set.Direction != platform.DirectionFromExternal {
		writeError(c, errERPPullOnly)
		return
	}
	if !req.Paused {
		if err := syncable(row); err != nil {
			writeError(c, err)
			return
		}
	}
	who := currentClient(c)
	scheduleID := workflows.SyncScheduleID(row.ID)
	action := &client.ScheduleWorkflowAction{
		ID:        workflows.SyncWorkflowID(row.ID),
		Workflow:  workflows.WorkflowSync,
		Args:      []any{workflows.SyncInput{IntegrationID: row.ID, ClientID: who.ID, Direction: set.Direction, Trigger: workflows.TriggerSchedule}},
		TaskQueue: workflows.TaskQueueSync,
		Memo: map[string]any{transaction.MemoKey: transaction.Memo{Kind: transaction.KindSync, ClientID: who.ID,
			Label: labelSyncSchedule, Method: http.MethodPut, Path: syncRoute(row.ID, "schedule")}, scheduleMemoKey: set},
		TypedSearchAttributes: syncSearchAttributes(who.ID, ""),
	}
	spec := set.spec()
	ctx := c.Request.Context()
	schedules := s.temporal.ScheduleClient()
	status := http.StatusCreated
	_, err = schedules.Create(ctx, client.ScheduleOptions{ID: scheduleID, Spec: spec, Action: action,
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP, Paused: req.Paused, Note: req.Note,
		Memo: map[string]any{scheduleMemoKey: set}})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		status = http.StatusOK
		err = schedules.GetHandle(ctx, scheduleID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				sched.Action, sched.Spec = action, &spec
				policy := client.SchedulePolicies{}
				if sched.Policy != nil {
					policy = *sched.Policy
				}
				policy.Overlap = enums.SCHEDULE_OVERLAP_POLICY_SKIP
				state := client.ScheduleState{}
				if sched.State != nil {
					state = *sched.State
				}
				state.Paused, state.Note = req.Paused, req.Note
				sched.Policy, sched.State = &policy, &state
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			}})
	}
	var invalid *serviceerror.InvalidArgument
	switch {
	case errors.As(err, &invalid):
		writeError(c, fieldError("cron", "the schedule was refused: "+invalid.Message))
		return
	case err != nil:
		writeError(c, unavailable(c, scheduleID, err))
		return
	}
	view, err := s.describeSchedule(ctx, row.ID)
	if err != nil {
		// Created or updated all the same: answer what was set.
		s.logger.Warn("Describing a schedule just set failed", "schedule_id", scheduleID, "error", err.Error())
		view = &scheduleView{ScheduleID: scheduleID, IntegrationID: row.ID, Direction: set.Direction, Paused: req.Paused,
			Note: req.Note, NextRuns: []time.Time{}, RecentRuns: []scheduledRunView{}, Running: []string{}}
		view.setTiming(set)
	}
	writeData(c, status, view)
}

// setTiming shows the interval or the cron expression.
func (v *scheduleView) setTiming(set scheduleSettings) {
	v.Cron = set.Cron
	if set.IntervalSeconds > 0 {
		v.IntervalSeconds = set.IntervalSeconds
		v.Interval = time.Duration(set.IntervalSeconds * float64(time.Second)).String()
	}
}

func (s *Server) getSchedule(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	view, err := s.describeSchedule(c.Request.Context(), row.ID)
	if err != nil {
		writeError(c, scheduleError(c, workflows.SyncScheduleID(row.ID), err))
		return
	}
	writeData(c, http.StatusOK, view)
}

func (s *Server) deleteSchedule(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	scheduleID := workflows.SyncScheduleID(row.ID)
	if err := s.temporal.ScheduleClient().GetHandle(c.Request.Context(), scheduleID).Delete(c.Request.Context()); err != nil {
		writeError(c, scheduleError(c, scheduleID, err))
		return
	}
	writeData(c, http.StatusOK, gin.H{"id": scheduleID, "deleted": true})
}

// scheduleError is the answer to a schedule Temporal does not have (404) or could not reach.
func scheduleError(c *gin.Context, scheduleID string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) || errors.Is(err, errNoSchedule) {
		return errNoSchedule
	}
	return unavailable(c, scheduleID, err)
}

// describeSchedule reads the integration's schedule from Temporal: what was set, its state,
// next and recent runs.
func (s *Server) describeSchedule(ctx context.Context, integrationID string) (*scheduleView, error) {
	scheduleID := workflows.SyncScheduleID(integrationID)
	d, err := s.temporal.ScheduleClient().GetHandle(ctx, scheduleID).Describe(ctx)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errNoSchedule
	}
	v := &scheduleView{ScheduleID: scheduleID, IntegrationID: integrationID, NextRuns: nonNilTimes(d.Info.NextActionTimes),
		RecentRuns: []scheduledRunView{}, Running: []string{}, Actions: d.Info.NumActions,
		SkippedOverlap: d.Info.NumActionsSkippedOverlap}
	var set scheduleSettings
	if action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		if p, ok := action.Memo[scheduleMemoKey].(*common.Payload); ok {
			if err := s.converter.FromPayload(p, &set); err != nil {
				set = scheduleSettings{}
			}
		}
	}
	if set.Cron == "" && set.IntervalSeconds == 0 && d.Schedule.Spec != nil && len(d.Schedule.Spec.Intervals) > 0 {
		set.IntervalSeconds = d.Schedule.Spec.Intervals[0].Every.Seconds()
	}
	v.Direction = set.Direction
	v.setTiming(set)
	if st := d.Schedule.State; st != nil {
		v.Paused, v.Note = st.Paused, st.Note
	}
	for _, a := range d.Info.RecentActions {
		r := scheduledRunView{ScheduledAt: a.ScheduleTime, StartedAt: a.ActualTime}
		if a.StartWorkflowResult != nil {
			r.WorkflowID = a.StartWorkflowResult.WorkflowID
		}
		v.RecentRuns = append(v.RecentRuns, r)
	}
	for _, w := range d.Info.RunningWorkflows {
		v.Running = append(v.Running, w.WorkflowID)
	}
	if !d.Info.CreatedAt.IsZero() {
		created := d.Info.CreatedAt
		v.CreatedAt = &created
	}
	if !d.Info.LastUpdateAt.IsZero() && d.Info.LastUpdateAt.Unix() > 0 { // never updated: the epoch
		updated := d.Info.LastUpdateAt
		v.UpdatedAt = &updated
	}
	return v, nil
}

func nonNilTimes(a []time.Time) []time.Time {
	if a == nil {
		return []time.Time{}
	}
	return a
}

// scheduleIfAny is the integration's schedule for the status routes: nil when it has none, or
// when Temporal cannot say (logged; the status is still answered).
func (s *Server) scheduleIfAny(c *gin.Context, integrationID string) *scheduleView {
	v, err := s.describeSchedule(c.Request.Context(), integrationID)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return v
	case errors.As(err, &notFound), errors.Is(err, errNoSchedule):
	default:
		logger(c).Warn("Describing a sync schedule failed", "integration_id", integrationID, "error", err.Error())
	}
	return nil
}

// dropSyncSchedule deletes a deleted site integration's schedule, best effort: a schedule left
// behind starts syncs that fail at once, and is logged here.
func (s *Server) dropSyncSchedule(c *gin.Context, row schema.IntegrationRow) {
	if !platform.Name(row.Platform).Site() {
		return
	}
	scheduleID := workflows.SyncScheduleID(row.ID)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), startTimeout)
	defer cancel()
	err := s.temporal.ScheduleClient().GetHandle(ctx, scheduleID).Delete(ctx)
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		logger(c).Warn("Deleting a deleted integration's sync schedule failed", "schedule_id", scheduleID,
			"error", err.Error())
	}
}
