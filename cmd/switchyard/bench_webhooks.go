package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// The webhook benchmark's clients: one whose webhooks go nowhere (accept throughput), one
// with a subscription on loopback (delivered latency).
const (
	benchWebhookClient    = "bench-webhooks"
	benchSubscriberClient = "bench-subscriber"
	benchSubscriberSecret = "bench-subscriber-secret-0001"
)

// benchWebhooks is the webhook side of the benchmark: two Telegram integrations (signing is a
// secret header, so the sender costs nothing) and a subscriber that wakes whoever waits for a
// message.
type benchWebhooks struct {
	apiURL     string
	acceptURL  string
	deliverURL string
	secret     string
	http       *http.Client
	updates    atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// newBenchWebhooks creates the integrations, the subscriber and its subscription.
func newBenchWebhooks(ctx context.Context, hub *localHub, httpClient *http.Client) (*benchWebhooks, func(), error) {
	store := hub.st.store
	b := &benchWebhooks{apiURL: hub.apiURL, http: httpClient, waiting: map[string]chan struct{}{},
		secret: "bench-telegram-secret-token"}
	b.updates.Store(time.Now().UnixMilli())
	hash, err := api.HashSecret(benchSubscriberSecret)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range []string{benchWebhookClient, benchSubscriberClient} {
		if _, err := store.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: "Benchmark " + id, SecretHash: hash,
			Permissions: []string{api.PermissionIntegrations}, IsActive: true}); err != nil && !errors.Is(err, schema.ErrConflict) {
			return nil, nil, err
		}
	}
	creds := platform.Credentials{Fields: map[string]string{"bot_token": "7000000009:bench-bot-token", "secret_token": b.secret}}
	sealed, err := hub.st.vault.SealCredentials(creds)
	if err != nil {
		return nil, nil, err
	}
	for owner, url := range map[string]*string{benchWebhookClient: &b.acceptURL, benchSubscriberClient: &b.deliverURL} {
		id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("switchyard:bench:"+owner)).String()
		if _, err := store.CreateIntegration(ctx, schema.IntegrationRow{ID: id, ClientID: owner, Name: id, Platform: "telegram",
			Credentials: sealed, IsActive: true}); err != nil && !errors.Is(err, schema.ErrConflict) {
			return nil, nil, err
		}
		*url = hub.apiURL + "/api/v1/integration/webhooks/" + id
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(b.receive), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	stop := func() { _ = srv.Close() }
	body := fmt.Sprintf(`{"url":"http://%s/","event_types":["%s"],"description":"benchmark"}`, l.Addr(),
		platform.EventMessageReceived)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hub.apiURL+"/api/v1/integration/subscriptions/",
		strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", benchSubscriberClient)
	req.Header.Set("X-Client-Secret", benchSubscriberSecret)
	resp, err := httpClient.Do(req)
	if err != nil {
		stop()
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		stop()
		return nil, nil, fmt.Errorf("creating the benchmark's subscription: %d %s", resp.StatusCode, b)
	}
	return b, stop, nil
}

// receive is the subscriber: it wakes the waiter of the message's text.
func (b *benchWebhooks) receive(w http.ResponseWriter, r *http.Request) {
	var event struct {
		Data struct {
			Message struct {
				Content struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"message"`
		} `json:"data"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&event)
	b.mu.Lock()
	if ch, ok := b.waiting[event.Data.Message.Content.Text]; ok {
		close(ch)
		delete(b.waiting, event.Data.Message.Content.Text)
	}
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// post sends a Telegram update with update id n (which is also in its text) to url.
func (b *benchWebhooks) post(ctx context.Context, url string, n int64) error {
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":42,"is_bot":false,"first_name":"Bench"},`+
		`"chat":{"id":42,"type":"private"},"date":%d,"text":%q}}`, n, n, time.Now().Unix(), benchText(n))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", b.secret)
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook answered %d", resp.StatusCode)
	}
	return nil
}

func benchText(n int64) string { return "bench " + strconv.FormatInt(n, 10) }

// accept is one webhook accepted: verified and its ingestion started.
func (b *benchWebhooks) accept(ctx context.Context) error {
	return b.post(ctx, b.acceptURL, b.updates.Add(1))
}

// delivered is one webhook from the platform's POST to the subscriber's 2xx: verification,
// ingestion, normalization, fan-out, a delivery workflow and its signed POST.
func (b *benchWebhooks) delivered(ctx context.Context) error {
	n := b.updates.Add(1)
	ch := make(chan struct{})
	b.mu.Lock()
	b.waiting[benchText(n)] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, benchText(n))
		b.mu.Unlock()
	}()
	if err := b.post(ctx, b.deliverURL, n); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return errors.New("the subscriber got nothing in 30 s")
	}
}
