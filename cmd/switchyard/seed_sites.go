package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// demoSiteKey is the demo WordPress site's api key (what its plugin would present): fixed, so
// the README's callback and onboarding examples work on a fresh `make dev`. Demo data only.
const demoSiteKey = "wpk_demo_site_key_for_the_readme_examples"

// demoSites are the demo integrator's sites and their site integrations, with fixed ids the
// README's curl examples name: a WordPress blog and a Shopify shop, both simulated.
var demoSites = []struct {
	siteID, integrationID, name, path string
	platform                          platform.Name
}{
	{"de000000-0000-4000-8000-000000000010", "de000000-0000-4000-8000-000000000011", "Demo blog", "/wordpress",
		platform.WordPress},
	{"de000000-0000-4000-8000-000000000012", "de000000-0000-4000-8000-000000000013", "Demo shop", "/shopify",
		platform.Shopify},
}

// seedSites gives the demo integrator a site per simulated site platform and a site
// integration with each (sync enabled), with the simulators' credentials sealed like any
// other. Sites and integrations that exist are left alone.
func seedSites(ctx context.Context, store *schema.Store, e env, vault *platform.Vault, owner string) (int, error) {
	created := 0
	for _, demo := range demoSites {
		url := e.Seed.UpstreamURL + demo.path
		key, err := vault.SealSiteKey(demoSiteKey)
		if err != nil {
			return created, err
		}
		_, err = store.CreateSite(ctx, schema.SiteRow{ID: demo.siteID, ClientID: owner, Name: demo.name, URL: url,
			APIKey: key})
		if err != nil && !errors.Is(err, schema.ErrConflict) {
			return created, err
		}
		fields := map[string]string{platform.FieldSiteURL: url, platform.FieldUsername: e.Sites.WordPressUsername,
			platform.FieldApplicationPassword: e.Sites.WordPressApplicationPassword}
		if demo.platform == platform.Shopify {
			fields = map[string]string{platform.FieldShopDomain: url, platform.FieldAccessToken: e.Sites.ShopifyAccessToken}
		}
		in := platform.Integration{ID: demo.integrationID, Name: demo.name, Platform: demo.platform,
			Credentials: platform.Credentials{Fields: fields}, Active: true}
		if err := in.Validate(); err != nil {
			return created, err
		}
		sealed, err := vault.SealCredentials(in.Credentials)
		if err != nil {
			return created, err
		}
		config, _ := json.Marshal(platform.SiteConfig{})
		siteID := demo.siteID
		_, err = store.CreateIntegration(ctx, schema.IntegrationRow{ID: in.ID, ClientID: owner, Name: in.Name,
			Platform: string(demo.platform), Credentials: sealed, Config: config, IsActive: true, SiteID: &siteID,
			PlatformType: demo.platform.PlatformType(), SyncEnabled: true})
		switch {
		case errors.Is(err, schema.ErrConflict):
		case err != nil:
			return created, err
		default:
			created++
		}
	}
	return created, nil
}
