package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// rerunStore holds one logged transaction, its channel and, when not nil, its client.
type rerunStore struct {
	activities.Store
	tx     schema.TransactionRow
	route  schema.RouteRow
	client *schema.ClientRow
}

func (s *rerunStore) GetTransaction(context.Context, string) (schema.TransactionRow, error) {
	return s.tx, nil
}

func (s *rerunStore) GetRoute(context.Context, string) (schema.RouteRow, error) { return s.route, nil }

func (s *rerunStore) GetClient(context.Context, string) (schema.ClientRow, error) {
	if s.client == nil {
		return schema.ClientRow{}, schema.ErrNotFound
	}
	return *s.client, nil
}

func (s *rerunStore) ChannelRelaysESB(context.Context, string) (bool, error) { return false, nil }

// rerunTemporal has no run to query (the request comes from the log) and counts starts.
type rerunTemporal struct {
	mu     sync.Mutex
	starts int
}

func (*rerunTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("workflow not found")
}

func (f *rerunTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	return nil, nil
}

// A bulk or auto-retry rerun is refused what the single rerun is refused: a client gone,
// deactivated or no longer admitted by the channel, a logged path a request is refused for.
// Each is counted failed with its reason and starts nothing.
func TestStartRerunAppliesTheSingleRerunsChecks(t *testing.T) {
	t.Parallel()
	active := func(roles ...string) *schema.ClientRow {
		return &schema.ClientRow{ClientID: "acme", IsActive: true, Roles: roles}
	}
	for _, tc := range []struct {
		name           string
		client         *schema.ClientRow
		clients, roles []string
		methods        []string // the channel's; GET when nil
		path           string
		reason         string // "" when it starts
	}{
		{name: "a client the channel admits starts", client: active()},
		{name: "a client listed by the channel starts", client: active(), clients: []string{"acme"}},
		{name: "a client holding an allowed role starts", client: active("integrator"), roles: []string{"integrator"}},
		{name: "a client that is gone fails", reason: "its client acme is gone"},
		{name: "a deactivated client fails", client: &schema.ClientRow{ClientID: "acme"},
			reason: "its client acme is deactivated"},
		{name: "a client taken off allowed_clients fails", client: active(), clients: []string{"other"},
			reason: "channel payments no longer admits client acme"},
		{name: "a client without an allowed role fails", client: active("auditor"), roles: []string{"integrator"},
			reason: "channel payments no longer admits client acme"},
		{name: "a logged path with dot segments fails", client: active(), path: "/pay/x/../admin",
			reason: "invalid path: dot segments"},
		{name: "a logged path with an encoded slash fails", client: active(), path: "/pay/..%2fadmin",
			reason: "invalid path: encoded"},
		{name: "a method taken off the channel fails", client: active(), methods: []string{"POST"},
			reason: "channel payments no longer accepts GET"},
		{name: "methods match whatever their case", client: active(), methods: []string{"post", "get"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if path == "" {
				path = "/pay/1"
			}
			methods := tc.methods
			if methods == nil {
				methods = []string{"GET"}
			}
			channelID := uuid.NewString()
			store := &rerunStore{
				tx: schema.TransactionRow{CorrelationID: uuid.NewString(), Kind: transaction.KindProxy,
					Status: transaction.StatusFailed, ClientID: "acme", Method: "GET", Path: path},
				route: schema.RouteRow{ChannelRow: schema.ChannelRow{ID: channelID, Name: "payments", IsActive: true,
					AllowedClients: tc.clients, AllowedRoles: tc.roles, Methods: methods}, MediatorOnline: true},
				client: tc.client,
			}
			store.tx.ChannelID.String, store.tx.ChannelID.Valid = channelID, true
			temporal := &rerunTemporal{}
			acts := activities.New(store, nil, activities.Config{})
			acts.Reruns.Temporal = temporal
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)

			v, err := env.ExecuteActivity(acts.StartRerun, activities.StartRerunInput{TaskID: "task",
				CorrelationID: store.tx.CorrelationID})
			require.NoError(t, err)
			var res activities.StartRerunResult
			require.NoError(t, v.Get(&res))
			if tc.reason == "" {
				require.Equal(t, activities.RerunStarted, res.Outcome, res.Reason)
				require.Equal(t, 1, temporal.starts)
				return
			}
			require.Equal(t, activities.RerunFailed, res.Outcome)
			require.Contains(t, res.Reason, tc.reason)
			require.Zero(t, temporal.starts, "nothing is rerun")
		})
	}
}
