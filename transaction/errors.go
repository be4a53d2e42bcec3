package transaction

// Error codes: what a transaction's result and log row carry when the hub got no usable answer
// (clients branch on them; the API maps each to an HTTP status).
const (
	// ErrorCodeUpstreamUnavailable: the channel's upstream failed or could not be reached.
	ErrorCodeUpstreamUnavailable = "UPSTREAM_UNAVAILABLE"
	// ErrorCodeUpstreamTimeout: the upstream did not answer within the channel's timeout.
	ErrorCodeUpstreamTimeout = "UPSTREAM_TIMEOUT"
	// ErrorCodeUpstreamTooLarge: the upstream's answer exceeded MAX_UPSTREAM_RESPONSE_BYTES.
	ErrorCodeUpstreamTooLarge = "UPSTREAM_RESPONSE_TOO_LARGE"
	// ErrorCodeChannelMisconfigured: the channel cannot forward as configured.
	ErrorCodeChannelMisconfigured = "CHANNEL_MISCONFIGURED"
	// ErrorCodeAborted: an operator gave up on an escalated transaction.
	ErrorCodeAborted = "ABORTED_BY_OPERATOR"

	// ErrorCodeProviderUnavailable: the issuer's provider failed or could not be reached.
	ErrorCodeProviderUnavailable = "PROVIDER_UNAVAILABLE"
	// ErrorCodeProviderTimeout: the provider did not answer within the issuer's timeout.
	ErrorCodeProviderTimeout = "PROVIDER_TIMEOUT"
	// ErrorCodeCircuitOpen: the issuer's circuit breaker refused the call.
	ErrorCodeCircuitOpen = "PROVIDER_CIRCUIT_OPEN"
	// ErrorCodeProviderMisconfigured: the hub cannot call the issuer as configured.
	ErrorCodeProviderMisconfigured = "PROVIDER_MISCONFIGURED"
	// ErrorCodeProviderInvalidResponse: the provider's answer does not match the operation.
	ErrorCodeProviderInvalidResponse = "PROVIDER_INVALID_RESPONSE"
	// ErrorCodeProviderResponseTooLarge: the provider's answer exceeded
	// PROVIDER_MAX_RESPONSE_BYTES; it was refused and the provider not asked again.
	ErrorCodeProviderResponseTooLarge = "PROVIDER_RESPONSE_TOO_LARGE"

	// ErrorCodeDeclined: the card switch declined the transfer (its ISO code is in the result).
	ErrorCodeDeclined = "DECLINED"
	// ErrorCodeReversed: the transfer's outcome was unknown and it was reversed (or the
	// reversal did not complete).
	ErrorCodeReversed = "TRANSFER_REVERSED"
	// ErrorCodeISOUnavailable: the switch could not be reached; nothing was sent.
	ErrorCodeISOUnavailable = "SWITCH_UNAVAILABLE"
	// ErrorCodeTransferInDoubt: an earlier run of the same transfer (same key) did not finish
	// and its history is gone: nothing is sent again; an operator checks the switch.
	ErrorCodeTransferInDoubt = "TRANSFER_IN_DOUBT"
	// ErrorCodeOperationInDoubt: an earlier run of the same operation (same key) did not finish
	// and its history is gone: the provider is not called again.
	ErrorCodeOperationInDoubt = "OPERATION_IN_DOUBT"
	// ErrorCodePlatformError: the messaging platform refused the message.
	ErrorCodePlatformError = "PLATFORM_ERROR"
	// ErrorCodePlatformUnavailable: the messaging platform failed or rate-limited every attempt.
	ErrorCodePlatformUnavailable = "PLATFORM_UNAVAILABLE"
	// ErrorCodeISOInvalid: the message could not be built, packed or read.
	ErrorCodeISOInvalid = "ISO_INVALID_MESSAGE"
	// ErrorCodeSyncRunning: a sync of the integration is already running (or paused).
	ErrorCodeSyncRunning = "SYNC_RUNNING"
	// ErrorCodeSiteUnavailable: the site (WordPress, Shopify, custom) failed or rate-limited
	// every attempt.
	ErrorCodeSiteUnavailable = "SITE_UNAVAILABLE"
	// ErrorCodeSiteRejected: the site refused the request (credentials, a missing item, a 4xx).
	ErrorCodeSiteRejected = "SITE_REJECTED"
)

// Error types of the Temporal application errors activities return. Workflows name them in
// NonRetryableErrorTypes and test them with ApplicationError.Type(); they are strings on
// purpose (a wrapped Go error's type name is not stable).
const (
	// ErrTypeInvalidInput fails a workflow started with input it cannot act on.
	ErrTypeInvalidInput = "InvalidWorkflowInput"

	// ErrTypeInvalidRequest: the request or its configuration can never succeed as it is.
	ErrTypeInvalidRequest = "InvalidRequest"
	// ErrTypeIdempotencyKeyReused: the log already holds another request (another kind, or
	// another fingerprint) under this correlation id: an Idempotency-Key reused for a different
	// request. Not retried; the API answers 422.
	ErrTypeIdempotencyKeyReused = "IdempotencyKeyReused"
	// ErrTypeNotFound: a row the activity needs does not exist.
	ErrTypeNotFound = "NotFound"
	// ErrTypeStore: PostgreSQL failed; retried.
	ErrTypeStore = "StoreUnavailable"

	// ErrTypeUpstreamUnreachable: the connection failed before anything was sent.
	ErrTypeUpstreamUnreachable = "UpstreamUnreachable"
	// ErrTypeUpstreamFailed: the connection broke after the request may have been sent.
	ErrTypeUpstreamFailed = "UpstreamFailed"
	// ErrTypeUpstreamTimeout: the upstream did not answer within the channel's timeout.
	ErrTypeUpstreamTimeout = "UpstreamTimeout"
	// ErrTypeUpstreamStatus: the upstream answered 502, 503 or 504.
	ErrTypeUpstreamStatus = "UpstreamStatus"
	// ErrTypeResponseTooLarge: the upstream's answer exceeded MAX_UPSTREAM_RESPONSE_BYTES.
	ErrTypeResponseTooLarge = "ResponseTooLarge"

	// ErrTypeProviderUnavailable: unreachable, connection broken, 429 or 5xx. Retried.
	ErrTypeProviderUnavailable = "ProviderUnavailable"
	// ErrTypeProviderTimeout: no answer within the issuer's timeout. Retried.
	ErrTypeProviderTimeout = "ProviderTimeout"
	// ErrTypeCircuitOpen: the issuer's circuit breaker refused the call. Not retried: fail fast.
	ErrTypeCircuitOpen = "CircuitOpen"
	// ErrTypeProviderMisconfigured: the hub cannot call this issuer as configured (no base URL,
	// missing auth headers, credentials refused). Not retried.
	ErrTypeProviderMisconfigured = "ProviderMisconfigured"
	// ErrTypeProviderInvalidResponse: the provider's answer does not match the operation. Not retried.
	ErrTypeProviderInvalidResponse = "ProviderInvalidResponse"
	// ErrTypeProviderResponseTooLarge: the provider's answer, or the typed response made from
	// it, exceeded PROVIDER_MAX_RESPONSE_BYTES. Not retried: a workflow cannot carry it.
	ErrTypeProviderResponseTooLarge = "ProviderResponseTooLarge"

	// ErrTypeISOUnavailable: nothing was sent (no signed-on connection, breaker open). Retried.
	ErrTypeISOUnavailable = "ISOUnavailable"
	// ErrTypeOutcomeUnknown: the message may have been processed; never resent, reversed.
	ErrTypeOutcomeUnknown = "OutcomeUnknown"
	// ErrTypeISOInvalid: the message cannot be built or packed. Not retried.
	ErrTypeISOInvalid = "ISOInvalid"
	// ErrTypeReversalRefused: the switch answered a reversal with a code other than 00. Retried.
	ErrTypeReversalRefused = "ReversalRefused"

	// ErrTypePlatformUnavailable: a messaging platform answered 429 or 5xx, or could not be
	// reached. Retried, after the platform's own retry-after when it gave one.
	ErrTypePlatformUnavailable = "PlatformUnavailable"
	// ErrTypePlatformRejected: a messaging platform refused the message (4xx). Not retried.
	ErrTypePlatformRejected = "PlatformRejected"
	// ErrTypeSubscriberUnavailable: a subscription's endpoint did not answer 2xx. Retried
	// within DELIVERY_RETRY_BUDGET, after its Retry-After when it gave one.
	ErrTypeSubscriberUnavailable = "SubscriberUnavailable"
	// ErrTypeSubscriptionDisabled: the subscription is disabled or gone; nothing is sent.
	ErrTypeSubscriptionDisabled = "SubscriptionDisabled"

	// ErrTypeSiteUnavailable: a site answered 429 or 5xx, or could not be reached. Retried,
	// after the site's Retry-After when it gave one.
	ErrTypeSiteUnavailable = "SiteUnavailable"
	// ErrTypeSiteRejected: a site refused the request (401/403, 404, another 4xx). Not retried.
	ErrTypeSiteRejected = "SiteRejected"
	// ErrTypeSyncBusy: another sync of the integration holds its slot. Not retried.
	ErrTypeSyncBusy = "SyncBusy"
)
