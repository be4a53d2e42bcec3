package schema

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// Page selects a window of a listing: Limit rows, after skipping Offset rows or, with After,
// the rows that follow the row After names in the listing's order (keyset pagination: a row
// inserted or removed ahead of the cursor shifts nothing). Both may be given; the API accepts
// one or the other.
type Page struct {
	Limit  int
	Offset int
	// After is the key of the last row of the previous page (its PageKey), "" for none. It must
	// name a row of the listing's scope (the client's, the integration's): anything else is
	// ErrBadCursor. The row may have been changed since; it must still exist.
	After string
}

// ErrBadCursor means a listing's Page.After names no row of the listing: unknown, deleted, or
// another scope's. It is the client's mistake (a 400 on starting_after), never a not-found of
// the resource listed.
var ErrBadCursor = errors.New("the cursor names no row of this listing")

// checkCursor answers ErrBadCursor when a page read with a cursor came back empty and the
// cursor names no row of the listing's scope. Every listing compares rows with its cursor row
// through a subquery, which is NULL (and so selects nothing) for an unknown cursor: only an
// empty page can hide one, and only then is the cursor looked up again (exists, a query
// answering one boolean).
func (s *Store) checkCursor(ctx context.Context, what string, page Page, n int, exists string, args ...any) error {
	if page.After == "" || n > 0 {
		return nil
	}
	var found bool
	if err := s.db.GetContext(ctx, &found, exists, args...); err != nil {
		return translate(err, what)
	}
	if !found {
		return fmt.Errorf("%s: %w", what, ErrBadCursor)
	}
	return nil
}

// uuidCursor refuses a cursor that cannot be a key of a uuid column before the database does
// (an invalid uuid is a 22P02, not an empty page).
func uuidCursor(what string, page Page) error {
	if page.After == "" {
		return nil
	}
	if _, err := uuid.Parse(page.After); err != nil {
		return fmt.Errorf("%s: %w", what, ErrBadCursor)
	}
	return nil
}

// serialCursor reads the cursor of a listing keyed by a bigserial id (0 for none).
func serialCursor(what string, page Page) (int64, error) {
	if page.After == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(page.After, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: %w", what, ErrBadCursor)
	}
	return n, nil
}

// The page keys of listed rows: the id a client passes back as starting_after to read the
// rows that follow. Each is the row's primary key, the one its listing's cursor looks up.

// PageKey is the client id.
func (r ClientRow) PageKey() string { return r.ClientID }

// PageKey is the URN.
func (r MediatorRow) PageKey() string { return r.URN }

// PageKey is the channel id.
func (r ChannelRow) PageKey() string { return r.ID }

// PageKey is the correlation id.
func (r TransactionRow) PageKey() string { return r.CorrelationID }

// PageKey is the audit row's id.
func (r ProviderAuditRow) PageKey() string { return strconv.FormatInt(r.ID, 10) }

// PageKey is the integration id.
func (r IntegrationRow) PageKey() string { return r.ID }

// PageKey is the received webhook's id.
func (r WebhookEventRow) PageKey() string { return r.ID }

// PageKey is the subscription id.
func (r SubscriptionRow) PageKey() string { return r.ID }

// PageKey is the site id.
func (r SiteRow) PageKey() string { return r.ID }

// PageKey is the sync run's id.
func (r SyncRunRow) PageKey() string { return r.ID }

// PageKey is the content id.
func (r ContentRow) PageKey() string { return r.ID }

// PageKey is the sync event's id.
func (r SyncEventRow) PageKey() string { return strconv.FormatInt(r.ID, 10) }
