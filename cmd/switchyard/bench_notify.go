package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// The notification benchmark's event: one IN_APP message per emit to the payload's user, so a
// delivery is the hub's own work (no provider between).
const (
	benchNotifyEvent = "BENCH_NOTIFY"
	benchNotifyUser  = "bench-user"
)

// benchNotify emits the benchmark's event and, for "delivered", waits until its message is in
// the inbox (DELIVERED).
type benchNotify struct {
	apiURL string
	store  *schema.Store
	http   *http.Client
	n      atomic.Int64
}

// newBenchNotify writes the benchmark's event, rule, template and recipient.
func newBenchNotify(ctx context.Context, hub *localHub, httpClient *http.Client) (*benchNotify, error) {
	store := hub.st.store
	_, err := store.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: benchNotifyEvent, Module: "SWITCHYARD",
		Name: "Benchmark", Active: true})
	if err != nil && !errors.Is(err, schema.ErrConflict) {
		return nil, err
	}
	rules, err := store.ActiveRules(ctx, benchNotifyEvent)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		if _, err := store.CreateRule(ctx, schema.RuleRow{EventCode: benchNotifyEvent, Name: "bench",
			RecipientPolicy: schema.PolicyPayloadUser, RecipientConfig: json.RawMessage(`{}`), Priority: "NORMAL",
			MaxAttempts: 3, Active: true, Channels: []string{"IN_APP"}}); err != nil {
			return nil, err
		}
	}
	if _, err := store.CreateTemplate(ctx, schema.TemplateRow{EventCode: benchNotifyEvent, Channel: "IN_APP",
		Language: "en", Subject: "Bench", Body: "Message {{n}} for {{recipient.name}}", Active: true}); err != nil &&
		!errors.Is(err, schema.ErrConflict) {
		return nil, err
	}
	if _, err := store.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "USER", UserID: benchNotifyUser,
		Name: "Bench", Active: true}); err != nil {
		return nil, err
	}
	return &benchNotify{apiURL: hub.apiURL, store: store, http: httpClient}, nil
}

// emit posts one emit and answers its message's outbox id once the API answered 200.
func (b *benchNotify) emit(ctx context.Context) (string, error) {
	body := `{"event_code":"` + benchNotifyEvent + `","payload":{"user_id":"` + benchNotifyUser + `","n":"` +
		strconv.FormatInt(b.n.Add(1), 10) + `"}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.apiURL+"/api/notification/emit/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", benchClient)
	req.Header.Set("X-Client-Secret", benchSecret)
	resp, err := b.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("emit answered %d: %s", resp.StatusCode, raw)
	}
	var out struct {
		Data struct {
			Disposition string `json:"disposition"`
			Messages    []struct {
				OutboxID string `json:"outbox_id"`
			} `json:"messages"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Data.Messages) != 1 {
		return "", fmt.Errorf("emit answered %s", raw)
	}
	return out.Data.Messages[0].OutboxID, nil
}

// accept is one emit answered (its message queued and its delivery started).
func (b *benchNotify) accept(ctx context.Context) error {
	_, err := b.emit(ctx)
	return err
}

// delivered is one emit until its in-app message is DELIVERED (polled every millisecond).
func (b *benchNotify) delivered(ctx context.Context) error {
	id, err := b.emit(ctx)
	if err != nil {
		return err
	}
	for {
		row, err := b.store.GetOutbox(ctx, id)
		if err != nil {
			return err
		}
		if row.Status == transaction.OutboxDelivered {
			return nil
		}
		if row.Final {
			return fmt.Errorf("message %s ended %s: %s", id, row.Status, row.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
