package workflows

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/platform"
)

// TaskQueueSync carries site syncs (long activities that page through a site) and their
// one-item and structure updates.
const TaskQueueSync = "sync"

// Workflow types of the sync family and batches.
const (
	WorkflowSync          = "Sync"
	WorkflowSyncContent   = "SyncContent"
	WorkflowSyncStructure = "SyncStructure"
	WorkflowBatch         = "Batch"
)

// Signals a running sync takes (payload: OperatorSignal, optional).
const (
	SignalPause  = "pause"
	SignalResume = "resume"
	SignalCancel = "cancel"
)

// QueryProgress answers a sync's SyncProgress.
const QueryProgress = "progress"

// Triggers of a sync run.
const (
	TriggerAPI      = "api"
	TriggerSchedule = "schedule"
	TriggerCallback = "callback"
)

// SyncWorkflowID is the ID of the sync the API starts for an integration: one at a time.
// Scheduled runs get this ID with the schedule's timestamp appended.
func SyncWorkflowID(integrationID string) string { return "sync:" + integrationID }

// SyncScheduleID is the ID of an integration's Temporal Schedule.
func SyncScheduleID(integrationID string) string { return "sync-schedule:" + integrationID }

// SyncInput starts (or continues) a sync of one site integration.
type SyncInput struct {
	// SyncID is the sync_runs row; "" (a scheduled run) takes the first run's RunID.
	SyncID        string
	IntegrationID string
	ClientID      string
	// Direction is one of platform.Directions.
	Direction string
	// Since limits a pull to items modified after it (incremental: deletions are not seen).
	Since *time.Time `json:",omitempty"`
	// Filters narrow a pull: content_types (comma-separated), status.
	Filters map[string]string `json:",omitempty"`
	// Reset starts over: the run ignores any checkpoint and compares every item (full resync).
	Reset   bool
	Trigger string
	// Continued is set on a continue-as-new: the run's row and counts already exist.
	Continued bool
	// Progress carries the counts across continue-as-new.
	Progress SyncProgress
}

// SyncProgress is where a sync stands: the status query's answer and the workflow's result.
type SyncProgress struct {
	SyncID    string
	Status    string // transaction.Sync*
	Direction string
	// Phase is metadata, pull or push; ContentType the type being pulled.
	Phase       string
	ContentType string
	Pages       int
	Items       int
	Added       int
	Updated     int
	Deleted     int
	Unchanged   int
	Pushed      int
	Failed      int
	StartedAt   time.Time
	// ItemsPerSecond is items over the run's time so far.
	ItemsPerSecond float64
	Error          string
	ErrorCode      string
	// Note is an operator's, when one resolved, aborted, paused or canceled the run.
	Note string `json:",omitempty"`
	// Skipped: a scheduled run found another run of the integration active and did nothing;
	// SyncID and Status are the active run's.
	Skipped bool `json:",omitempty"`
}

// Phases of a sync (SyncProgress.Phase).
const (
	PhaseMetadata = "metadata"
	PhasePull     = "pull"
	PhasePush     = "push"
)

// SyncContentInput syncs one item: pulls it from the site (ExternalID; a WordPress status
// callback, sync_wordpress_content), or pushes the hub's content row (ContentID).
type SyncContentInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	ContentType   string
	ExternalID    string
	ContentID     string
	Trigger       string
}

// SyncContentResult is how SyncContent ended: the action taken (added, updated, unchanged,
// deleted, pushed) and the hub's content id.
type SyncContentResult struct {
	SyncID    string
	Action    string
	ContentID string
	Error     string
	ErrorCode string
}

// SyncStructureInput records a site's structure: the one the site pushed (Structure set: the
// metadata callback, update_site_structure), or the one read from the site (nil).
type SyncStructureInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	Structure     *platform.SiteStructure `json:",omitempty"`
	Trigger       string
}

// SyncStructureResult is the structure recorded.
type SyncStructureResult struct {
	SyncID    string
	Structure platform.SiteStructure
	Error     string
	ErrorCode string
}

// BatchInput runs provider operations, at most MaxConcurrent at a time, each a child
// ProviderOperation.
type BatchInput struct {
	CorrelationID string
	ClientID      string
	Fingerprint   string
	Operations    []BatchOperation
	MaxConcurrent int
}

// BatchOperation is one operation of a batch, validated by the API.
type BatchOperation struct {
	Operation string // provider.Op* key
	Issuer    string
	Route     string
	Params    json.RawMessage
}

// BatchItem is one operation's outcome, in request order.
type BatchItem struct {
	Index      int
	Operation  string
	Success    bool
	HTTPStatus int
	Data       json.RawMessage `json:",omitempty"`
	ErrorCode  string          `json:",omitempty"`
	Error      string          `json:",omitempty"`
	// CorrelationID is the child operation's, for its own log row.
	CorrelationID string
	// DataOmitted: the batch's answers passed MaxBatchData; this one's is in the operation's own
	// log row (CorrelationID).
	DataOmitted bool `json:",omitempty"`
	// ProviderStatus is the provider's status of the last failed attempt when no usable answer
	// came (OperationResult.ProviderStatus: 429, 401 ...).
	ProviderStatus int `json:",omitempty"`
	// ProviderDetail is a refusal's error object (OperationResult.ProviderDetail: a validation
	// error's fields among it).
	ProviderDetail map[string]string `json:",omitempty"`
}

// BatchResult is a batch's outcome: partial failure is a result.
type BatchResult struct {
	CorrelationID string
	Status        string // transaction.StatusSuccessful when every item succeeded, else failed
	Total         int
	Succeeded     int
	Failed        int
	Items         []BatchItem
}

// Batch limits.
const (
	// MaxBatchOperations bounds the operations of one batch.
	MaxBatchOperations = 1000
	// MaxBatchConcurrent bounds BatchInput.MaxConcurrent; DefaultBatchConcurrent applies when it
	// is 0.
	MaxBatchConcurrent     = 50
	DefaultBatchConcurrent = 10
	// MaxBatchData bounds the answers a batch's result carries (it travels in workflow history,
	// under Temporal's payload limit); later answers are omitted.
	MaxBatchData = 1 << 20
)

// batchNamespace is the UUIDv5 namespace of batch items' correlation ids.
var batchNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:switchyard:batch"))

// BatchItemCorrelationID is the correlation id of a batch's index-th operation: a UUIDv5 of the
// batch's correlation id and the index, so a batch run again starts (and finds in the log) the
// same operations.
func BatchItemCorrelationID(batchCorrelationID string, index int) string {
	return uuid.NewSHA1(batchNamespace, []byte(batchCorrelationID+"/"+strconv.Itoa(index))).String()
}
