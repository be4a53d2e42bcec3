package provider_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

// envSetting is one documented variable (without its prefix), a value other than its default,
// and where that value lands in the loaded configuration.
type envSetting struct {
	name, value string
	got         func(provider.Config) any
	want        any
}

// issuerSettings are every variable an issuer reads ({PREFIX}_...), set all at once.
var issuerSettings = []envSetting{
	{"BASE_URL", "https://issuer.example/api/", func(c provider.Config) any { return c.BaseURL }, "https://issuer.example/api"},
	{"DEFAULT_HEADERS", "X-Channel:hub", func(c provider.Config) any { return c.Headers }, map[string]string{"X-Channel": "hub"}},
	{"TIMEOUT", "17s", func(c provider.Config) any { return c.Timeout }, 17 * time.Second},
	{"STRICT_TLS", "false", func(c provider.Config) any { return c.StrictTLS }, false},
	{"CA_FILE", "/etc/switchyard/issuer-ca.pem", func(c provider.Config) any { return c.CAFile }, "/etc/switchyard/issuer-ca.pem"},
	{"REQUIRED_AUTH_HEADERS", "Authorization,X-Sig", func(c provider.Config) any { return c.RequiredAuthHeaders },
		[]string{"Authorization", "X-Sig"}},
	{"REJECT_UNAUTHORIZED", "false", func(c provider.Config) any { return c.RejectUnauthorized }, false},
	{"URI_MAP", `{"ping": "GET /v9/ping"}`, func(c provider.Config) any { return c.URIMap["ping"] },
		provider.Route{Method: "GET", Path: "/v9/ping"}},
	{"AUTH_TYPE", provider.AuthOAuth2, func(c provider.Config) any { return c.Auth.Type }, provider.AuthOAuth2},
	{"AUTH_TOKEN", "tok-17", func(c provider.Config) any { return c.Auth.Token }, "tok-17"},
	{"AUTH_USERNAME", "user-17", func(c provider.Config) any { return c.Auth.Username }, "user-17"},
	{"AUTH_PASSWORD", "pass-17", func(c provider.Config) any { return c.Auth.Password }, "pass-17"},
	{"OAUTH_TOKEN_URL", "https://idp.example/token", func(c provider.Config) any { return c.Auth.TokenURL },
		"https://idp.example/token"},
	{"OAUTH_CLIENT_ID", "client-17", func(c provider.Config) any { return c.Auth.ClientID }, "client-17"},
	{"OAUTH_CLIENT_SECRET", "secret-17", func(c provider.Config) any { return c.Auth.ClientSecret }, "secret-17"},
	{"OAUTH_SCOPES", "read,write", func(c provider.Config) any { return c.Auth.Scopes }, []string{"read", "write"}},
	{"HMAC_KEY_ID", "key-17", func(c provider.Config) any { return c.Auth.HMACKeyID }, "key-17"},
	{"HMAC_SECRET", "hmac-17", func(c provider.Config) any { return c.Auth.HMACSecret }, "hmac-17"},
	{"RESPONSE_FORMAT", provider.FormatXML, func(c provider.Config) any { return c.ResponseFormat }, provider.FormatXML},
	{"SIMULATE", "true", func(c provider.Config) any { return c.Simulate }, true},
	{"MAX_ATTEMPTS", "7", func(c provider.Config) any { return c.Retry.MaxAttempts }, 7},
	{"RETRY_INITIAL_INTERVAL", "750ms", func(c provider.Config) any { return c.Retry.InitialInterval }, 750 * time.Millisecond},
	{"RETRY_MAX_INTERVAL", "9s", func(c provider.Config) any { return c.Retry.MaxInterval }, 9 * time.Second},
	{"BREAKER_FAILURES", "9", func(c provider.Config) any { return c.BreakerFailures }, uint32(9)},
	{"BREAKER_OPEN_TIMEOUT", "45s", func(c provider.Config) any { return c.BreakerOpenTimeout }, 45 * time.Second},
	{"VARS", "region:eu", func(c provider.Config) any { return c.Vars["region"] }, "eu"},
	{"PROJECT_ID", "proj-17", func(c provider.Config) any { return c.Vars["project_id"] }, "proj-17"},
	{"SMTP_HOST", "smtp.example", func(c provider.Config) any { return c.SMTP.Addr }, "smtp.example:2525"},
	{"SMTP_PORT", "2525", func(c provider.Config) any { return c.SMTP.Addr }, "smtp.example:2525"},
	{"SMTP_USERNAME", "mailer", func(c provider.Config) any { return c.SMTP.Username }, "mailer"},
	{"SMTP_PASSWORD", "mail-17", func(c provider.Config) any { return c.SMTP.Password }, "mail-17"},
	{"SMTP_TLS", "tls", func(c provider.Config) any { return c.SMTP.TLS }, "tls"},
	{"FROM", "Bank <bank@example.org>", func(c provider.Config) any { return c.SMTP.From }, "Bank <bank@example.org>"},
	{"TRANSPORT", "iso8583", func(c provider.Config) any { return c.Transport }, "iso8583"},
}

// connectorSettings are every variable a connector reads ({PREFIX}_...), set all at once;
// ENTITY_TYPES is the ERP's only.
var connectorSettings = []envSetting{
	{"BASE_URL", "https://connector.example/api/", func(c provider.Config) any { return c.BaseURL }, "https://connector.example/api"},
	{"API_KEY", "key-42", func(c provider.Config) any { return c.Auth.HMACKeyID }, "key-42"},
	{"API_VERSION", "v4", func(c provider.Config) any { return c.Connector.APIVersion }, "v4"},
	{"TIMEOUT", "42s", func(c provider.Config) any { return c.Timeout }, 42 * time.Second},
	{"MAX_CONNECTIONS", "12", func(c provider.Config) any { return c.MaxConnections }, 12},
	{"MAX_RETRIES", "5", func(c provider.Config) any { return c.Retry.MaxAttempts }, 6},
	{"RETRY_BACKOFF", "2s", func(c provider.Config) any { return c.Retry.InitialInterval }, 2 * time.Second},
	{"RATE_LIMIT", "4.5", func(c provider.Config) any { return c.RateLimit }, 4.5},
	{"BURST_LIMIT", "9", func(c provider.Config) any { return c.BurstLimit }, 9},
	{"AUTH_TYPE", provider.AuthHMAC, func(c provider.Config) any { return c.Connector.AuthType }, provider.AuthHMAC},
	{"AUTH_CONFIG", `{"secret": "hmac-42"}`, func(c provider.Config) any { return c.Auth.HMACSecret }, "hmac-42"},
	{"WEBHOOK_SECRET", "whsec_42", func(c provider.Config) any { return c.Connector.WebhookSecret }, "whsec_42"},
	{"TENANT_ID", "tenant-42", func(c provider.Config) any { return c.Connector.TenantID }, "tenant-42"},
	{"ENTERPRISE_ID", "ent-42", func(c provider.Config) any { return c.Connector.EnterpriseID }, "ent-42"},
	{"REGION", "eu-42", func(c provider.Config) any { return c.Connector.Region }, "eu-42"},
	{"SIMULATE", "true", func(c provider.Config) any { return c.Simulate }, true},
	{"STRICT_TLS", "false", func(c provider.Config) any { return c.StrictTLS }, false},
	{"CA_FILE", "/etc/switchyard/connector-ca.pem", func(c provider.Config) any { return c.CAFile },
		"/etc/switchyard/connector-ca.pem"},
	{"URI_MAP", `{"ping": "GET /v4/ping"}`, func(c provider.Config) any { return c.URIMap["ping"] },
		provider.Route{Method: "GET", Path: "/v4/ping"}},
	{"BREAKER_FAILURES", "8", func(c provider.Config) any { return c.BreakerFailures }, uint32(8)},
	{"BREAKER_OPEN_TIMEOUT", "50s", func(c provider.Config) any { return c.BreakerOpenTimeout }, 50 * time.Second},
	{"ENTITY_TYPES", "customer,sales_order", func(c provider.Config) any { return c.Connector.EntityTypes },
		[]string{"customer", "sales_order"}},
}

// unsetEnv leaves the variables named, and those starting with a prefix given, unset for the
// test.
func unsetEnv(t *testing.T, names []string, prefixes ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		t.Setenv(name, "") // restored after the test
		require.NoError(t, os.Unsetenv(name))
	}
}

func settingNames(settings []envSetting, prefix string) []string {
	out := make([]string, 0, len(settings))
	for _, s := range settings {
		out = append(out, prefix+s.name)
	}
	return out
}

// everyPrefix is the prefix of every issuer and connector.
func everyPrefix() []string {
	var out []string
	for _, name := range append(append([]string{}, provider.Issuers...), provider.Connectors...) {
		out = append(out, provider.Prefix(name)+"_")
	}
	return out
}

func TestTheDocumentedVariablesAreTheOnesRead(t *testing.T) {
	names := func(vars []provider.EnvVar) []string {
		out := make([]string, 0, len(vars))
		for _, v := range vars {
			out = append(out, v.Name)
			require.Empty(t, v.Fallback, "%s would also be read as %s, without its prefix", v.Name, v.Fallback)
		}
		return out
	}
	require.ElementsMatch(t, settingNames(issuerSettings, "CBS_"), names(provider.IssuerEnv("CBS")))
	require.ElementsMatch(t, settingNames(connectorSettings, "ERP_"), names(provider.ConnectorEnv("ERP")))
	require.Equal(t, []provider.EnvVar{{Name: "PROVIDER_MAX_RESPONSE_BYTES", Fallback: "PROVIDER_MAX_RESPONSE_BYTES"}},
		provider.LimitsEnv(), "the one variable read without a prefix, on purpose")
}

func TestEveryDocumentedIssuerVariableIsRead(t *testing.T) {
	for _, issuer := range []string{provider.IssuerCBS, provider.IssuerEmail} {
		t.Run(issuer, func(t *testing.T) {
			prefix := provider.Prefix(issuer) + "_"
			unsetEnv(t, nil, prefix)
			for _, s := range issuerSettings {
				t.Setenv(prefix+s.name, s.value)
			}
			cfg, err := provider.Load(issuer, provider.SimConfig{})
			require.NoError(t, err)
			for _, s := range issuerSettings {
				if strings.HasPrefix(s.name, "SMTP_") || s.name == "FROM" {
					if issuer != provider.IssuerEmail {
						require.Zero(t, cfg.SMTP, "only the e-mail issuer has an SMTP server")
						continue
					}
				}
				require.Equal(t, s.want, s.got(cfg), prefix+s.name)
			}
		})
	}
}

func TestEveryDocumentedConnectorVariableIsRead(t *testing.T) {
	for _, connector := range provider.Connectors {
		t.Run(connector, func(t *testing.T) {
			prefix := provider.Prefix(connector) + "_"
			unsetEnv(t, nil, prefix)
			for _, s := range connectorSettings {
				t.Setenv(prefix+s.name, s.value)
			}
			cfg, err := provider.LoadConnector(connector, provider.SimConfig{})
			require.NoError(t, err)
			for _, s := range connectorSettings {
				if s.name == "ENTITY_TYPES" && connector != provider.IssuerERP {
					require.Nil(t, cfg.Connector.EntityTypes, "only the ERP has entity types")
					continue
				}
				require.Equal(t, s.want, s.got(cfg), prefix+s.name)
			}
		})
	}
}

func TestVariablesWithoutAPrefixConfigureNothing(t *testing.T) {
	unprefixed := map[string]string{}
	for _, s := range issuerSettings {
		unprefixed[s.name] = s.value
	}
	for _, s := range connectorSettings {
		unprefixed[s.name] = s.value
	}
	names := make([]string, 0, len(unprefixed))
	for name := range unprefixed {
		names = append(names, name)
	}
	unsetEnv(t, names, everyPrefix()...)
	sim := provider.SimConfig{URL: "http://sim:8090", SMTPAddr: "127.0.0.1:2525"}
	load := func(name string) provider.Config {
		t.Helper()
		cfg, err := provider.Load(name, sim)
		require.NoError(t, err, name)
		return cfg
	}
	names = append(append([]string{}, provider.Issuers...), provider.Connectors...)
	before := map[string]provider.Config{}
	for _, name := range names {
		before[name] = load(name)
	}
	for name, value := range unprefixed {
		t.Setenv(name, value)
	}
	for _, name := range names {
		require.Equal(t, before[name], load(name), "%s read a variable without its prefix", name)
	}
}
