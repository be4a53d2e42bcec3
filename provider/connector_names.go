package provider

// Connectors (seed 003): issuers of the provider stack configured as enterprise connectors,
// from the environment variables with their prefix (PAYMENTS_, ERP_; see LoadConnector).
const (
	// IssuerPayments is the payment connector: a Stripe-shaped payment provider.
	IssuerPayments = "payments"
	// IssuerERP is the ERP connector: a generic REST ERP with API-key auth.
	IssuerERP = "erp"
)

// Connectors lists the connectors, in the order the status routes name them.
var Connectors = []string{IssuerPayments, IssuerERP}

// Operation keys of the connectors (the keys of their uri maps and the permissions a client
// needs to call them).
const (
	OpPaymentChargeCreate          = "payment_charge_create"
	OpPaymentChargeGet             = "payment_charge_get"
	OpPaymentRefundCreate          = "payment_refund_create"
	OpPaymentMethodCreate          = "payment_method_create"
	OpPaymentSubscriptionCreate    = "payment_subscription_create"
	OpPaymentSubscriptionCancel    = "payment_subscription_cancel"     // at period end
	OpPaymentSubscriptionCancelNow = "payment_subscription_cancel_now" // at once
	OpERPEntityCreate              = "erp_entity_create"
	OpERPEntityUpdate              = "erp_entity_update"
	OpERPEntityDelete              = "erp_entity_delete"
)
