package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
)

// SeedConfig is the demo seeder's environment. The *_JSON variables take arrays in the original
// mediator's shapes and replace the built-in demo records of their kind; the prefixes name the
// built-in ones.
type SeedConfig struct {
	// RequestBaseURL is the hub's address as the printed examples use it.
	RequestBaseURL string `envconfig:"DEMO_SEED_REQUEST_BASE_URL" default:"http://127.0.0.1:8080"`
	// UpstreamURL is where the built-in demo mediators point: the upstream simulator.
	UpstreamURL    string `envconfig:"DEMO_SEED_UPSTREAM_URL" default:"http://127.0.0.1:8090"`
	MediatorPrefix string `envconfig:"DEMO_SEED_MEDIATOR_PREFIX" default:"urn:switchyard:demo"`
	ClientPrefix   string `envconfig:"DEMO_SEED_CLIENT_PREFIX" default:"demo"`
	ChannelPrefix  string `envconfig:"DEMO_SEED_CHANNEL_PREFIX" default:"Demo"`
	ClientsJSON    string `envconfig:"DEMO_SEED_CLIENTS_JSON"`
	MediatorsJSON  string `envconfig:"DEMO_SEED_MEDIATORS_JSON"`
	ChannelsJSON   string `envconfig:"DEMO_SEED_CHANNELS_JSON"`
	// Enabled is DEMO_SEED: false writes none of the hub's demo records (clients with
	// permissions, mediators, channels), and with reset only deletes earlier ones. Unset (nil)
	// is true: `switchyard seed` is asked for demo data; docker compose, which runs it for the
	// simulators' data, sets false unless told otherwise.
	Enabled *bool `envconfig:"DEMO_SEED" default:"true"`
}

// SeedStore is what the seeder writes through.
type SeedStore interface {
	DeleteDemo(ctx context.Context) error
	GetClient(ctx context.Context, id string) (schema.ClientRow, error)
	CreateClient(ctx context.Context, c schema.ClientRow) (schema.ClientRow, error)
	UpdateClient(ctx context.Context, id string, change func(*schema.ClientRow) error) (schema.ClientRow, error)
	GetMediator(ctx context.Context, urn string) (schema.MediatorRow, error)
	CreateMediator(ctx context.Context, m schema.MediatorRow) (schema.MediatorRow, error)
	UpdateMediator(ctx context.Context, urn string, change func(*schema.MediatorRow) error) (schema.MediatorRow, error)
	GetChannelByName(ctx context.Context, name string) (schema.ChannelRow, error)
	CreateChannel(ctx context.Context, c schema.ChannelRow) (schema.ChannelRow, error)
	UpdateChannel(ctx context.Context, id string, change func(*schema.ChannelRow) error) (schema.ChannelRow, error)
}

// SeedSummary counts what the seeder wrote.
type SeedSummary struct {
	Clients, Mediators, Channels int
	ClientIDs                    []string
}

// Seed writes the demo records, creating or updating them by natural key (client_id, urn,
// channel name). With reset, earlier demo records are deleted first. Everything is validated
// before anything is written.
func Seed(ctx context.Context, store SeedStore, cfg SeedConfig, reset bool) (SeedSummary, error) {
	if cfg.Enabled != nil && !*cfg.Enabled {
		if reset {
			return SeedSummary{}, store.DeleteDemo(ctx)
		}
		return SeedSummary{}, nil
	}
	clients, mediators, channels, err := seedSpecs(cfg)
	if err != nil {
		return SeedSummary{}, err
	}
	// Validate all first: a bad entry must not leave half a seed behind.
	for i, spec := range clients {
		if err := applyClient(spec, &schema.ClientRow{}, true); err != nil {
			return SeedSummary{}, fmt.Errorf("DEMO_SEED_CLIENTS_JSON[%d]: %w", i, err)
		}
		if spec.ClientSecret == nil {
			return SeedSummary{}, fmt.Errorf("DEMO_SEED_CLIENTS_JSON[%d]: client_secret: required", i)
		}
	}
	for i, spec := range mediators {
		if err := applyMediator(spec, &schema.MediatorRow{}, true); err != nil {
			return SeedSummary{}, fmt.Errorf("DEMO_SEED_MEDIATORS_JSON[%d]: %w", i, err)
		}
	}
	seeded := map[string]bool{}
	for _, spec := range mediators {
		seeded[*spec.URN] = true
	}
	for i, spec := range channels {
		if err := applyChannel(spec, &schema.ChannelRow{}, true); err != nil {
			return SeedSummary{}, fmt.Errorf("DEMO_SEED_CHANNELS_JSON[%d]: %w", i, err)
		}
		if !seeded[*spec.MediatorURN] {
			if _, err := store.GetMediator(ctx, *spec.MediatorURN); err != nil {
				return SeedSummary{}, fmt.Errorf("DEMO_SEED_CHANNELS_JSON[%d]: mediator_urn: %q is neither seeded nor known: %w",
					i, *spec.MediatorURN, err)
			}
		}
	}
	if reset {
		if err := store.DeleteDemo(ctx); err != nil {
			return SeedSummary{}, err
		}
	}
	var sum SeedSummary
	for _, spec := range clients {
		if err := seedClient(ctx, store, spec); err != nil {
			return sum, fmt.Errorf("seeding client %s: %w", *spec.ClientID, err)
		}
		sum.Clients++
		sum.ClientIDs = append(sum.ClientIDs, *spec.ClientID)
	}
	for _, spec := range mediators {
		if err := seedMediator(ctx, store, spec); err != nil {
			return sum, fmt.Errorf("seeding mediator %s: %w", *spec.URN, err)
		}
		sum.Mediators++
	}
	for _, spec := range channels {
		if err := seedChannel(ctx, store, spec); err != nil {
			return sum, fmt.Errorf("seeding channel %s: %w", *spec.Name, err)
		}
		sum.Channels++
	}
	return sum, seedESB(ctx, store, cfg)
}

// The seed* functions write a record exactly as its entry says, over an existing one too: a
// field the entry leaves out takes its default (what the admin API gives a new record), never
// the value an earlier seed or another record had. Only identity and runtime state stay.

func seedClient(ctx context.Context, store SeedStore, spec ClientSpec) error {
	secret := *spec.ClientSecret
	_, err := store.UpdateClient(ctx, *spec.ClientID, func(row *schema.ClientRow) error {
		fresh := schema.ClientRow{IsDemo: true, SecretHash: row.SecretHash, CreatedAt: row.CreatedAt}
		if err := applyClient(spec, &fresh, true); err != nil {
			return err
		}
		if bcrypt.CompareHashAndPassword([]byte(fresh.SecretHash), []byte(secret)) != nil {
			hash, err := HashSecret(secret)
			if err != nil {
				return err
			}
			fresh.SecretHash = hash
		}
		*row = fresh
		return nil
	})
	if !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	row := schema.ClientRow{IsDemo: true}
	if err := applyClient(spec, &row, true); err != nil {
		return err
	}
	if row.SecretHash, err = HashSecret(secret); err != nil {
		return err
	}
	_, err = store.CreateClient(ctx, row)
	return err
}

func seedMediator(ctx context.Context, store SeedStore, spec MediatorSpec) error {
	_, err := store.UpdateMediator(ctx, *spec.URN, func(row *schema.MediatorRow) error {
		fresh := schema.MediatorRow{IsDemo: true, LastHeartbeat: row.LastHeartbeat, CreatedAt: row.CreatedAt}
		if err := applyMediator(spec, &fresh, true); err != nil {
			return err
		}
		*row = fresh
		return nil
	})
	if !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	row := schema.MediatorRow{IsDemo: true}
	if err := applyMediator(spec, &row, true); err != nil {
		return err
	}
	_, err = store.CreateMediator(ctx, row)
	return err
}

func seedChannel(ctx context.Context, store SeedStore, spec ChannelSpec) error {
	existing, err := store.GetChannelByName(ctx, *spec.Name)
	if err == nil {
		_, err = store.UpdateChannel(ctx, existing.ID, func(row *schema.ChannelRow) error {
			fresh := schema.ChannelRow{ID: row.ID, IsDemo: true, CreatedAt: row.CreatedAt}
			if err := applyChannel(spec, &fresh, true); err != nil {
				return err
			}
			*row = fresh
			return nil
		})
		return channelWriteError(err)
	}
	if !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	row := schema.ChannelRow{IsDemo: true}
	if err := applyChannel(spec, &row, true); err != nil {
		return err
	}
	_, err = store.CreateChannel(ctx, row)
	return channelWriteError(err)
}

// seedSpecs returns the records to seed: the env JSON where given, the built-in demo otherwise.
// The JSON decodes into fresh records, never over the built-in ones: decoding an array into a
// non-empty slice reuses its elements, so entry i would keep every field it does not name from
// built-in record i (its permissions, roles, escalation ...).
func seedSpecs(cfg SeedConfig) ([]ClientSpec, []MediatorSpec, []ChannelSpec, error) {
	clients, mediators, channels := demoRecords(cfg)
	if err := decodeSeed("DEMO_SEED_CLIENTS_JSON", cfg.ClientsJSON, &clients); err != nil {
		return nil, nil, nil, err
	}
	if err := decodeSeed("DEMO_SEED_MEDIATORS_JSON", cfg.MediatorsJSON, &mediators); err != nil {
		return nil, nil, nil, err
	}
	if err := decodeSeed("DEMO_SEED_CHANNELS_JSON", cfg.ChannelsJSON, &channels); err != nil {
		return nil, nil, nil, err
	}
	return clients, mediators, channels, nil
}

// decodeSeed replaces *records with the JSON array src, when it is given.
func decodeSeed[T any](name, src string, records *[]T) error {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	var fresh []T
	if err := decodeStrict([]byte(src), &fresh); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	*records = fresh
	return nil
}

// demoRecords are the built-in demo: two clients, an echo mediator and a mediator that is down
// (the upstream simulator answering 503), and channels that show sync, async, retries and
// escalation.
func demoRecords(cfg SeedConfig) ([]ClientSpec, []MediatorSpec, []ChannelSpec) {
	s := func(v string) *string { return &v }
	b := func(v bool) *bool { return &v }
	n := func(v int) *int { return &v }
	list := func(v ...string) *[]string { return &v }
	echo := cfg.MediatorPrefix + ":echo"
	down := cfg.MediatorPrefix + ":down"
	upstream := strings.TrimRight(cfg.UpstreamURL, "/")
	every := []string{PermissionISOTransfer, PermissionSimulatorReports, PermissionIntegrations, PermissionNotifications}
	for _, op := range provider.Catalogue {
		if !slices.Contains(every, op.Permission) { // connector operations share their connector's
			every = append(every, op.Permission)
		}
	}
	clients := []ClientSpec{
		{ClientID: s(cfg.ClientPrefix + "-integrator"), Name: s("Demo Integrator"), ClientSecret: s("demo-secret"),
			AllowedIPs: list(), Roles: list("integrator"), Permissions: list(every...), IsActive: b(true)},
		{ClientID: s(cfg.ClientPrefix + "-partner"), Name: s("Demo Partner"), ClientSecret: s("partner-secret"),
			AllowedIPs: list(), Roles: list("partner"), Permissions: list(provider.OpAccountBalance, provider.OpSendSMS,
				PermissionSimulatorReports),
			RateLimitPerMinute: n(120), IsActive: b(true)},
	}
	mediators := []MediatorSpec{
		{URN: s(echo), Name: s("Demo Echo Mediator"), Version: s("1.0.0"), EndpointURL: s(upstream), IsOnline: b(true)},
		{URN: s(down), Name: s("Demo Unavailable Mediator"), Version: s("1.0.0"),
			EndpointURL: s(upstream + "/sim/status/503"), IsOnline: b(true)},
	}
	retry := func(attempts int, initial, maxInterval string) *RetryPolicySpec {
		coef := 2.0
		return &RetryPolicySpec{MaxAttempts: &attempts, InitialInterval: &initial, BackoffCoefficient: &coef,
			MaxInterval: &maxInterval}
	}
	channels := []ChannelSpec{
		{Name: s(cfg.ChannelPrefix + " Teachers"), Description: s("Teacher records (echo upstream)"),
			PathPattern: s("/integrations/teachers"), Methods: list("POST"), RequiresRequestBody: b(true),
			RequestContentType: s("application/json"), RequestBodyExample: s(`{"teacher_id":"T-1"}`),
			ChannelType: s("http"), Priority: n(10), IsActive: b(true), MediatorURN: s(echo),
			RetryPolicy: retry(3, "500ms", "5s"), HonoursIdempotencyKey: b(true)},
		{Name: s(cfg.ChannelPrefix + " Env Ping"), Description: s("Liveness of the demo upstream"),
			PathPattern: s("/demo/env/ping"), Methods: list("GET"), ChannelType: s("http"), Priority: n(10),
			IsActive: b(true), MediatorURN: s(echo)},
		{Name: s(cfg.ChannelPrefix + " Integrations"), Description: s("Everything else under /integrations"),
			PathPattern: s("/integrations/**"), Methods: list("GET", "POST", "PUT", "DELETE"), ChannelType: s("http"),
			Priority: n(0), IsActive: b(true), MediatorURN: s(echo), RetryPolicy: retry(3, "500ms", "5s")},
		{Name: s(cfg.ChannelPrefix + " Payments"), Description: s("An upstream that is down: retries, then escalation"),
			PathPattern: s("/integrations/payments"), Methods: list("POST"), RequiresRequestBody: b(true),
			RequestContentType: s("application/json"), RequestBodyExample: s(`{"amount":"10.00","currency":"TZS"}`),
			ChannelType: s("http"), Priority: n(20), IsActive: b(true), MediatorURN: s(down),
			RetryPolicy: retry(3, "1s", "10s"), HonoursIdempotencyKey: b(true), EscalateOnFailure: b(true),
			AllowedRoles: list("integrator")},
	}
	return clients, mediators, channels
}
