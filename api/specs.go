package api

import (
	"fmt"
	"mime"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/switchyard-hub/switchyard/schema"
)

// ClientSpec is a client as the admin API and the demo seed take it: the original mediator's
// shape {client_id, name, client_secret, allowed_ips, is_active} plus optional permissions,
// roles and rate limit. Absent fields keep their value on update.
type ClientSpec struct {
	ClientID           *string   `json:"client_id"`
	Name               *string   `json:"name"`
	ClientSecret       *string   `json:"client_secret"`
	AllowedIPs         *[]string `json:"allowed_ips"`
	Permissions        *[]string `json:"permissions"`
	Roles              *[]string `json:"roles"`
	RateLimitPerMinute *int      `json:"rate_limit_per_minute"`
	IsActive           *bool     `json:"is_active"`
}

// MediatorSpec is a mediator: {urn, name, version, endpoint_url, is_online}.
type MediatorSpec struct {
	URN         *string `json:"urn"`
	Name        *string `json:"name"`
	Version     *string `json:"version"`
	EndpointURL *string `json:"endpoint_url"`
	IsOnline    *bool   `json:"is_online"`
}

// ChannelSpec is a channel: the original shape {name, description, path_pattern, methods,
// requires_request_body, request_content_type, request_body_example, channel_type, priority,
// is_active, mediator_urn} plus optional timeout, retry policy, escalation and access lists.
type ChannelSpec struct {
	Name                  *string          `json:"name"`
	Description           *string          `json:"description"`
	PathPattern           *string          `json:"path_pattern"`
	Methods               *[]string        `json:"methods"`
	RequiresRequestBody   *bool            `json:"requires_request_body"`
	RequestContentType    *string          `json:"request_content_type"`
	RequestBodyExample    *string          `json:"request_body_example"`
	ChannelType           *string          `json:"channel_type"`
	Kind                  *string          `json:"kind"`
	Priority              *int             `json:"priority"`
	IsActive              *bool            `json:"is_active"`
	MediatorURN           *string          `json:"mediator_urn"`
	Timeout               *string          `json:"timeout"`
	RetryPolicy           *RetryPolicySpec `json:"retry_policy"`
	HonoursIdempotencyKey *bool            `json:"honours_idempotency_key"`
	EscalateOnFailure     *bool            `json:"escalate_on_failure"`
	AllowedClients        *[]string        `json:"allowed_clients"`
	AllowedRoles          *[]string        `json:"allowed_roles"`
}

// RetryPolicySpec is a channel's retry policy; durations are Go durations ("500ms", "30s").
type RetryPolicySpec struct {
	MaxAttempts        *int     `json:"max_attempts"`
	InitialInterval    *string  `json:"initial_interval"`
	BackoffCoefficient *float64 `json:"backoff_coefficient"`
	MaxInterval        *string  `json:"max_interval"`
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
	namePattern     = regexp.MustCompile(`^[^\x00-\x1f]{1,200}$`)
	tokenPattern    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	knownMethods    = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
		"DELETE": true, "OPTIONS": true}
)

const (
	minSecretLength = 8
	maxListLength   = 100
	maxTextLength   = 10000
)

// applyClient validates spec and writes it onto row. A new client needs client_id and name.
func applyClient(spec ClientSpec, row *schema.ClientRow, creating bool) error {
	if creating {
		if spec.ClientID == nil || !clientIDPattern.MatchString(*spec.ClientID) {
			return fieldError("client_id", "required: 1-128 letters, digits or ._:@-")
		}
		row.ClientID = *spec.ClientID
		if spec.Name == nil {
			return fieldError("name", "required")
		}
		row.IsActive = true
	} else if spec.ClientID != nil && *spec.ClientID != row.ClientID {
		return fieldError("client_id", "cannot be changed")
	}
	if err := setText(&row.Name, spec.Name, "name", namePattern); err != nil {
		return err
	}
	if spec.ClientSecret != nil {
		if n := len(*spec.ClientSecret); n < minSecretLength || n > maxSecretLength {
			return fieldError("client_secret", fmt.Sprintf("must be %d to %d bytes", minSecretLength, maxSecretLength))
		}
	}
	if spec.AllowedIPs != nil {
		for _, entry := range *spec.AllowedIPs {
			if !validIPEntry(entry) {
				return fieldError("allowed_ips", fmt.Sprintf("%q is neither an IP address nor a CIDR", entry))
			}
		}
	}
	for field, list := range map[string]*[]string{"allowed_ips": spec.AllowedIPs, "permissions": spec.Permissions,
		"roles": spec.Roles} {
		if err := checkList(field, list); err != nil {
			return err
		}
	}
	if spec.RateLimitPerMinute != nil && (*spec.RateLimitPerMinute < 0 || *spec.RateLimitPerMinute > 1_000_000) {
		return fieldError("rate_limit_per_minute", "must be 0 (no limit) to 1000000")
	}
	setList(&row.AllowedIPs, spec.AllowedIPs)
	setList(&row.Permissions, spec.Permissions)
	setList(&row.Roles, spec.Roles)
	setValue(&row.RateLimitPerMinute, spec.RateLimitPerMinute)
	setValue(&row.IsActive, spec.IsActive)
	return nil
}

// applyMediator validates spec and writes it onto row. A new mediator needs urn, name and endpoint_url.
func applyMediator(spec MediatorSpec, row *schema.MediatorRow, creating bool) error {
	if creating {
		if spec.URN == nil || !namePattern.MatchString(*spec.URN) || strings.Contains(*spec.URN, "/") {
			return fieldError("urn", "required: 1-200 characters, no slash")
		}
		row.URN = *spec.URN
		if spec.Name == nil {
			return fieldError("name", "required")
		}
		if spec.EndpointURL == nil {
			return fieldError("endpoint_url", "required")
		}
		row.IsOnline = true
	} else if spec.URN != nil && *spec.URN != row.URN {
		return fieldError("urn", "cannot be changed")
	}
	if err := setText(&row.Name, spec.Name, "name", namePattern); err != nil {
		return err
	}
	if spec.Version != nil && len(*spec.Version) > 64 {
		return fieldError("version", "must be at most 64 characters")
	}
	if spec.EndpointURL != nil {
		u, err := url.Parse(*spec.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*spec.EndpointURL) > 2000 {
			return fieldError("endpoint_url", "must be an absolute http or https URL")
		}
	}
	setValue(&row.Version, spec.Version)
	setValue(&row.EndpointURL, spec.EndpointURL)
	setValue(&row.IsOnline, spec.IsOnline)
	return nil
}

// applyChannel validates spec and writes it onto row. A new channel needs name, path_pattern,
// methods and mediator_urn.
func applyChannel(spec ChannelSpec, row *schema.ChannelRow, creating bool) error {
	if creating {
		for field, missing := range map[string]bool{"name": spec.Name == nil, "path_pattern": spec.PathPattern == nil,
			"methods": spec.Methods == nil, "mediator_urn": spec.MediatorURN == nil} {
			if missing {
				return fieldError(field, "required")
			}
		}
		row.IsActive, row.Kind, row.ChannelType = true, schema.ChannelKindHTTP, "http"
		row.RetryMaxAttempts, row.RetryInitialIntervalMS, row.RetryBackoffCoefficient = 3, 1000, 2
		row.RetryMaxIntervalMS = 30000
	}
	if err := setText(&row.Name, spec.Name, "name", namePattern); err != nil {
		return err
	}
	if spec.PathPattern != nil {
		if _, err := compilePattern(*spec.PathPattern); err != nil {
			return fieldError("path_pattern", err.Error())
		}
		if reserved(*spec.PathPattern) {
			return fieldError("path_pattern", "belongs to the hub's own routes")
		}
	}
	var methods []string
	if spec.Methods != nil {
		if len(*spec.Methods) == 0 {
			return fieldError("methods", "at least one method is required")
		}
		for _, m := range *spec.Methods {
			up := strings.ToUpper(strings.TrimSpace(m))
			if !knownMethods[up] {
				return fieldError("methods", fmt.Sprintf("%q is not an HTTP method", m))
			}
			methods = append(methods, up)
		}
	}
	if spec.RequestContentType != nil && *spec.RequestContentType != "" && !validMediaType(*spec.RequestContentType) {
		return fieldError("request_content_type", "must be a media type such as application/json")
	}
	if spec.ChannelType != nil && *spec.ChannelType != "http" && *spec.ChannelType != "https" {
		return fieldError("channel_type", "must be http or https")
	}
	if spec.Kind != nil && *spec.Kind != schema.ChannelKindHTTP {
		return fieldError("kind", "only http channels are available in this release")
	}
	if spec.MediatorURN != nil && !namePattern.MatchString(*spec.MediatorURN) {
		return fieldError("mediator_urn", "must be 1-200 characters")
	}
	for field, text := range map[string]*string{"description": spec.Description,
		"request_body_example": spec.RequestBodyExample} {
		if text != nil && len(*text) > maxTextLength {
			return fieldError(field, fmt.Sprintf("must be at most %d characters", maxTextLength))
		}
	}
	if spec.Priority != nil && (*spec.Priority < -1_000_000 || *spec.Priority > 1_000_000) {
		return fieldError("priority", "must be between -1000000 and 1000000")
	}
	if spec.Timeout != nil {
		ms, err := durationMS("timeout", *spec.Timeout, time.Hour)
		if err != nil {
			return err
		}
		row.TimeoutMS = ms
	}
	if err := applyRetry(spec.RetryPolicy, row); err != nil {
		return err
	}
	for field, list := range map[string]*[]string{"allowed_clients": spec.AllowedClients, "allowed_roles": spec.AllowedRoles} {
		if err := checkList(field, list); err != nil {
			return err
		}
	}
	if methods != nil {
		row.Methods = methods
	}
	setValue(&row.PathPattern, spec.PathPattern)
	setValue(&row.Description, spec.Description)
	setValue(&row.RequiresRequestBody, spec.RequiresRequestBody)
	setValue(&row.RequestContentType, spec.RequestContentType)
	setValue(&row.RequestBodyExample, spec.RequestBodyExample)
	setValue(&row.ChannelType, spec.ChannelType)
	setValue(&row.Kind, spec.Kind)
	setValue(&row.Priority, spec.Priority)
	setValue(&row.IsActive, spec.IsActive)
	setValue(&row.MediatorURN, spec.MediatorURN)
	setValue(&row.HonoursIdempotencyKey, spec.HonoursIdempotencyKey)
	setValue(&row.EscalateOnFailure, spec.EscalateOnFailure)
	setList(&row.AllowedClients, spec.AllowedClients)
	setList(&row.AllowedRoles, spec.AllowedRoles)
	return nil
}

func applyRetry(spec *RetryPolicySpec, row *schema.ChannelRow) error {
	if spec == nil {
		return nil
	}
	if spec.MaxAttempts != nil {
		if *spec.MaxAttempts < 1 || *spec.MaxAttempts > 100 {
			return fieldError("retry_policy.max_attempts", "must be 1 to 100")
		}
		row.RetryMaxAttempts = *spec.MaxAttempts
	}
	if spec.InitialInterval != nil {
		ms, err := durationMS("retry_policy.initial_interval", *spec.InitialInterval, time.Hour)
		if err != nil {
			return err
		}
		row.RetryInitialIntervalMS = ms
	}
	if spec.BackoffCoefficient != nil {
		if *spec.BackoffCoefficient < 1 || *spec.BackoffCoefficient > 100 {
			return fieldError("retry_policy.backoff_coefficient", "must be 1 to 100")
		}
		row.RetryBackoffCoefficient = *spec.BackoffCoefficient
	}
	if spec.MaxInterval != nil {
		ms, err := durationMS("retry_policy.max_interval", *spec.MaxInterval, 24*time.Hour)
		if err != nil {
			return err
		}
		row.RetryMaxIntervalMS = ms
	}
	if row.RetryMaxIntervalMS > 0 && row.RetryMaxIntervalMS < row.RetryInitialIntervalMS {
		return fieldError("retry_policy.max_interval", "must not be shorter than initial_interval")
	}
	return nil
}

func durationMS(field, v string, limit time.Duration) (int, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > limit {
		return 0, fieldError(field, fmt.Sprintf("must be a duration such as 500ms or 30s, at most %s", limit))
	}
	return int(d / time.Millisecond), nil
}

func setText(dst *string, v *string, field string, pattern *regexp.Regexp) error {
	if v == nil {
		return nil
	}
	if !pattern.MatchString(*v) {
		return fieldError(field, "must be 1-200 printable characters")
	}
	*dst = *v
	return nil
}

func setValue[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setList(dst *pq.StringArray, v *[]string) {
	if v != nil {
		*dst = append(pq.StringArray{}, *v...)
	}
}

func checkList(field string, list *[]string) error {
	if list == nil {
		return nil
	}
	if len(*list) > maxListLength {
		return fieldError(field, fmt.Sprintf("at most %d entries", maxListLength))
	}
	for _, v := range *list {
		if field != "allowed_ips" && !tokenPattern.MatchString(v) && !clientIDPattern.MatchString(v) {
			return fieldError(field, fmt.Sprintf("%q must be 1-64 letters, digits or ._:-", v))
		}
	}
	return nil
}

func validIPEntry(s string) bool {
	if strings.Contains(s, "/") {
		_, _, err := net.ParseCIDR(s)
		return err == nil
	}
	return net.ParseIP(s) != nil
}

func validMediaType(s string) bool {
	mt, _, err := mime.ParseMediaType(s)
	return err == nil && strings.Contains(mt, "/") && len(s) <= 200
}
