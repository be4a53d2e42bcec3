package provider

import (
	"strings"

	"github.com/kelseyhightower/envconfig"
)

// EnvVar is a variable a configuration struct is read from, as envconfig derives it: Name is
// read with the prefix, Fallback (an envconfig tag) as it is when Name is unset.
type EnvVar struct{ Name, Fallback string }

// IssuerEnv lists the variables Load reads for an issuer with prefix.
func IssuerEnv(prefix string) []EnvVar { return envVars(prefix, &fromEnv{}) }

// ConnectorEnv lists the variables LoadConnector reads for a connector with prefix, the ERP's
// own included.
func ConnectorEnv(prefix string) []EnvVar {
	return append(envVars(prefix, &connectorEnv{}), envVars(prefix, &erpEnv{})...)
}

// LimitsEnv lists the variables every issuer reads without a prefix.
func LimitsEnv() []EnvVar { return envVars("", &limitsEnv{}) }

func envVars(prefix string, spec any) []EnvVar {
	var b strings.Builder
	if err := envconfig.Usagef(prefix, spec, &b, "{{range .}}{{usage_key .}} {{.Alt}}\n{{end}}"); err != nil {
		panic(err)
	}
	var out []EnvVar
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		name, fallback, _ := strings.Cut(line, " ")
		out = append(out, EnvVar{Name: name, Fallback: fallback})
	}
	return out
}
