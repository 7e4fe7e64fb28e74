package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// Webhooks: banks, merchants and the operator subscribe HTTPS endpoints to
// events (README "Webhooks"). An event is written in the transaction of the
// change that causes it (emit), once, and queued in webhook_outbox for
// every live subscription whose owner may see its object; the delivery
// worker (package webhook) posts each subscription's queue in order.

// Webhook event types.
const (
	WebhookMailboxFileReady = "mailbox.file_ready"
	WebhookCapAlarm         = "participant.cap_alarm"
	WebhookReviewDecided    = "review.decided"
	WebhookPayoutSettled    = "payout.settled"
	webhookPaymentPrefix    = "payment." // + clearing.EventType: payment.held, payment.released, …
)

// WebhookEventTypes are the types a subscription may ask for.
var WebhookEventTypes = []string{
	WebhookMailboxFileReady,
	WebhookCapAlarm,
	WebhookReviewDecided,
	WebhookPayoutSettled,
	webhookPaymentPrefix + string(clearing.EventHeld),
	webhookPaymentPrefix + string(clearing.EventPartiallyReleased),
	webhookPaymentPrefix + string(clearing.EventReleased),
	webhookPaymentPrefix + string(clearing.EventAutoReleased),
	webhookPaymentPrefix + string(clearing.EventDisputed),
	webhookPaymentPrefix + string(clearing.EventRefunded),
	webhookPaymentPrefix + string(clearing.EventResolvedRelease),
	webhookPaymentPrefix + string(clearing.EventResolvedRefund),
}

// Subscription statuses.
const (
	WebhookActive  = "active"
	WebhookPaused  = "paused" // after too many consecutive failures; resumed through the API
	WebhookDeleted = "deleted"
)

// ErrNoWebhook is an unknown subscription, or one the caller may not see.
var ErrNoWebhook = clearing.Errorf(clearing.NotFound, "webhook_not_found", "id", "no such webhook subscription")

// WebhookSubscription is a subscription with its delivery state. Secret is
// set only in the answer to its creation.
type WebhookSubscription struct {
	ID         string
	Owner      clearing.Actor
	URL        string
	Secret     string
	EventTypes []string // empty: every type
	Status     string
	Failures   int // consecutive failed attempts
	LastError  string
	CreatedBy  string
	CreatedAt  time.Time
	PausedAt   time.Time
	DeletedAt  time.Time
	Delivered  int64
	Pending    int64
}

type webhookSubRow struct {
	bun.BaseModel `bun:"table:webhook_subscriptions,alias:ws"`
	ID            string       `bun:"id,pk"`
	OwnerRole     string       `bun:"owner_role"`
	OwnerSubject  string       `bun:"owner_subject"`
	URL           string       `bun:"url"`
	Secret        string       `bun:"secret"`
	EventTypes    string       `bun:"event_types"`
	Status        string       `bun:"status"`
	Failures      int          `bun:"failures"`
	LastError     string       `bun:"last_error"`
	CreatedBy     string       `bun:"created_by"`
	CreatedAt     time.Time    `bun:"created_at"`
	PausedAt      bun.NullTime `bun:"paused_at"`
	DeletedAt     bun.NullTime `bun:"deleted_at"`
	LeasedUntil   bun.NullTime `bun:"leased_until"`
}

func (r webhookSubRow) owner() clearing.Actor {
	return clearing.Actor{Role: clearing.Role(r.OwnerRole), Subject: r.OwnerSubject}
}

func (r webhookSubRow) wants(typ string) bool {
	return r.EventTypes == "" || slices.Contains(strings.Split(r.EventTypes, ","), typ)
}

type webhookEventRow struct {
	bun.BaseModel `bun:"table:webhook_events,alias:we"`
	ID            string    `bun:"id,pk"`
	Type          string    `bun:"type"`
	ObjectID      string    `bun:"object_id"`
	Payload       string    `bun:"payload"`
	CreatedAt     time.Time `bun:"created_at"`
}

type webhookOutboxRow struct {
	bun.BaseModel  `bun:"table:webhook_outbox,alias:wo"`
	ID             int64        `bun:"id,pk,autoincrement"`
	SubscriptionID string       `bun:"subscription_id"`
	EventID        string       `bun:"event_id"`
	Attempts       int          `bun:"attempts"`
	NextAttemptAt  time.Time    `bun:"next_attempt_at"`
	DeliveredAt    bun.NullTime `bun:"delivered_at"`
	LastError      string       `bun:"last_error"`
}

type webhookAttemptRow struct {
	bun.BaseModel `bun:"table:webhook_attempts,alias:wa"`
	ID            int64     `bun:"id,pk,autoincrement"`
	OutboxID      int64     `bun:"outbox_id"`
	Attempt       int       `bun:"attempt"`
	At            time.Time `bun:"at"`
	StatusCode    int       `bun:"status_code"`
	Error         string    `bun:"error"`
	DurationMS    int64     `bun:"duration_ms"`
}

// webhookEvent is an event about to be emitted: who may see it decides
// which subscriptions get it.
type webhookEvent struct {
	Type     string
	ObjectID string
	Data     any
	visible  func(clearing.Actor) bool
}

// emit writes events and queues them, inside tx (the transaction of the
// change they announce). An event no subscription may see is not kept.
// Nothing here touches the network.
func (s *Store) emit(ctx context.Context, tx bun.Tx, now time.Time, evs []webhookEvent) error {
	if len(evs) == 0 {
		return nil
	}
	var subs []webhookSubRow
	if err := tx.NewSelect().Model(&subs).Column("id", "owner_role", "owner_subject", "event_types").
		Where("deleted_at IS NULL").OrderExpr("id").Scan(ctx); err != nil {
		return fmt.Errorf("load webhook subscriptions: %w", err)
	}
	if len(subs) == 0 {
		return nil
	}
	var events []webhookEventRow
	var queued []webhookOutboxRow
	for _, e := range evs {
		id := ""
		for _, sub := range subs {
			if !sub.wants(e.Type) || !e.visible(sub.owner()) {
				continue
			}
			if id == "" {
				id = newWebhookID("evt_")
				body, err := json.Marshal(map[string]any{"id": id, "type": e.Type, "created_at": now.UTC().Format(time.RFC3339Nano), "data": e.Data})
				if err != nil {
					return fmt.Errorf("webhook event %s: %w", e.Type, err)
				}
				events = append(events, webhookEventRow{ID: id, Type: e.Type, ObjectID: e.ObjectID, Payload: string(body), CreatedAt: now})
			}
			queued = append(queued, webhookOutboxRow{SubscriptionID: sub.ID, EventID: id, NextAttemptAt: now})
		}
	}
	if len(events) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&events).Exec(ctx); err != nil {
		return fmt.Errorf("insert webhook events: %w", err)
	}
	// Both engines number the rows of a multi-row INSERT in the order of
	// its VALUES: the worker delivers a subscription's queue in id order,
	// which is the order of the events.
	for len(queued) > 0 {
		n := min(len(queued), 1000)
		chunk := queued[:n]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return fmt.Errorf("queue webhook events: %w", err)
		}
		queued = queued[n:]
	}
	return nil
}

// paymentWebhookData is what a payment event carries.
type paymentWebhookData struct {
	PaymentID      string `json:"payment_id"`
	EndToEndID     string `json:"end_to_end_id,omitempty"`
	Reference      string `json:"reference,omitempty"`
	Seq            int    `json:"seq"`
	Event          string `json:"event"`
	From           string `json:"from,omitempty"`
	To             string `json:"to"`
	AmountMinor    int64  `json:"amount_minor"`
	Currency       string `json:"currency"`
	State          string `json:"state"`
	ReleasedMinor  int64  `json:"released_minor"`
	RefundedMinor  int64  `json:"refunded_minor"`
	BuyerBankID    string `json:"buyer_bank_id"`
	MerchantID     string `json:"merchant_id"`
	MerchantBankID string `json:"merchant_bank_id"`
	Reason         string `json:"reason,omitempty"`
	At             string `json:"at"`
}

// paymentWebhookEvents are the webhook events of booked transitions: one
// per payment event, seen by whoever may see the payment.
func paymentWebhookEvents(ts []clearing.Transition) []webhookEvent {
	var out []webhookEvent
	for _, t := range ts {
		p := t.Payment
		for _, e := range t.Events {
			if e.Type == clearing.EventReceived {
				continue
			}
			out = append(out, webhookEvent{Type: webhookPaymentPrefix + string(e.Type), ObjectID: p.ID, visible: func(a clearing.Actor) bool { return a.CanSee(p) },
				Data: paymentWebhookData{PaymentID: p.ID, EndToEndID: p.EndToEndID, Reference: p.Reference, Seq: e.Seq, Event: string(e.Type),
					From: string(e.From), To: string(e.To), AmountMinor: e.AmountMinor, Currency: p.Currency, State: string(p.State),
					ReleasedMinor: p.ReleasedMinor, RefundedMinor: p.RefundedMinor, BuyerBankID: p.BuyerBankID, MerchantID: p.MerchantID,
					MerchantBankID: p.MerchantBankID, Reason: e.Reason, At: e.At.UTC().Format(time.RFC3339Nano)}})
		}
	}
	return out
}

// payoutWebhookEvents announce that a merchant's payout of a cycle has
// reached its bank: the bank's net position in that currency is settled
// (or, being zero, settled with the cycle). One event per merchant of the
// bank released to in that cycle and currency; the merchant, its bank and
// the operator see it.
func payoutWebhookEvents(ctx context.Context, tx bun.Tx, cycleID int64, bank, currency string, at time.Time) ([]webhookEvent, error) {
	var rows []struct {
		MerchantID  string `bun:"merchant_id"`
		AmountMinor int64  `bun:"amount_minor"`
		Payments    int    `bun:"payments"`
	}
	err := tx.NewRaw(`SELECT p.merchant_id, SUM(po.amount_minor) AS amount_minor, COUNT(DISTINCT po.payment_id) AS payments
		FROM postings AS po JOIN payments AS p ON p.id = po.payment_id
		WHERE po.cycle_id = ? AND po.kind = ? AND po.credit = ? AND po.currency = ?
		GROUP BY p.merchant_id ORDER BY p.merchant_id`, cycleID, clearing.PostRelease, bank, currency).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("payouts of %s %s in cycle %d: %w", bank, currency, cycleID, err)
	}
	out := make([]webhookEvent, len(rows))
	for i, r := range rows {
		merchant := r.MerchantID
		out[i] = webhookEvent{Type: WebhookPayoutSettled, ObjectID: fmt.Sprintf("%d/%s", cycleID, merchant),
			visible: func(a clearing.Actor) bool {
				return a.Role == clearing.RoleOperator || (a.Role == clearing.RoleBank && a.Subject == bank) ||
					(a.Role == clearing.RoleMerchant && a.Subject == merchant)
			},
			Data: map[string]any{"cycle_id": cycleID, "merchant_id": merchant, "bank_id": bank, "currency": currency,
				"amount_minor": r.AmountMinor, "payments": r.Payments, "settled_at": at.UTC().Format(time.RFC3339Nano)}}
	}
	return out, nil
}

// mailboxWebhookEvent announces a file its bank may now download.
func mailboxWebhookEvent(f mailboxFileRow) webhookEvent {
	return webhookEvent{Type: WebhookMailboxFileReady, ObjectID: f.ID,
		visible: func(a clearing.Actor) bool {
			return a.Role == clearing.RoleOperator || (a.Role == clearing.RoleBank && a.Subject == f.BankID)
		},
		Data: map[string]any{"file_id": f.ID, "bank_id": f.BankID, "kind": f.Kind, "size": f.Size, "sha256": f.SHA256}}
}

// capAlarmEvents are the alarms a batch of holds raises: a buyer's bank
// whose debit in a currency crossed its alarm threshold (alarm_threshold_pct
// of the net debit cap) upwards in this batch. Its bank and the operator
// see it.
func (h *holding) capAlarmEvents(accepted []clearing.Transition) []webhookEvent {
	delta := positions{}
	for _, t := range accepted {
		delta.apply(t.Postings)
	}
	var out []webhookEvent
	for _, d := range h.debitedCaps(accepted) {
		before := d.usage
		before.NetMinor -= delta[positionKey{d.bank.ID, d.usage.Currency}].net()
		if d.usage.Alarm(d.bank.AlarmThresholdPct) && !before.Alarm(d.bank.AlarmThresholdPct) {
			out = append(out, capAlarmEvent(d.bank.ID, d.bank.AlarmThresholdPct, d.usage))
		}
	}
	return out
}

// capAlarmEvent says bank's debit in u's currency reached its alarm
// threshold; the bank and the operator see it.
func capAlarmEvent(bank string, alarmPct int, u clearing.CapUsage) webhookEvent {
	return webhookEvent{Type: WebhookCapAlarm, ObjectID: bank,
		visible: func(a clearing.Actor) bool {
			return a.Role == clearing.RoleOperator || (a.Role == clearing.RoleBank && a.Subject == bank)
		},
		Data: map[string]any{"participant_id": bank, "currency": u.Currency, "debit_minor": u.DebitMinor(),
			"net_debit_cap_minor": u.CapMinor, "alarm_threshold_pct": alarmPct}}
}

// limitAlarmEvents are the alarms a change of limits raises: a currency
// whose debit was under the alarm threshold and is at or past it under the
// new cap or threshold.
func limitAlarmEvents(bank string, before, after Limits) []webhookEvent {
	was := map[string]bool{}
	for _, u := range before.Usage {
		was[u.Currency] = u.Alarm(before.Participant.AlarmThresholdPct)
	}
	var out []webhookEvent
	for _, u := range after.Usage {
		if u.Alarm(after.Participant.AlarmThresholdPct) && !was[u.Currency] {
			out = append(out, capAlarmEvent(bank, after.Participant.AlarmThresholdPct, u))
		}
	}
	return out
}

// reviewWebhookEvent announces a compliance decision on a payment held for
// review: to the operator, and to the buyer's bank only what GET
// /v1/payments/{id}/screening tells it (status and ISO reason, never the
// matches or the officer's comment).
func reviewWebhookEvent(sc Screening) webhookEvent {
	bank := sc.BuyerBankID
	return webhookEvent{Type: WebhookReviewDecided, ObjectID: sc.PaymentID,
		visible: func(a clearing.Actor) bool {
			return a.Role == clearing.RoleOperator || (a.Role == clearing.RoleBank && a.Subject == bank)
		},
		Data: map[string]any{"screening_id": sc.ID, "payment_id": sc.PaymentID, "status": sc.Status, "iso_reason": sc.ISOReason,
			"buyer_bank_id": bank}}
}

// CreateWebhook subscribes url (checked by the caller) to types (empty:
// every type) for by, who owns the subscription: it gets only what by may
// see. The answer carries the secret, which is never shown again.
func (s *Store) CreateWebhook(ctx context.Context, by clearing.Actor, url string, types []string) (WebhookSubscription, error) {
	switch by.Role {
	case clearing.RoleOperator, clearing.RoleBank, clearing.RoleMerchant:
	default:
		return WebhookSubscription{}, clearing.Errorf(clearing.Forbidden, "forbidden", "", "only the operator, banks and merchants subscribe to webhooks")
	}
	for _, t := range types {
		if !slices.Contains(WebhookEventTypes, t) {
			return WebhookSubscription{}, clearing.Errorf(clearing.Invalid, "unknown_event_type", "event_types", "unknown event type %q; want one of %s", t, strings.Join(WebhookEventTypes, ", "))
		}
	}
	var secret [24]byte
	rand.Read(secret[:])
	now := s.now()
	row := webhookSubRow{ID: newWebhookID("wh_"), OwnerRole: string(by.Role), OwnerSubject: by.Subject, URL: url,
		Secret: "whsec_" + base64.StdEncoding.EncodeToString(secret[:]), EventTypes: strings.Join(types, ","),
		Status: WebhookActive, CreatedBy: by.String(), CreatedAt: now}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("add webhook: %w", err)
		}
		return s.audit(ctx, tx, by, "webhook.create", row.ID, url)
	})
	if err != nil {
		return WebhookSubscription{}, err
	}
	sub, err := s.Webhook(ctx, row.ID, by)
	sub.Secret = row.Secret
	return sub, err
}

// Webhooks lists the subscriptions by owns (the operator: every one),
// oldest first.
func (s *Store) Webhooks(ctx context.Context, by clearing.Actor) ([]WebhookSubscription, error) {
	return s.webhooks(ctx, by, "")
}

// Webhook loads one subscription by may see.
func (s *Store) Webhook(ctx context.Context, id string, by clearing.Actor) (WebhookSubscription, error) {
	subs, err := s.webhooks(ctx, by, id)
	if err != nil {
		return WebhookSubscription{}, err
	}
	if len(subs) == 0 {
		return WebhookSubscription{}, ErrNoWebhook
	}
	return subs[0], nil
}

func (s *Store) webhooks(ctx context.Context, by clearing.Actor, id string) ([]WebhookSubscription, error) {
	var rows []webhookSubRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("created_at, id")
	if id != "" {
		q.Where("id = ?", id)
	}
	if by.Role != clearing.RoleOperator {
		q.Where("owner_role = ? AND owner_subject = ?", string(by.Role), by.Subject)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]WebhookSubscription, len(rows))
	for i, r := range rows {
		w := WebhookSubscription{ID: r.ID, Owner: r.owner(), URL: r.URL, Status: r.Status, Failures: r.Failures, LastError: r.LastError,
			CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), PausedAt: r.PausedAt.Time.UTC(), DeletedAt: r.DeletedAt.Time.UTC()}
		if r.EventTypes != "" {
			w.EventTypes = strings.Split(r.EventTypes, ",")
		}
		var counts struct {
			Delivered int64
			Pending   int64
		}
		err := s.conn(ctx).NewRaw(`SELECT COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered,
			COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END), 0) AS pending
			FROM webhook_outbox WHERE subscription_id = ?`, r.ID).Scan(ctx, &counts)
		if err != nil {
			return nil, fmt.Errorf("count deliveries of %s: %w", r.ID, err)
		}
		w.Delivered, w.Pending = counts.Delivered, counts.Pending
		out[i] = w
	}
	return out, nil
}

// changeWebhook applies set to a live subscription by may see, with an
// audit row.
func (s *Store) changeWebhook(ctx context.Context, id string, by clearing.Actor, action string, fn func(tx bun.Tx, row webhookSubRow, now time.Time) error) (WebhookSubscription, error) {
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var row webhookSubRow
		q := tx.NewSelect().Model(&row).Where("id = ? AND deleted_at IS NULL", id)
		if by.Role != clearing.RoleOperator {
			q.Where("owner_role = ? AND owner_subject = ?", string(by.Role), by.Subject)
		}
		if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
			return ErrNoWebhook
		} else if err != nil {
			return fmt.Errorf("load webhook %s: %w", id, err)
		}
		now := s.now()
		if err := fn(tx, row, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, action, id, "")
	})
	if err != nil {
		return WebhookSubscription{}, err
	}
	return s.Webhook(ctx, id, by)
}

// DeleteWebhook ends a subscription: nothing more is queued or sent; its
// log stays.
func (s *Store) DeleteWebhook(ctx context.Context, id string, by clearing.Actor) (WebhookSubscription, error) {
	return s.changeWebhook(ctx, id, by, "webhook.delete", func(tx bun.Tx, _ webhookSubRow, now time.Time) error {
		_, err := tx.NewUpdate().Model((*webhookSubRow)(nil)).Set("status = ?", WebhookDeleted).Set("deleted_at = ?", now).Where("id = ?", id).Exec(ctx)
		return err
	})
}

// ResumeWebhook sends a paused subscription's queue again, at once.
func (s *Store) ResumeWebhook(ctx context.Context, id string, by clearing.Actor) (WebhookSubscription, error) {
	return s.changeWebhook(ctx, id, by, "webhook.resume", func(tx bun.Tx, _ webhookSubRow, now time.Time) error {
		if _, err := tx.NewUpdate().Model((*webhookSubRow)(nil)).Set("status = ?", WebhookActive).Set("failures = 0").Set("paused_at = NULL").
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model((*webhookOutboxRow)(nil)).Set("next_attempt_at = ?", now).
			Where("subscription_id = ? AND delivered_at IS NULL", id).Exec(ctx)
		return err
	})
}

// ReplayWebhook queues again every event the subscription was sent from
// fromEventID on, in their first order and with the same ids, ahead of
// anything not yet delivered (which follows, as before).
func (s *Store) ReplayWebhook(ctx context.Context, id, fromEventID string, by clearing.Actor) (int, error) {
	n := int64(0)
	_, err := s.changeWebhook(ctx, id, by, "webhook.replay", func(tx bun.Tx, _ webhookSubRow, now time.Time) error {
		var from webhookOutboxRow
		err := tx.NewSelect().Model(&from).Where("subscription_id = ? AND event_id = ?", id, fromEventID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return clearing.Errorf(clearing.NotFound, "event_not_found", "from_event_id", "subscription %s never had event %q", id, fromEventID)
		}
		if err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*webhookOutboxRow)(nil)).Set("delivered_at = NULL").Set("next_attempt_at = ?", now).
			Where("subscription_id = ? AND id >= ?", id, from.ID).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// WebhookAttempt is one attempt to deliver an event.
type WebhookAttempt struct {
	EventID    string
	EventType  string
	Attempt    int
	At         time.Time
	StatusCode int // 0 when no answer came
	Error      string
	Duration   time.Duration
}

// WebhookDeliveries is a subscription's delivery log, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, id string, by clearing.Actor, limit int) ([]WebhookAttempt, error) {
	if _, err := s.Webhook(ctx, id, by); err != nil {
		return nil, err
	}
	var rows []struct {
		EventID    string `bun:"event_id"`
		Type       string `bun:"type"`
		Attempt    int
		At         time.Time
		StatusCode int `bun:"status_code"`
		Error      string
		DurationMS int64 `bun:"duration_ms"`
	}
	err := s.conn(ctx).NewRaw(`SELECT o.event_id, e.type, a.attempt, a.at, a.status_code, a.error, a.duration_ms
		FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id JOIN webhook_events e ON e.id = o.event_id
		WHERE o.subscription_id = ? ORDER BY a.id DESC LIMIT ?`, id, limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", id, err)
	}
	out := make([]WebhookAttempt, len(rows))
	for i, r := range rows {
		out[i] = WebhookAttempt{EventID: r.EventID, EventType: r.Type, Attempt: r.Attempt, At: r.At.UTC(), StatusCode: r.StatusCode,
			Error: r.Error, Duration: time.Duration(r.DurationMS) * time.Millisecond}
	}
	return out, nil
}

// The delivery worker's side (package webhook).

// WebhookDue lists the active subscriptions with an event due at now.
func (s *Store) WebhookDue(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := s.db.NewRaw(`SELECT DISTINCT o.subscription_id FROM webhook_outbox o
		JOIN webhook_subscriptions s ON s.id = o.subscription_id
		WHERE o.delivered_at IS NULL AND s.status = ? AND o.next_attempt_at <= ?`, WebhookActive, now).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("find webhook subscriptions with events due: %w", err)
	}
	return ids, nil
}

// WebhookSend is the next event of a subscription's queue, with what it
// takes to send it.
type WebhookSend struct {
	OutboxID       int64
	SubscriptionID string
	URL            string
	Secret         string
	EventID        string
	Payload        []byte
	Attempts       int // made so far
	NextAttemptAt  time.Time
}

// NextWebhook is the oldest undelivered event of an active subscription;
// false when there is none (or the subscription is no longer active).
func (s *Store) NextWebhook(ctx context.Context, id string) (WebhookSend, bool, error) {
	var row struct {
		ID            int64
		URL           string `bun:"url"`
		Secret        string
		EventID       string `bun:"event_id"`
		Payload       string
		Attempts      int
		NextAttemptAt time.Time `bun:"next_attempt_at"`
	}
	err := s.db.NewRaw(`SELECT o.id, s.url, s.secret, o.event_id, e.payload, o.attempts, o.next_attempt_at
		FROM webhook_outbox o JOIN webhook_subscriptions s ON s.id = o.subscription_id JOIN webhook_events e ON e.id = o.event_id
		WHERE o.subscription_id = ? AND o.delivered_at IS NULL AND s.status = ? ORDER BY o.id LIMIT 1`, id, WebhookActive).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookSend{}, false, nil
	}
	if err != nil {
		return WebhookSend{}, false, fmt.Errorf("next webhook of %s: %w", id, err)
	}
	return WebhookSend{OutboxID: row.ID, SubscriptionID: id, URL: row.URL, Secret: row.Secret, EventID: row.EventID,
		Payload: []byte(row.Payload), Attempts: row.Attempts, NextAttemptAt: row.NextAttemptAt.UTC()}, true, nil
}

// RecordWebhookAttempt writes an attempt and its outcome in one
// transaction: delivered (the subscription's failures reset), or retried
// at retryAt; a subscription that has now failed pauseAfter times in a row
// (0: never) is paused. It reports whether it paused it.
func (s *Store) RecordWebhookAttempt(ctx context.Context, send WebhookSend, now time.Time, status int, took time.Duration, sendErr error, retryAt time.Time, pauseAfter int) (bool, error) {
	msg := ""
	if sendErr != nil {
		msg = sendErr.Error()
	}
	paused := false
	attempt := send.Attempts + 1
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		a := webhookAttemptRow{OutboxID: send.OutboxID, Attempt: attempt, At: now, StatusCode: status, Error: msg, DurationMS: took.Milliseconds()}
		if _, err := tx.NewInsert().Model(&a).Exec(ctx); err != nil {
			return fmt.Errorf("record webhook attempt: %w", err)
		}
		q := tx.NewUpdate().Model((*webhookOutboxRow)(nil)).Set("attempts = ?", attempt).Set("last_error = ?", msg).Where("id = ?", send.OutboxID)
		if sendErr != nil {
			q.Set("next_attempt_at = ?", retryAt)
		} else {
			q.Set("delivered_at = ?", now)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("update webhook outbox: %w", err)
		}
		if sendErr == nil {
			_, err := tx.NewUpdate().Model((*webhookSubRow)(nil)).Set("failures = 0").Set("last_error = ''").Where("id = ?", send.SubscriptionID).Exec(ctx)
			return err
		}
		var sub webhookSubRow
		if err := tx.NewSelect().Model(&sub).Column("failures", "status").Where("id = ?", send.SubscriptionID).Scan(ctx); err != nil {
			return err
		}
		u := tx.NewUpdate().Model((*webhookSubRow)(nil)).Set("failures = ?", sub.Failures+1).Set("last_error = ?", msg).Where("id = ?", send.SubscriptionID)
		if pauseAfter > 0 && sub.Failures+1 >= pauseAfter && sub.Status == WebhookActive {
			u.Set("status = ?", WebhookPaused).Set("paused_at = ?", now)
			paused = true
		}
		if _, err := u.Exec(ctx); err != nil {
			return err
		}
		if paused {
			return s.audit(ctx, tx, clearing.Actor{Role: clearing.RoleSystem, Subject: "webhooks"}, "webhook.pause", send.SubscriptionID,
				fmt.Sprintf("%d consecutive failures", sub.Failures+1))
		}
		return nil
	})
	return paused, err
}

// WebhookStats is what the metrics show: events waiting, subscriptions
// failing (their last attempt failed) and paused.
type WebhookStats struct {
	Backlog int64
	Failing int64
	Paused  int64
}

// WebhookStats counts the outbox.
func (s *Store) WebhookStats(ctx context.Context) (WebhookStats, error) {
	var st WebhookStats
	err := s.db.NewRaw(`SELECT
		(SELECT COUNT(*) FROM webhook_outbox o JOIN webhook_subscriptions s ON s.id = o.subscription_id WHERE o.delivered_at IS NULL AND s.deleted_at IS NULL) AS backlog,
		(SELECT COUNT(*) FROM webhook_subscriptions WHERE deleted_at IS NULL AND failures > 0) AS failing,
		(SELECT COUNT(*) FROM webhook_subscriptions WHERE status = ?) AS paused`, WebhookPaused).Scan(ctx, &st)
	return st, err
}

func newWebhookID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
