package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
)

// connectorInfos reads the connectors' configurations (PAYMENTS_*, ERP_*) for the API: what
// its status route and ERP routes show and check, never their secrets.
func connectorInfos(e env) (map[string]api.ConnectorInfo, error) {
	out := map[string]api.ConnectorInfo{}
	for _, name := range provider.Connectors {
		cfg, err := provider.LoadConnector(name, e.SimURLs)
		if err != nil {
			return nil, err
		}
		info := api.ConnectorInfo{Configured: cfg.Configured(), Timeout: cfg.Timeout, MaxRetries: cfg.Retry.MaxAttempts - 1,
			RateLimit: cfg.RateLimit, BurstLimit: cfg.BurstLimit}
		if s := cfg.Connector; s != nil {
			info.APIVersion, info.AuthType, info.TenantID, info.EnterpriseID, info.Region, info.EntityTypes =
				s.APIVersion, s.AuthType, s.TenantID, s.EnterpriseID, s.Region, s.EntityTypes
		}
		out[name] = info
	}
	return out, nil
}

// siteClients builds the sync family's site clients: tenants' sites over sites (their
// transport), and the ERP connector's integrations over the worker's ERP_* configuration,
// which is the hub operator's, not a tenant's: its TLS and connection settings, its headers,
// its rate limit (activities.Connectors.Transport) and timeout, and its entity types (the integration's
// own content types only where they are among them).
func siteClients(sites *http.Client, providers *provider.Set, connectors activities.Connectors) func(platform.Integration, platform.SiteConfig) (platform.SiteClient, error) {
	var erp struct {
		once   sync.Once
		client *http.Client
		err    error
	}
	return func(in platform.Integration, cfg platform.SiteConfig) (platform.SiteClient, error) {
		if in.Platform != platform.ERP {
			return platform.NewSiteClient(in, cfg, sites)
		}
		if providers == nil {
			return nil, errors.New("this worker has no ERP connector")
		}
		caller, err := providers.Caller(provider.IssuerERP)
		if err != nil {
			return nil, err
		}
		conf := caller.Config()
		if in.Credentials.Fields, err = erpSiteFields(conf); err != nil {
			return nil, err
		}
		cfg.ContentTypes = erpContentTypes(cfg.ContentTypes, conf)
		erp.once.Do(func() {
			transport, err := provider.NewTransport(conf)
			if err != nil {
				erp.err = err
				return
			}
			erp.client = &http.Client{Timeout: conf.Timeout + activities.ConnectorWait,
				Transport: connectors.Transport(conf, transport)}
		})
		if erp.err != nil {
			return nil, erp.err
		}
		return platform.NewSiteClient(in, cfg, erp.client)
	}
}

// erpContentTypes are what an ERP sync pulls: the integration's types that ERP_ENTITY_TYPES
// names, else all of those.
func erpContentTypes(configured []string, erp provider.Config) []string {
	var known []string
	if erp.Connector != nil {
		known = erp.Connector.EntityTypes
	}
	if len(known) == 0 {
		known = provider.DefaultERPEntityTypes
	}
	var out []string
	for _, t := range configured {
		if slices.Contains(known, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return slices.Clone(known)
	}
	return out
}

// erpSiteFields are the ERP connector's base URL and key as the ERP site client takes them.
func erpSiteFields(erp provider.Config) (map[string]string, error) {
	if !erp.Configured() {
		return map[string]string{}, nil // NewSiteClient says what to set
	}
	version := "v1"
	if erp.Connector != nil && erp.Connector.APIVersion != "" {
		version = erp.Connector.APIVersion
	}
	fields := map[string]string{platform.FieldBaseURL: strings.TrimRight(erp.BaseURL, "/") + "/" + version,
		platform.FieldAPIKey: erp.Auth.Token}
	switch erp.Auth.Type {
	case provider.AuthAPIKey:
		fields[platform.FieldAuthType], fields[platform.FieldHeader] = platform.AuthAPIKey, erp.Auth.APIKeyHeader
	case provider.AuthBearer:
		fields[platform.FieldAuthType] = platform.AuthBearer
	default:
		return nil, fmt.Errorf("ERP syncs authenticate with ERP_AUTH_TYPE api_key or bearer, not %s", erp.Auth.Type)
	}
	return fields, nil
}
