package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
)

// demoIntegrations are the messaging platforms the simulators play and the ids of the demo
// integrator's integration with each: fixed, so the README's curl examples name them.
var demoIntegrations = []struct{ platform, id string }{
	{"whatsapp", "de000000-0000-4000-8000-000000000001"},
	{"telegram", "de000000-0000-4000-8000-000000000002"},
	{"slack", "de000000-0000-4000-8000-000000000003"},
	{"discord", "de000000-0000-4000-8000-000000000004"},
	// The payment simulator's events (charge.succeeded, charge.refunded,
	// customer.subscription.deleted), signed with SIM_PAYMENTS_WEBHOOK_SECRET.
	{"stripe", demoStripeIntegration},
}

// demoStripeIntegration receives the payment simulator's webhooks in `make dev`.
const demoStripeIntegration = "de000000-0000-4000-8000-000000000005"

// seedIntegrations gives the demo integrator an integration per simulated messaging platform,
// with the simulators' credentials (sealed like any other) and their API base URLs, so the
// README's round trip works on a fresh `make dev`. Integrations that exist are left alone.
func seedIntegrations(ctx context.Context, store *schema.Store, e env, logger *slog.Logger) error {
	if e.Seed.Enabled != nil && !*e.Seed.Enabled {
		return nil
	}
	vault, err := platform.NewVaultFromConfig(e.Secrets, e.Payload.Keys, e.Payload.KeyID)
	if err != nil {
		return err
	}
	owner := e.Seed.ClientPrefix + "-integrator"
	if _, err := store.GetClient(ctx, owner); errors.Is(err, schema.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	creds := e.Messaging.DemoCredentials()
	secret := connectorWebhookSecret(e)
	if secret == "" {
		secret = e.Payments.WebhookSecret // the simulator's
	}
	creds["stripe"] = map[string]string{platform.FieldWebhookSecret: secret}
	created := 0
	for _, demo := range demoIntegrations {
		name := demo.platform
		in := platform.Integration{ID: demo.id, Name: "Demo " + name, Platform: platform.Name(name),
			Credentials: platform.Credentials{Fields: creds[name]}, Active: true,
			Config: platform.Config{APIBaseURL: e.Messaging.APIBase(e.Seed.UpstreamURL, name)}}
		if err := in.Validate(); err != nil {
			return err
		}
		sealed, err := vault.SealCredentials(in.Credentials)
		if err != nil {
			return err
		}
		config, _ := json.Marshal(in.Config)
		_, err = store.CreateIntegration(ctx, schema.IntegrationRow{ID: in.ID, ClientID: owner, Name: in.Name,
			Platform: name, Credentials: sealed, Config: config, IsActive: true})
		switch {
		case errors.Is(err, schema.ErrConflict):
		case err != nil:
			return err
		default:
			created++
		}
	}
	sites, err := seedSites(ctx, store, e, vault, owner)
	if err != nil {
		return err
	}
	logger.Info("Demo integrations seeded", "created", created, "site_integrations", sites)
	return nil
}

// wireDemoPaymentWebhooks has the payment simulator send its events to the demo Stripe
// integration of the hub at SIM_HUB_URL, unless SIM_PAYMENTS_WEBHOOK_URL says where, or the
// demo data is off.
func wireDemoPaymentWebhooks(e *env) {
	if e.Payments.WebhookURL == "" && (e.Seed.Enabled == nil || *e.Seed.Enabled) {
		e.Payments.WebhookURL = strings.TrimRight(e.Messaging.HubURL, "/") + sim.WebhookPath + demoStripeIntegration
	}
	// The simulator signs with the connector's secret when one is set and it has none of its own.
	if _, set := os.LookupEnv("SIM_PAYMENTS_WEBHOOK_SECRET"); !set {
		if secret := connectorWebhookSecret(*e); secret != "" {
			e.Payments.WebhookSecret = secret
		}
	}
}

// connectorWebhookSecret is PAYMENTS_WEBHOOK_SECRET, the payment provider's endpoint secret:
// the demo Stripe integration verifies the provider's events with it ("" when unset or the
// connector's settings do not load).
func connectorWebhookSecret(e env) string {
	cfg, err := provider.LoadConnector(provider.IssuerPayments, e.SimURLs)
	if err != nil || cfg.Connector == nil {
		return ""
	}
	return cfg.Connector.WebhookSecret
}
