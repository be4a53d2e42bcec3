package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// SyncCheckpoint is where a pull stands. It is stored with every page it follows (in the same
// transaction) and recorded as the chunk's heartbeat, so an attempt that dies resumes after the
// last page it applied.
type SyncCheckpoint struct {
	// ContentTypes are the types the pull reads, in order; TypeIndex the one it is in.
	ContentTypes []string `json:"content_types"`
	TypeIndex    int      `json:"type_index"`
	// Cursor is the next page of the type ("" for its first).
	Cursor string `json:"cursor"`
	// Ended: the type's pages are all applied; its sweep of deleted items may be pending.
	Ended bool `json:"ended,omitempty"`
	// Seq is how many pages the run applied: the next page is Seq+1.
	Seq int `json:"seq"`
	// FullPass: every item is read (no since, no status filter), so what the pass did not see
	// was deleted at the site.
	FullPass bool `json:"full_pass"`
	// Chain is the workflow execution (its first run's id) that wrote the checkpoint: a reset
	// ignores another execution's place.
	Chain string `json:"chain,omitempty"`
}

// done reports whether every type has been read.
func (c SyncCheckpoint) done() bool { return c.TypeIndex >= len(c.ContentTypes) }

// SyncPullInput is one chunk of a pull.
type SyncPullInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	// ContentTypes are read in order, unless the run's checkpoint names its own.
	ContentTypes []string
	Since        *time.Time `json:",omitempty"`
	// Status keeps only the items in this status (a filter: no deletions are swept).
	Status string `json:",omitempty"`
	// Reset ignores a checkpoint another execution (Chain) left.
	Reset bool
	Chain string
	// ChunkPages is how many pages this chunk applies at most.
	ChunkPages int
}

// SyncPullResult is where a chunk left the pull.
type SyncPullResult struct {
	Checkpoint SyncCheckpoint
	Done       bool
	// Counts are the run's, as the content store has them.
	Counts schema.SyncCounts
	// Pages is how many pages this chunk applied.
	Pages int
	// ContentType is the type the pull is in (the last one when done).
	ContentType string
	// Failed counts the items this chunk could not store (too large, no id), each recorded as
	// a failed sync event.
	Failed int
}

// pageApplyTimeout bounds the write of a page already fetched when the chunk is canceled: the
// page is applied, not fetched again.
const pageApplyTimeout = 30 * time.Second

// SyncPull applies up to ChunkPages pages of the site's content to the content store, each
// page with its checkpoint in one transaction, and heartbeats the checkpoint after each. It
// starts from the later of its heartbeat (a retried attempt) and the run's stored checkpoint,
// so no page is applied twice and a page is fetched twice only when an attempt died between
// fetching and applying it. When a type's pages end on a full pass, the items the pass did not
// see are marked deleted, once the site has been asked for the first hundred of them (one it
// still has is kept: a listing that shifted while it was paged skips items). The next page is
// fetched while the current one is written. A canceled chunk (a pause) stops at the next page
// boundary.
func (a *Activities) SyncPull(ctx context.Context, in SyncPullInput) (SyncPullResult, error) {
	if in.SyncID == "" || in.IntegrationID == "" || in.ClientID == "" || in.ChunkPages < 1 ||
		in.ChunkPages > maxSyncChunkPages {
		return SyncPullResult{}, classify(&InvalidRequestError{Reason: "sync, integration, client and 1 to 1000 chunk pages are required"})
	}
	st := a.Sites.Store
	run, err := st.GetSyncRun(ctx, in.SyncID)
	if err != nil {
		return SyncPullResult{}, classifyStore(err)
	}
	if run.IntegrationID != in.IntegrationID || !transaction.SyncActive(run.Status) {
		return SyncPullResult{}, classify(&InvalidRequestError{Reason: "sync run " + in.SyncID + " is not an active run of the integration"})
	}
	s, err := a.openSite(ctx, in.IntegrationID, in.ClientID)
	if err != nil {
		return SyncPullResult{}, classifySite(err)
	}
	p := &puller{a: a, in: in, client: s.client, counts: run.SyncCounts, cp: resumePoint(ctx, in, run)}
	if in.Since != nil {
		p.since = *in.Since
	}
	return p.run(ctx)
}

// resumePoint is where a chunk starts: the later of the attempt's heartbeat and the stored
// checkpoint (written with the last page applied). A reset ignores a checkpoint another
// execution left. Pages are numbered on from the run's count of applied pages, which the store
// checks a page's Seq against.
func resumePoint(ctx context.Context, in SyncPullInput, run schema.SyncRunRow) SyncCheckpoint {
	var cp SyncCheckpoint
	if len(run.Checkpoint) > 0 && json.Unmarshal(run.Checkpoint, &cp) != nil {
		cp = SyncCheckpoint{}
	}
	if len(cp.ContentTypes) > 0 && in.Reset && cp.Chain != in.Chain {
		cp = SyncCheckpoint{}
	}
	cp.Seq = run.Pages
	var hb SyncCheckpoint
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &hb) == nil && len(hb.ContentTypes) > 0 &&
		hb.Seq == run.Pages {
		// The same page as the store's, maybe further on (a type swept since).
		cp = hb
	}
	if len(cp.ContentTypes) == 0 {
		cp = SyncCheckpoint{ContentTypes: in.ContentTypes, Seq: run.Pages, FullPass: in.Since == nil && in.Status == "",
			Chain: in.Chain}
	}
	return cp
}

// puller runs one chunk of a pull.
type puller struct {
	a      *Activities
	in     SyncPullInput
	client platform.SiteClient
	since  time.Time
	cp     SyncCheckpoint
	counts schema.SyncCounts
	pages  int
	failed int
	// prefetched is the page being read ahead (SYNC_FETCH_AHEAD): its type and cursor, and
	// where it arrives.
	prefetched *fetch
}

// fetch is one page being read.
type fetch struct {
	contentType, cursor string
	done                chan fetched
}

type fetched struct {
	page platform.SitePage
	err  error
}

func (p *puller) run(ctx context.Context) (SyncPullResult, error) {
	fctx, stop := context.WithCancel(ctx)
	defer stop() // a page read ahead and not wanted any more
	beat := heartbeatEvery(ctx)
	for !p.cp.done() {
		typ := p.cp.ContentTypes[p.cp.TypeIndex]
		if p.cp.Ended {
			if err := p.sweep(ctx, typ); err != nil {
				return p.result(), err
			}
			continue
		}
		if p.pages >= p.in.ChunkPages {
			break
		}
		if err := ctx.Err(); err != nil {
			return p.result(), err
		}
		f := p.prefetched
		if f == nil || f.contentType != typ || f.cursor != p.cp.Cursor {
			f = p.fetch(fctx, typ, p.cp.Cursor)
		}
		p.prefetched = nil
		got, err := p.await(ctx, f, beat)
		if err != nil {
			return p.result(), err
		}
		page := got.page
		if page.Next != "" && page.Next == p.cp.Cursor {
			return p.result(), classify(&InvalidRequestError{Reason: "the site answered the same page again (cursor " +
				truncateText(page.Next, 64) + ")"})
		}
		if p.a.Config.SyncFetchAhead && page.Next != "" && p.pages+1 < p.in.ChunkPages {
			p.prefetched = p.fetch(fctx, typ, page.Next)
		}
		if err := p.apply(ctx, page); err != nil {
			return p.result(), err
		}
		activity.RecordHeartbeat(ctx, p.cp)
	}
	return p.result(), nil
}

// fetch starts reading one page.
func (p *puller) fetch(ctx context.Context, contentType, cursor string) *fetch {
	f := &fetch{contentType: contentType, cursor: cursor, done: make(chan fetched, 1)}
	go func() {
		page, err := p.client.List(ctx, contentType, cursor, p.since)
		f.done <- fetched{page: page, err: err}
	}()
	return f
}

// await waits for a page, heartbeating meanwhile (a slow site is not a dead worker, and a
// pause reaches the chunk through the heartbeat's answer).
func (p *puller) await(ctx context.Context, f *fetch, beat time.Duration) (fetched, error) {
	t := time.NewTicker(beat)
	defer t.Stop()
	for {
		select {
		case got := <-f.done:
			if got.err != nil {
				if ctx.Err() != nil {
					return got, ctx.Err()
				}
				return got, classifySite(got.err)
			}
			return got, nil
		case <-t.C:
			activity.RecordHeartbeat(ctx, p.cp)
		case <-ctx.Done():
			return fetched{}, ctx.Err()
		}
	}
}

// apply writes one page with the checkpoint after it, even when the chunk was canceled
// meanwhile: the page was fetched, and fetching it again would cost the site a call.
func (p *puller) apply(ctx context.Context, page platform.SitePage) error {
	next := p.cp
	next.Seq++
	if page.Next == "" {
		next.Cursor, next.Ended = "", true
	} else {
		next.Cursor = page.Next
	}
	items := make([]schema.ContentItem, 0, len(page.Items))
	typ := p.cp.ContentTypes[p.cp.TypeIndex]
	failed := 0
	for _, it := range page.Items {
		if p.in.Status != "" && it.Status != p.in.Status {
			continue
		}
		if it.Type == "" {
			it.Type = typ
		}
		if reason := unstorable(it); reason != "" {
			// One item the store cannot keep must not fail the sync: it is counted (with the
			// page, so once) and logged.
			failed++
			if err := p.a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: p.in.IntegrationID,
				ClientID: p.in.ClientID, SyncRunID: p.in.SyncID, EventType: SyncEventContent, Action: SyncActionFailed,
				ExternalID: truncateText(it.ExternalID, 256), ErrorMessage: reason},
				map[string]any{"content_type": it.Type}); err != nil {
				return classifyStore(err)
			}
			continue
		}
		items = append(items, contentItem(it))
	}
	cp, err := json.Marshal(next)
	if err != nil {
		return classify(&InvalidRequestError{Reason: "checkpoint: " + err.Error()})
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pageApplyTimeout)
	defer cancel()
	counts, err := p.a.Sites.Store.ApplyContentPage(wctx, p.in.IntegrationID, p.in.ClientID, schema.ContentPage{
		RunID: p.in.SyncID, Seq: next.Seq, Items: items, Checkpoint: cp, Failed: failed})
	if err != nil {
		return classifyStore(err)
	}
	p.cp, p.counts = next, counts
	p.pages++
	p.failed += failed
	return nil
}

// sweep ends a type whose pages are all applied: on a full pass, the items it did not see are
// marked deleted (again harmlessly after a retry: they are no longer live), once the site has
// been asked for the first of them (verifySweep).
func (p *puller) sweep(ctx context.Context, contentType string) error {
	if p.cp.FullPass {
		check, err := p.verifySweep(ctx, contentType)
		if err != nil {
			return err
		}
		st := p.a.Sites.Store
		n, err := st.SweepDeleted(ctx, p.in.IntegrationID, p.in.SyncID, contentType)
		if err != nil {
			return classifyStore(err)
		}
		if err := p.noteUnchecked(ctx, contentType, check, n); err != nil {
			return err
		}
		run, err := st.GetSyncRun(ctx, p.in.SyncID)
		if err != nil {
			return classifyStore(err)
		}
		p.counts = run.SyncCounts
	}
	p.cp.TypeIndex++
	p.cp.Cursor, p.cp.Ended = "", false
	activity.RecordHeartbeat(ctx, p.cp)
	return nil
}

// sweepVerifyLimit is how many of a type's sweep candidates are asked of the site one by one
// before a sweep. A listing that shifted while it was paged (an item deleted at the site moves
// the later ones up a page) skips a few items that are still there; more candidates than this
// is a mass deletion at the site, and the rest are swept unasked.
const sweepVerifyLimit = 100

// sweepCheck is what verifySweep found.
type sweepCheck struct {
	// Checked candidates were asked of the site; Kept of them it still has.
	Checked, Kept int
	// Unchecked: more candidates were left than were asked about, or the site refused to
	// answer for single items (Refusal).
	Unchecked bool
	Refusal   string
}

// verifySweep asks the site for up to sweepVerifyLimit of the type's sweep candidates: an
// item it still has is stored as it is now (seen by the run: not swept), one it does not have
// (or has in the trash, which WordPress does not list) is left to the sweep. A site that is
// unavailable fails the attempt (retried: the sweep starts over, with the items kept so far
// no longer candidates); one that refuses to answer for single items stops the checks, and
// the rest is swept as the pass found it.
func (p *puller) verifySweep(ctx context.Context, contentType string) (sweepCheck, error) {
	st := p.a.Sites.Store
	candidates, err := st.SweepCandidates(ctx, p.in.IntegrationID, p.in.SyncID, contentType, sweepVerifyLimit+1)
	if err != nil {
		return sweepCheck{}, classifyStore(err)
	}
	check := sweepCheck{Unchecked: len(candidates) > sweepVerifyLimit}
	beat := func() { activity.RecordHeartbeat(ctx, p.cp) }
	for _, c := range candidates[:min(len(candidates), sweepVerifyLimit)] {
		if err := ctx.Err(); err != nil {
			return check, err
		}
		item, err := whileBeating(ctx, beat, func() (platform.SiteItem, error) {
			return p.client.Get(ctx, c.ContentType, c.ExternalID)
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return check, ctx.Err()
		case err != nil && temporarySite(err):
			return check, classifySite(err)
		case err != nil && !errors.Is(err, platform.ErrSiteItemNotFound):
			check.Unchecked, check.Refusal = true, truncateText(err.Error(), 300)
			return check, nil
		}
		check.Checked++
		if err != nil || item.Status == "trash" {
			continue // not at the site: left to the sweep
		}
		if item.Type == "" {
			item.Type = c.ContentType
		}
		if item.ExternalID == "" {
			item.ExternalID = c.ExternalID
		}
		if unstorable(item) != "" {
			// As the pass itself would have done: an item the store cannot keep loses its row.
			continue
		}
		if _, _, err := st.UpsertContent(ctx, p.in.IntegrationID, p.in.ClientID, p.in.SyncID, contentItem(item)); err != nil {
			return check, classifyStore(err)
		}
		check.Kept++
		beat()
	}
	return check, nil
}

// noteUnchecked records, when a sweep marked items deleted that the site was not asked about
// (a mass deletion, or a site that refused single items), a sync event saying how many.
func (p *puller) noteUnchecked(ctx context.Context, contentType string, c sweepCheck, swept int) error {
	unchecked := swept - (c.Checked - c.Kept)
	if !c.Unchecked || unchecked <= 0 {
		return nil
	}
	details := map[string]any{"content_type": contentType, "deleted": swept, "checked": c.Checked, "kept": c.Kept,
		"unchecked": unchecked, "reason": fmt.Sprintf("more than %d items of the type were not seen by the full pass: "+
			"the first were checked at the site one by one, the rest deleted unchecked", sweepVerifyLimit)}
	if c.Refusal != "" {
		details["reason"] = "the site refused to answer for single items: " + c.Refusal
	}
	activity.GetLogger(ctx).Warn("Sweeping content the site was not asked about", "sync_id", p.in.SyncID,
		"content_type", contentType, "unchecked", unchecked)
	return classifyStore(p.a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: p.in.IntegrationID,
		ClientID: p.in.ClientID, SyncRunID: p.in.SyncID, EventType: SyncEventSync, Action: SyncActionDeleted, Success: true},
		details))
}

func (p *puller) result() SyncPullResult {
	res := SyncPullResult{Checkpoint: p.cp, Done: p.cp.done(), Counts: p.counts, Pages: p.pages, Failed: p.failed}
	if n := len(p.cp.ContentTypes); n > 0 {
		res.ContentType = p.cp.ContentTypes[min(p.cp.TypeIndex, n-1)]
	}
	return res
}

// maxContentKey bounds an item's external id, type, status and URL in the content store.
const maxContentKey = 8 << 10

// unstorable says why the content store cannot keep an item ("" when it can).
func unstorable(it platform.SiteItem) string {
	switch {
	case it.ExternalID == "" || len(it.ExternalID) > maxContentKey:
		return fmt.Sprintf("the site gave an item without an id, or with one over %d bytes", maxContentKey)
	case len(it.Type) > maxContentKey || len(it.Status) > maxContentKey || len(it.URL) > maxContentKey:
		return fmt.Sprintf("the item's type, status or URL is over %d bytes", maxContentKey)
	case len(it.Title) > schema.MaxContentTitleBytes || len(it.Body) > schema.MaxContentBodyBytes:
		return fmt.Sprintf("the item is too large for the content store (title up to %d bytes, body up to %d)",
			schema.MaxContentTitleBytes, schema.MaxContentBodyBytes)
	}
	return ""
}

// whileBeating runs fn, heartbeating with beat (when not nil) until it returns: a slow site is
// not a dead worker, and a pause reaches the activity through a heartbeat's answer (fn watches
// ctx itself).
func whileBeating[T any](ctx context.Context, beat func(), fn func() (T, error)) (T, error) {
	if beat == nil {
		return fn()
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	t := time.NewTicker(heartbeatEvery(ctx))
	defer t.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-t.C:
			beat()
		}
	}
}

// heartbeatEvery is how often a chunk heartbeats while it waits: well within its heartbeat
// timeout (the SDK sends at most one heartbeat per 80 % of it anyway).
func heartbeatEvery(ctx context.Context) time.Duration {
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		return max(hb/4, 50*time.Millisecond)
	}
	return 5 * time.Second
}

// SyncPushInput is one chunk of a push: content changed in the hub, sent to the site.
type SyncPushInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	// MaxItems bounds the items this chunk sends.
	MaxItems int
}

// SyncPushResult counts what a chunk pushed, and whether anything is left.
type SyncPushResult struct {
	Pushed int
	Failed int
	Done   bool
	// Counts are the run's, as the content store has them (pushes included).
	Counts schema.SyncCounts
}

// pushProgress is a push chunk's heartbeat: its counts and the items the site refused.
type pushProgress struct {
	Pushed, Failed int
	Refused        []string
}

// Push limits: dirty rows read at a time, and refusals after which a push stops (the rest stay
// dirty for a later sync).
const (
	pushBatch       = 50
	maxPushRefusals = 100
)

// SyncPush sends up to MaxItems of the content changed in the hub to the site, oldest first:
// each item is Put (created when it has no external id) and marked pushed with what the site
// now holds. An item the site refuses is counted failed, with a sync event, and not sent again
// by this chunk; a site that is unavailable fails the attempt, to be retried (items already
// pushed are no longer dirty). Done is set when nothing is left to send, or when the chunk
// pushed nothing.
func (a *Activities) SyncPush(ctx context.Context, in SyncPushInput) (SyncPushResult, error) {
	if in.SyncID == "" || in.IntegrationID == "" || in.ClientID == "" || in.MaxItems < 1 {
		return SyncPushResult{}, classify(&InvalidRequestError{Reason: "sync, integration, client and max items are required"})
	}
	s, err := a.openSite(ctx, in.IntegrationID, in.ClientID)
	if err != nil {
		return SyncPushResult{}, classifySite(err)
	}
	var prog pushProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prog)
	}
	refused := map[string]bool{}
	for _, id := range prog.Refused {
		refused[id] = true
	}
	result := func(done bool) SyncPushResult {
		return SyncPushResult{Pushed: prog.Pushed, Failed: prog.Failed, Done: done}
	}
	finish := func(done bool) (SyncPushResult, error) {
		res := result(done)
		run, err := a.Sites.Store.GetSyncRun(ctx, in.SyncID)
		if err != nil {
			return res, classifyStore(err)
		}
		res.Counts = run.SyncCounts
		return res, nil
	}
	sent := 0
	for sent < in.MaxItems {
		if len(refused) >= maxPushRefusals {
			return finish(true)
		}
		if err := ctx.Err(); err != nil {
			return result(false), err
		}
		rows, err := a.Sites.Store.DirtyContents(ctx, in.IntegrationID, len(refused)+pushBatch)
		if err != nil {
			return result(false), classifyStore(err)
		}
		todo := rows[:0]
		for _, r := range rows {
			if !refused[r.ID] {
				todo = append(todo, r)
			}
		}
		if len(todo) == 0 {
			return finish(true)
		}
		for _, row := range todo[:min(len(todo), in.MaxItems-sent)] {
			if err := ctx.Err(); err != nil {
				return result(false), err
			}
			refusal, err := a.pushOne(ctx, s.client, in.SyncID, row, func() { activity.RecordHeartbeat(ctx, prog) })
			if err != nil {
				return result(false), err
			}
			sent++
			if refusal == nil {
				prog.Pushed++
			} else {
				prog.Failed++
				refused[row.ID] = true
				prog.Refused = append(prog.Refused, row.ID)
			}
			activity.RecordHeartbeat(ctx, prog)
		}
	}
	return finish(prog.Pushed == 0)
}

// pushOne sends one content row to the site and records it pushed, heartbeating with beat
// (when not nil) while the site answers. A Put once sent is finished, and recorded, even when
// the chunk is canceled meanwhile (a pause): the site may have created the item, and a row
// left without its external id would be created again after resume. A refusal is a result
// (refused, recorded with a failed sync event and counted failed in the run); an unavailable
// site or store is an error.
func (a *Activities) pushOne(ctx context.Context, client platform.SiteClient, runID string, row schema.ContentRow,
	beat func()) (refused error, err error) {
	start := time.Now()
	// The Put and what records it run to their end under the site's timeout, not the chunk's.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.siteTimeout()+pageApplyTimeout)
	defer cancel()
	got, err := whileBeating(ctx, beat, func() (platform.SiteItem, error) {
		tctx, cancel := context.WithTimeout(pctx, a.siteTimeout())
		defer cancel()
		return client.Put(tctx, platform.SiteItem{ExternalID: row.ExternalID, Type: row.ContentType, Title: row.Title,
			Body: row.Body, Status: row.Status, URL: row.URL})
	})
	if err != nil {
		if temporarySite(err) || errors.Is(err, context.Canceled) {
			return nil, classifySite(err)
		}
		return err, classifyStore(a.Sites.Store.RecordSyncFailure(pctx, schema.SyncEventRow{IntegrationID: row.IntegrationID,
			ClientID: row.ClientID, SyncRunID: runID, EventType: SyncEventContent, Action: SyncActionPushed,
			ContentID: row.ID, ExternalID: row.ExternalID, ErrorMessage: truncateText(err.Error(), maxSyncEventError),
			DurationMS: float64(time.Since(start).Microseconds()) / 1000}))
	}
	if got.Type == "" {
		got.Type = row.ContentType
	}
	// The site holds the item now: recording it is tried a few times here, because a retried
	// attempt would create a second copy of an item that had no external id. A write that
	// keeps failing leaves the row dirty, and fails the attempt.
	var werr error
	for try := range 3 {
		wctx, cancel := context.WithTimeout(pctx, pageApplyTimeout)
		werr = a.Sites.Store.MarkPushed(wctx, row.ID, runID, contentItem(got), row.ContentHash)
		cancel()
		if werr == nil || errors.Is(werr, schema.ErrNotFound) {
			// Pushed (a row deleted in the hub meanwhile has nothing left to record).
			return nil, nil
		}
		if errors.Is(werr, schema.ErrInvalidContent) {
			// The site answered without an id the store can keep: pushing again cannot help.
			return werr, classifyStore(a.Sites.Store.RecordSyncFailure(pctx, schema.SyncEventRow{
				IntegrationID: row.IntegrationID, ClientID: row.ClientID, SyncRunID: runID, EventType: SyncEventContent,
				Action: SyncActionPushed, ContentID: row.ID, ErrorMessage: truncateText(werr.Error(), maxSyncEventError)}))
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	return nil, classify(werr)
}

// siteTimeout is SITE_TIMEOUT, or its default.
func (a *Activities) siteTimeout() time.Duration {
	if a.Config.SiteTimeout > 0 {
		return a.Config.SiteTimeout
	}
	return defaultSiteTimeout
}
