package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- subscriptions --------------------------------------------------------------------------

// maxSubscriptionItems is how many items a subscription may have.
const maxSubscriptionItems = 20

func (p *Payments) createSubscription(c *payCall) payAnswer {
	f := c.form
	customer := f.Get("customer")
	if customer == "" {
		return missingParam("customer")
	}
	if len(customer) > maxIdempotencyKey {
		return invalidString("customer", "Invalid customer: it can be at most 255 characters long.")
	}
	items, fail, ok := subscriptionItems(f)
	if !ok {
		return fail
	}
	meta, fail, ok := metadata(f)
	if !ok {
		return fail
	}
	sub := &subscription{ID: payID("sub"), Object: "subscription", Status: subscriptionActive, Created: c.now.Unix(),
		Customer: customer, Metadata: meta, Items: itemList{Object: "list", Data: items}}
	sub.startPeriod(c.now)
	p.subs[sub.ID] = sub
	p.stats.SubscriptionsCreated++
	return payOK(sub)
}

// subscriptionItems reads items[i][price] and items[i][quantity], in index order.
func subscriptionItems(f map[string][]string) ([]subscriptionItem, payAnswer, bool) {
	type raw struct{ price, quantity string }
	byIndex := map[int]*raw{}
	for k, vs := range f {
		rest, ok := strings.CutPrefix(k, "items[")
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= maxSubscriptionItems || (field != "[price]" && field != "[quantity]") {
			return nil, invalidString("items", "Invalid items: give items[i][price] and items[i][quantity], i from 0 to 19."), false
		}
		if byIndex[i] == nil {
			byIndex[i] = &raw{}
		}
		if field == "[price]" {
			byIndex[i].price = vs[0]
		} else {
			byIndex[i].quantity = vs[0]
		}
	}
	if len(byIndex) == 0 {
		return nil, missingParam("items"), false
	}
	indexes := make([]int, 0, len(byIndex))
	for i := range byIndex {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	items := make([]subscriptionItem, 0, len(indexes))
	for _, i := range indexes {
		it, name := byIndex[i], "items["+strconv.Itoa(i)+"]"
		if it.price == "" {
			return nil, missingParam(name + "[price]"), false
		}
		pr, ok := prices[it.price]
		if !ok {
			return nil, resourceMissing(http.StatusBadRequest, name+"[price]", "price", it.price), false
		}
		quantity := int64(1)
		if it.quantity != "" {
			n, err := strconv.ParseInt(it.quantity, 10, 64)
			if err != nil || n < 1 || n > 10000 {
				return nil, invalidInteger(name+"[quantity]", it.quantity), false
			}
			quantity = n
		}
		items = append(items, subscriptionItem{ID: payID("si"), Quantity: quantity, Price: pr})
	}
	return items, payAnswer{}, true
}

// startPeriod starts a billing period at now: one interval of the first item's price.
func (s *subscription) startPeriod(now time.Time) {
	r := s.Items.Data[0].Price.Recurring
	end := now.AddDate(0, r.IntervalCount, 0)
	if r.Interval == "year" {
		end = now.AddDate(r.IntervalCount, 0, 0)
	}
	s.CurrentPeriodStart, s.CurrentPeriodEnd = now.Unix(), end.Unix()
}

// cancel ends s at now.
func (s *subscription) cancel(now time.Time) {
	at := now.Unix()
	s.Status, s.EndedAt = subscriptionCanceled, &at
	if s.CanceledAt == nil {
		s.CanceledAt = &at
	}
}

func (p *Payments) updateSubscription(c *payCall) payAnswer {
	id := c.r.PathValue("id")
	sub, ok := p.subs[id]
	if !ok {
		return resourceMissing(http.StatusNotFound, "id", "subscription", id)
	}
	var cancelAtEnd *bool
	if c.form.Has("cancel_at_period_end") {
		v, err := strconv.ParseBool(c.form.Get("cancel_at_period_end"))
		if err != nil {
			return invalidString("cancel_at_period_end", "Invalid boolean: "+strconv.Quote(truncate(c.form.Get("cancel_at_period_end"), 20)))
		}
		cancelAtEnd = &v
	}
	meta, fail, ok := metadata(c.form)
	if !ok {
		return fail
	}
	if sub.Status == subscriptionCanceled && cancelAtEnd != nil {
		return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "subscription_canceled",
			Message: "A canceled subscription can only update its metadata.", Param: "cancel_at_period_end"}, nil)
	}
	if cancelAtEnd != nil {
		sub.CancelAtPeriodEnd = *cancelAtEnd
		sub.CanceledAt = nil
		if *cancelAtEnd {
			at := c.now.Unix()
			sub.CanceledAt = &at
		}
	}
	for k, v := range meta {
		sub.Metadata[k] = v
	}
	if len(sub.Metadata) > maxMetadataKeys {
		for k := range meta {
			delete(sub.Metadata, k)
		}
		return invalidString("metadata", "Metadata can have up to 50 keys.")
	}
	return payOK(sub)
}

// cancelSubscription cancels at once; a subscription already canceled is answered as it is.
func (p *Payments) cancelSubscription(c *payCall) payAnswer {
	id := c.r.PathValue("id")
	sub, ok := p.subs[id]
	if !ok {
		return resourceMissing(http.StatusNotFound, "id", "subscription", id)
	}
	if sub.Status == subscriptionCanceled {
		return payOK(sub)
	}
	sub.cancel(c.now)
	return payOK(sub, p.event("customer.subscription.deleted", sub.ID, sub, c.now))
}

// endPeriod handles POST /_sim/payments/subscriptions/{id}/end_period: the current period ends
// now, ending a subscription set to cancel at period end, else starting its next period.
func (p *Payments) endPeriod(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	sub, ok := p.subs[id]
	if !ok {
		p.mu.Unlock()
		writePayError(w, http.StatusNotFound, stripeError{Type: errInvalidRequest, Code: "resource_missing",
			Message: "No such subscription: '" + truncate(id, 100) + "'", Param: "id"})
		return
	}
	if sub.Status == subscriptionCanceled {
		p.mu.Unlock()
		writePayError(w, http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "subscription_canceled",
			Message: "The subscription is canceled: it has no period to end."})
		return
	}
	now := p.now()
	var events []*pendingEvent
	if sub.CancelAtPeriodEnd {
		sub.cancel(now)
		events = append(events, p.event("customer.subscription.deleted", sub.ID, sub, now))
	} else {
		sub.startPeriod(now)
	}
	body, err := json.Marshal(sub)
	p.mu.Unlock()
	if err != nil {
		writePayError(w, http.StatusInternalServerError, stripeError{Type: errAPI, Message: "the simulator could not encode its answer"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
	p.dispatch(events)
}
