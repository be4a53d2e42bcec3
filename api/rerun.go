package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// RerunStore is the part of the store rerun tasks use.
type RerunStore interface {
	CreateRerunTask(ctx context.Context, t schema.RerunTaskRow) (schema.RerunTaskRow, error)
	GetRerunTask(ctx context.Context, id string) (schema.RerunTaskRow, error)
	ListRerunTasks(ctx context.Context, page schema.Page) ([]schema.RerunTaskRow, error)
	SaveRerunProgress(ctx context.Context, id, status string, c schema.RerunCounts, note string, final bool) error
	GetChannelByName(ctx context.Context, name string) (schema.ChannelRow, error)
}

// Bounds of a bulk rerun request.
const (
	defaultRerunRate  = 10.0
	defaultRerunLimit = 1000
	maxRerunLimit     = 10_000
	maxRerunIDs       = 1000
	maxRerunWindow    = 31 * 24 * time.Hour
	// rerunTaskFailed is a task whose workflow could not be started.
	rerunTaskFailed = "failed"
	// rerunProgressWait bounds the progress query of a running task.
	rerunProgressWait = 2 * time.Second
)

func (s *Server) registerRerun(g *gin.RouterGroup) {
	g.POST("/transactions/rerun", s.startRerun)
	g.GET("/transactions/rerun", s.listReruns)
	g.GET("/transactions/rerun/:id", s.getRerun)
	g.POST("/transactions/rerun/:id/signals/:signal", s.signalRerun)
}

// RerunRequest is a bulk rerun: which transactions, how fast, how many at most.
type RerunRequest struct {
	Filter RerunFilterSpec `json:"filter"`
	// Rate is reruns per second (default 10, at most 100).
	Rate *float64 `json:"rate"`
	// Limit caps how many transactions the task handles (default 1000, at most 10000).
	Limit *int `json:"limit"`
}

// RerunFilterSpec selects the transactions: at least one criterion is required.
type RerunFilterSpec struct {
	Status   []string `json:"status"`
	ClientID string   `json:"client_id"`
	// Channel is a channel's name or id.
	Channel string `json:"channel"`
	// From and To (RFC 3339) bound created_at: from inclusive, to exclusive.
	From string   `json:"from"`
	To   string   `json:"to"`
	IDs  []string `json:"ids"`
}

// rerunTaskView is a rerun task as operators read it.
type rerunTaskView struct {
	TaskID      string             `json:"task_id"`
	WorkflowID  string             `json:"workflow_id"`
	Status      string             `json:"status"`
	Filter      schema.RerunFilter `json:"filter"`
	Rate        float64            `json:"rate"`
	Limit       int                `json:"limit"`
	Total       int                `json:"total"`
	Done        int                `json:"done"`
	Started     int                `json:"started"`
	Skipped     int                `json:"skipped"`
	Failed      int                `json:"failed"`
	Note        string             `json:"note,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	CompletedAt *time.Time         `json:"completed_at,omitempty"`
	StatusURL   string             `json:"status_url"`
}

func rerunStatusURL(id string) string { return "/api/v1/admin/transactions/rerun/" + id }

func newRerunTaskView(r schema.RerunTaskRow) rerunTaskView {
	v := rerunTaskView{TaskID: r.ID, WorkflowID: r.WorkflowID, Status: r.Status, Filter: r.Filter, Rate: r.Rate,
		Limit: r.MaxItems, Total: r.Total, Done: r.Done, Started: r.Started, Skipped: r.Skipped, Failed: r.Failed,
		Note: r.Note, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, StatusURL: rerunStatusURL(r.ID)}
	if r.CompletedAt.Valid {
		v.CompletedAt = &r.CompletedAt.Time
	}
	return v
}

// startRerun records a bulk rerun task and starts its Rerun workflow (POST
// /api/v1/admin/transactions/rerun): 202 with the task's id, how many transactions matched and
// where to follow it.
func (s *Server) startRerun(c *gin.Context) {
	var req RerunRequest
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	filter, err := s.rerunFilter(ctx, req.Filter)
	if err != nil {
		writeError(c, err)
		return
	}
	rate, limit := defaultRerunRate, defaultRerunLimit
	if req.Rate != nil {
		if *req.Rate <= 0 || *req.Rate > workflows.MaxRerunRate {
			writeError(c, fieldError("rate", fmt.Sprintf("must be more than 0 and at most %d reruns per second", workflows.MaxRerunRate)))
			return
		}
		rate = *req.Rate
	}
	if req.Limit != nil {
		if *req.Limit < 1 || *req.Limit > maxRerunLimit {
			writeError(c, fieldError("limit", fmt.Sprintf("must be 1 to %d", maxRerunLimit)))
			return
		}
		limit = *req.Limit
	}
	id := uuid.NewString()
	workflowID := workflows.RerunWorkflowID(id)
	task, err := s.store.CreateRerunTask(ctx, schema.RerunTaskRow{ID: id, WorkflowID: workflowID, Filter: filter,
		Rate: rate, MaxItems: limit, Status: workflows.RerunRunning, CreatedBy: "admin"})
	if err != nil {
		writeError(c, err)
		return
	}
	start := func(ctx context.Context) error {
		_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: workflows.TaskQueueProxy,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, WorkflowExecutionErrorWhenAlreadyStarted: true},
			workflows.WorkflowRerun, workflows.RerunInput{TaskID: id, Filter: filter, Before: task.CreatedAt, Rate: rate,
				Limit: limit, Progress: workflows.RerunProgress{TaskID: id, RerunCounts: schema.RerunCounts{Total: task.Total}}})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil // the task's ID is fresh: the run is this task's
		}
		return err
	}
	// A start can fail after the server accepted it (a timeout, a lost answer). Starting again
	// with the same workflow ID either starts the task or finds the run the first start made,
	// so the row is marked failed only when the task has no run: otherwise that run would flip
	// the row back to running and an admin retrying the 503 would make a second task.
	if err = start(ctx); err != nil {
		if again := start(context.WithoutCancel(ctx)); again == nil {
			err = nil
		} else {
			err = errors.Join(err, again)
		}
	}
	if err != nil {
		// Both starts failed, yet the first may have been taken: a run that exists is the task's.
		if _, derr := s.temporal.DescribeWorkflowExecution(context.WithoutCancel(ctx), workflowID, ""); derr == nil {
			err = nil
		}
	}
	if err != nil {
		// The row must not claim a task that never ran.
		ferr := s.store.SaveRerunProgress(context.WithoutCancel(ctx), id, rerunTaskFailed, schema.RerunCounts{},
			"the task's workflow could not be started", true)
		writeError(c, unavailable(c, workflowID, errors.Join(err, ferr)))
		return
	}
	c.Header("Location", rerunStatusURL(id))
	writeData(c, http.StatusAccepted, gin.H{"task_id": id, "workflow_id": workflowID, "status": workflows.RerunRunning,
		"matched": task.Total, "rate": rate, "limit": limit, "status_url": rerunStatusURL(id)})
}

// rerunFilter validates a filter and resolves its channel.
func (s *Server) rerunFilter(ctx context.Context, f RerunFilterSpec) (schema.RerunFilter, error) {
	out := schema.RerunFilter{ClientID: f.ClientID}
	if len(f.Status) == 0 && f.ClientID == "" && f.Channel == "" && f.From == "" && f.To == "" && len(f.IDs) == 0 {
		return out, fieldError("filter", "give at least one of status, client_id, channel, from, to or ids")
	}
	if len(f.Status) > len(transaction.Statuses) {
		return out, fieldError("filter.status", "lists too many statuses")
	}
	for _, st := range f.Status {
		if !validStatus(st) {
			return out, fieldError("filter.status", "each must be one of "+strings.Join(transaction.Statuses, ", "))
		}
		if !slices.Contains(out.Status, st) {
			out.Status = append(out.Status, st)
		}
	}
	if len(f.ClientID) > maxClientIDLength || !utf8.ValidString(f.ClientID) || hasControl(f.ClientID) {
		return out, fieldError("filter.client_id", "must be a client id")
	}
	if len(f.IDs) > maxRerunIDs {
		return out, fieldError("filter.ids", "at most "+strconv.Itoa(maxRerunIDs)+" ids")
	}
	for _, id := range f.IDs {
		u, err := uuid.Parse(id)
		if err != nil {
			return out, fieldError("filter.ids", "each must be a correlation id")
		}
		out.IDs = append(out.IDs, u.String())
	}
	var err error
	if out.From, err = rfc3339("filter.from", f.From); err != nil {
		return out, err
	}
	if out.To, err = rfc3339("filter.to", f.To); err != nil {
		return out, err
	}
	if out.From != nil && out.To != nil {
		switch {
		case !out.To.After(*out.From):
			return out, fieldError("filter.to", "must be after from")
		case out.To.Sub(*out.From) > maxRerunWindow:
			return out, fieldError("filter.to", "the window is at most 31 days")
		}
	}
	if f.Channel != "" {
		if out.ChannelID, err = s.channelIDOf(ctx, f.Channel); err != nil {
			return out, err
		}
	}
	return out, nil
}

// channelIDOf resolves a channel's name or id.
func (s *Server) channelIDOf(ctx context.Context, nameOrID string) (string, error) {
	if len(nameOrID) > 200 {
		return "", fieldError("filter.channel", "must be a channel's name or id")
	}
	var row schema.ChannelRow
	var err error
	if _, perr := uuid.Parse(nameOrID); perr == nil {
		row, err = s.store.GetChannel(ctx, nameOrID)
	} else {
		row, err = s.store.GetChannelByName(ctx, nameOrID)
	}
	if errors.Is(err, schema.ErrNotFound) {
		return "", fieldError("filter.channel", "no channel has this name or id")
	}
	return row.ID, err
}

func rfc3339(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return nil, fieldError(field, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z")
	}
	return &t, nil
}

func (s *Server) listReruns(c *gin.Context) {
	listed(c, func(p schema.Page) ([]schema.RerunTaskRow, error) {
		return s.store.ListRerunTasks(c.Request.Context(), p)
	}, newRerunTaskView)
}

var errNoRerunTask = newError(http.StatusNotFound, CodeNotFound, "no such rerun task")

func (s *Server) rerunTask(c *gin.Context) (schema.RerunTaskRow, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return schema.RerunTaskRow{}, errNoRerunTask
	}
	row, err := s.store.GetRerunTask(c.Request.Context(), id)
	if errors.Is(err, schema.ErrNotFound) {
		return row, errNoRerunTask
	}
	return row, err
}

// getRerun answers a rerun task; a task still running shows its live progress (its workflow's
// progress query), else what its row last recorded.
func (s *Server) getRerun(c *gin.Context) {
	row, err := s.rerunTask(c)
	if err != nil {
		writeError(c, err)
		return
	}
	view := newRerunTaskView(row)
	if !row.CompletedAt.Valid {
		ctx, cancel := context.WithTimeout(c.Request.Context(), rerunProgressWait)
		defer cancel()
		var p workflows.RerunProgress
		v, err := s.temporal.QueryWorkflow(ctx, row.WorkflowID, "", workflows.QueryProgress)
		switch {
		case err != nil || v.Get(&p) != nil:
		case p.Status == workflows.RerunRunning || p.Status == workflows.RerunPaused:
			view.Status, view.Note = p.Status, p.Note
			view.Done, view.Started, view.Skipped, view.Failed = p.Done, p.Started, p.Skipped, p.Failed
		default:
			// The task ended after the row was read: the row has its end now.
			if row, err = s.store.GetRerunTask(c.Request.Context(), row.ID); err != nil {
				writeError(c, err)
				return
			}
			view = newRerunTaskView(row)
		}
	}
	writeData(c, http.StatusOK, view)
}

// rerunSignals are the stop switch of a rerun task.
var rerunSignals = []string{workflows.SignalPause, workflows.SignalResume, workflows.SignalCancel}

// signalRerun sends pause, resume or cancel to a rerun task: the same signals as `temporal
// workflow signal --workflow-id rerun:<task id>`.
func (s *Server) signalRerun(c *gin.Context) {
	name := c.Param("signal")
	if !slices.Contains(rerunSignals, name) {
		writeError(c, fieldError("signal", "must be pause, resume or cancel"))
		return
	}
	req, err := readSignalRequest(c)
	if err != nil {
		writeError(c, err)
		return
	}
	row, err := s.rerunTask(c)
	if err != nil {
		writeError(c, err)
		return
	}
	errEnded := newError(http.StatusConflict, CodeConflict, "the rerun task is "+row.Status+": it has ended")
	if row.CompletedAt.Valid {
		writeError(c, errEnded)
		return
	}
	ctx := c.Request.Context()
	err = s.temporal.SignalWorkflow(ctx, row.WorkflowID, "", name, workflows.OperatorSignal{Note: req.Note, By: "admin"})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		writeError(c, errEnded)
		return
	case err != nil:
		writeError(c, unavailable(c, row.WorkflowID, err))
		return
	}
	writeData(c, http.StatusAccepted, gin.H{"task_id": row.ID, "workflow_id": row.WorkflowID, "signal": name,
		"status_url": rerunStatusURL(row.ID)})
}
