// Package transaction is the contract every layer of Switchyard shares: the kinds of work the
// hub does, the statuses a transaction goes through, the error codes clients see and the error
// types activities report, the retry policy, the request and response snapshots a workflow
// carries, and the workflow ID of each transaction. It imports nothing of Switchyard's; every
// other package may import it. A new family of workflows adds its kind here.
package transaction

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Kind is a family of work; it is the transactions.kind column, the SwitchyardKind search
// attribute and the first part of the workflow ID.
type Kind = string

// Kinds of transaction.
const (
	// KindProxy is a client request forwarded through a mediator channel.
	KindProxy Kind = "proxy"
	// KindOperation is a typed integration route served by an issuer's provider.
	KindOperation Kind = "operation"
	// KindISO is a card transfer through the ISO 8583 switch.
	KindISO Kind = "iso"
	// KindMessage is a message sent through an integration's messaging platform.
	KindMessage Kind = "message"
	// KindWebhook is an inbound webhook from a platform: verified, normalized, fanned out.
	KindWebhook Kind = "webhook"
	// KindDelivery is one event delivered to one subscription (signed, retried).
	KindDelivery Kind = "delivery"
	// KindSync is one sync of a site integration (WordPress, Shopify, custom) with the hub's
	// content store.
	KindSync Kind = "sync"
	// KindBatch is a batch of provider operations run with bounded concurrency.
	KindBatch Kind = "batch"
	// KindNotification is one emitted event taken through the notification flow (rules,
	// recipients, preferences, channels, templates) into outbox messages.
	KindNotification Kind = "notification"
	// KindOutbox is one outbox message delivered on its channel (SMS, e-mail, push, in-app).
	KindOutbox Kind = "outbox"
)

// Kinds lists the kinds a client polls through the transaction log, in the order a status read
// tries them. Webhooks and deliveries are read through their own routes.
var Kinds = []Kind{KindProxy, KindOperation, KindISO, KindMessage, KindBatch}

// workflowPrefix is each kind's workflow ID prefix. Proxied transactions and operations keep
// the short prefixes their first runs were started under, so a repeat still joins them.
var workflowPrefix = map[Kind]string{KindProxy: "tx", KindOperation: "op", KindISO: "iso",
	KindMessage: "message", KindWebhook: "webhook", KindDelivery: "delivery", KindSync: "sync",
	KindBatch: "batch", KindNotification: "notification", KindOutbox: "outbox"}

// WorkflowID is the workflow ID of a transaction: "<prefix of kind>:<correlation id>"
// (tx:, op:, iso:). The correlation id is a UUID, random or derived from the client and its
// Idempotency-Key, so two transactions never share a workflow.
func WorkflowID(kind Kind, correlationID string) string {
	prefix, ok := workflowPrefix[kind]
	if !ok {
		prefix = kind
	}
	return prefix + ":" + correlationID
}

// LegacyTransferWorkflowID is the ID card transfers were started under before transfer IDs
// followed WorkflowID: "iso:" and a 12-digit hash of the correlation id (which was also their
// RRN). Only reads use it, for transfers recorded before the change.
func LegacyTransferWorkflowID(correlationID string) string {
	sum := sha256.Sum256([]byte(correlationID))
	return fmt.Sprintf("iso:%012d", binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000)
}
