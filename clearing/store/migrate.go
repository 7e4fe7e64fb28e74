package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// migration is one frozen schema step. SQL is shared by both engines; the
// few words that differ are written {ts} (timestamp with time zone),
// {serial} (an auto-incrementing primary key) and {blob} (bytes).
type migration struct {
	Version int64
	Name    string
	SQL     string
}

// migrations are applied in order and never edited once released: add a
// new one instead. Migration 2 (cross-currency payments) adds the FX
// columns of a payment, the quotes and the posted rates, and gives postings
// a leg number: a cross-currency hold or refund books several postings in
// one transition (one event), so (payment, seq) no longer identifies one.
// SQLite cannot change a primary key, so the table is copied. Migration 3
// (exposure and FX results) adds a participant's multi-currency net debit
// cap (its amount and currency, empty for none), who bears a cross-currency
// payment's FX result (empty reads as the operator's fx_result account), a
// closed cycle's FX results per bearer (JSON, like its totals), and an index
// for reloading the rates posted since a time. Migration 4 (ISO 20022
// files) keeps each file a bank uploads, unique per (sender, MsgId), with
// the answer it got, and each bank's mailbox of outbound files: immutable
// bytes with their SHA-256, acknowledged_at the only column that changes.
// Migration 5 (signed files) gives a mailbox file its detached signature
// and sealed_at: a file is written unsigned in the transaction that
// produces it and its bank sees it only once sealed (signed), so nothing
// unsigned leaves while the signer is down; files written before it are
// sealed by the first sealer pass. It also keeps the signature a bank sent
// with an upload, the public keys banks register, whether a bank's
// uploads must be signed, and when a closed cycle's outbound files
// (pacs.009, camt.053, camt.054) were written. Migration 6 (compliance
// screening) keeps every screening decision: the payment it was about
// (its UETR: a payments row exists only once it is held), the lists and
// their content hashes, the parties, matches, score, reasons and flags,
// the amount in the AML base currency and the payer, payee and bank keys
// the velocity and structuring rules count by; for a payment held for
// review, the hold to run on approval and where it came from (to answer
// the bank), then who resolved it, when and why. At most one review per
// UETR is pending. Migration 7 (regulator reports) keeps the
// regulator log: an RFC 6962 Merkle tree (merkle_leaves, one stored hash
// per perfect subtree in merkle_nodes, the head row that appends lock, the
// signed checkpoints by size); each report with its sequence number per
// (jurisdiction, kind), its leaf and its files (signed once sealed); the
// regulators' push endpoints, the push outbox and every delivery attempt;
// and the gateway's access log. Migration 11 (webhooks) keeps the
// subscriptions banks, merchants and the operator register (their owner,
// URL, signing secret, event types, status and consecutive failures), each
// event once (its id is the webhook-id every retry carries), the outbox
// (one row per subscription and event, delivered in id order) and every
// delivery attempt. Migration 14 indexes a payment's reference, which the
// console's operators search by. Migration 12 (console sessions) keeps the web
// console's sign-ins: the SHA-256 of the session cookie (never the cookie),
// the API key it speaks for, its CSRF token, when it was last used (idle
// expiry) and when it ends (absolute expiry); a revoked key ends its
// sessions at once, since every lookup joins the live keys. Migration 13
// (regulator witnesses) keeps the witnesses the operator asks to cosign
// the regulator log's checkpoints (their verifier key and URL, the size
// each last cosigned and when, the retry state and the lease of the
// worker talking to it) and the cosignatures they returned, per
// checkpoint size and witness (the newest one of each). Migration 15 keeps
// the language a console session chose (a BCP 47 tag, empty for none).
// Migration 16 indexes the audit log by (at, id), the order GET /v1/audit
// pages it in, newest first, and narrows it by time.
var migrations = []migration{{Version: 1, Name: "clearing core", SQL: `
CREATE TABLE participants (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	bic          TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	country      TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	status       TEXT NOT NULL,
	created_at   {ts} NOT NULL
);
CREATE INDEX participants_jurisdiction ON participants (jurisdiction);
CREATE TABLE participant_currencies (
	participant_id      TEXT NOT NULL REFERENCES participants (id),
	currency            TEXT NOT NULL,
	net_debit_cap_minor BIGINT NOT NULL,
	PRIMARY KEY (participant_id, currency)
);
CREATE TABLE merchants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	country    TEXT NOT NULL,
	currency   TEXT NOT NULL,
	account    TEXT NOT NULL,
	bank_id    TEXT NOT NULL REFERENCES participants (id),
	status     TEXT NOT NULL,
	created_at {ts} NOT NULL
);
CREATE INDEX merchants_bank ON merchants (bank_id);
CREATE TABLE cycles (
	id         BIGINT PRIMARY KEY,
	state      TEXT NOT NULL,
	opened_at  {ts} NOT NULL,
	closed_at  {ts},
	settled_at {ts},
	closed_by  TEXT NOT NULL DEFAULT '',
	totals     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX cycles_one_open ON cycles (state) WHERE state = 'open';
CREATE TABLE payments (
	id                    TEXT PRIMARY KEY,
	end_to_end_id         TEXT NOT NULL,
	reference             TEXT NOT NULL,
	buyer_bank_id         TEXT NOT NULL REFERENCES participants (id),
	merchant_id           TEXT NOT NULL REFERENCES merchants (id),
	merchant_bank_id      TEXT NOT NULL REFERENCES participants (id),
	buyer_jurisdiction    TEXT NOT NULL,
	merchant_jurisdiction TEXT NOT NULL,
	currency              TEXT NOT NULL,
	amount_minor          BIGINT NOT NULL CHECK (amount_minor > 0),
	released_minor        BIGINT NOT NULL CHECK (released_minor >= 0),
	refunded_minor        BIGINT NOT NULL CHECK (refunded_minor >= 0),
	state                 TEXT NOT NULL,
	release_at            {ts},
	hold_cycle_id         BIGINT NOT NULL REFERENCES cycles (id),
	version               BIGINT NOT NULL,
	created_at            {ts} NOT NULL,
	updated_at            {ts} NOT NULL,
	CHECK (released_minor + refunded_minor <= amount_minor)
);
CREATE INDEX payments_due ON payments (release_at) WHERE state = 'held';
CREATE INDEX payments_buyer_bank ON payments (buyer_bank_id, created_at);
CREATE INDEX payments_merchant_bank ON payments (merchant_bank_id, created_at);
CREATE INDEX payments_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_buyer_jurisdiction ON payments (buyer_jurisdiction, created_at);
CREATE INDEX payments_merchant_jurisdiction ON payments (merchant_jurisdiction, created_at);
CREATE INDEX payments_state ON payments (state, created_at);
CREATE TABLE payment_events (
	payment_id   TEXT NOT NULL REFERENCES payments (id),
	seq          INTEGER NOT NULL,
	type         TEXT NOT NULL,
	from_state   TEXT NOT NULL,
	to_state     TEXT NOT NULL,
	amount_minor BIGINT NOT NULL,
	actor        TEXT NOT NULL,
	reason       TEXT NOT NULL,
	at           {ts} NOT NULL,
	PRIMARY KEY (payment_id, seq)
);
CREATE TABLE postings (
	payment_id   TEXT NOT NULL REFERENCES payments (id),
	seq          INTEGER NOT NULL,
	cycle_id     BIGINT NOT NULL REFERENCES cycles (id),
	kind         TEXT NOT NULL,
	currency     TEXT NOT NULL,
	debit        TEXT NOT NULL,
	credit       TEXT NOT NULL,
	amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
	at           {ts} NOT NULL,
	PRIMARY KEY (payment_id, seq)
);
CREATE INDEX postings_cycle ON postings (cycle_id);
CREATE TABLE positions (
	cycle_id       BIGINT NOT NULL REFERENCES cycles (id),
	owner          TEXT NOT NULL,
	currency       TEXT NOT NULL,
	paid_minor     BIGINT NOT NULL,
	received_minor BIGINT NOT NULL,
	PRIMARY KEY (cycle_id, owner, currency)
);
CREATE TABLE net_positions (
	cycle_id       BIGINT NOT NULL REFERENCES cycles (id),
	owner          TEXT NOT NULL,
	currency       TEXT NOT NULL,
	paid_minor     BIGINT NOT NULL,
	received_minor BIGINT NOT NULL,
	net_minor      BIGINT NOT NULL,
	settled_at     {ts},
	settled_by     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (cycle_id, owner, currency)
);
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at {ts} NOT NULL,
	revoked_at {ts}
);
CREATE TABLE idempotency_keys (
	caller       TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status_code  INTEGER NOT NULL,
	response     TEXT NOT NULL,
	created_at   {ts} NOT NULL,
	PRIMARY KEY (caller, key)
);
CREATE TABLE audit_log (
	id     {serial},
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	detail TEXT NOT NULL,
	at     {ts} NOT NULL
);
`}, {Version: 2, Name: "cross-currency payments", SQL: `
ALTER TABLE payments ADD COLUMN sell_currency TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN sell_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN fee_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN spread_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN converted_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN fx_provider_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN quote_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN fx_rate TEXT NOT NULL DEFAULT '';
CREATE TABLE quotes (
	id              TEXT PRIMARY KEY,
	provider_id     TEXT NOT NULL REFERENCES participants (id),
	bank_id         TEXT NOT NULL REFERENCES participants (id),
	sell_currency   TEXT NOT NULL,
	buy_currency    TEXT NOT NULL,
	total_minor     BIGINT NOT NULL CHECK (total_minor > 0),
	fee_minor       BIGINT NOT NULL CHECK (fee_minor >= 0),
	spread_minor    BIGINT NOT NULL CHECK (spread_minor >= 0),
	converted_minor BIGINT NOT NULL CHECK (converted_minor > 0),
	buy_minor       BIGINT NOT NULL CHECK (buy_minor > 0),
	rate            TEXT NOT NULL,
	mid             TEXT NOT NULL,
	fee_bps         INTEGER NOT NULL,
	spread_bps      INTEGER NOT NULL,
	path            TEXT NOT NULL,
	issued_at       {ts} NOT NULL,
	expires_at      {ts} NOT NULL,
	payment_id      TEXT,
	CHECK (fee_minor + spread_minor + converted_minor = total_minor)
);
CREATE UNIQUE INDEX quotes_payment ON quotes (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX quotes_bank ON quotes (bank_id, issued_at);
CREATE TABLE rates (
	id             {serial},
	source         TEXT NOT NULL,
	base_currency  TEXT NOT NULL,
	quote_currency TEXT NOT NULL,
	bid            TEXT NOT NULL,
	ask            TEXT NOT NULL,
	as_of          {ts} NOT NULL,
	valid_until    {ts} NOT NULL,
	posted_by      TEXT NOT NULL,
	posted_at      {ts} NOT NULL
);
CREATE INDEX rates_valid ON rates (valid_until);
CREATE TABLE postings_v2 (
	payment_id   TEXT NOT NULL REFERENCES payments (id),
	seq          INTEGER NOT NULL,
	leg          INTEGER NOT NULL,
	cycle_id     BIGINT NOT NULL REFERENCES cycles (id),
	kind         TEXT NOT NULL,
	currency     TEXT NOT NULL,
	debit        TEXT NOT NULL,
	credit       TEXT NOT NULL,
	amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
	at           {ts} NOT NULL,
	PRIMARY KEY (payment_id, seq, leg)
);
INSERT INTO postings_v2 (payment_id, seq, leg, cycle_id, kind, currency, debit, credit, amount_minor, at)
	SELECT payment_id, seq, 0, cycle_id, kind, currency, debit, credit, amount_minor, at FROM postings;
DROP TABLE postings;
ALTER TABLE postings_v2 RENAME TO postings;
CREATE INDEX postings_cycle ON postings (cycle_id)
`}, {Version: 3, Name: "exposure and FX results", SQL: `
ALTER TABLE participants ADD COLUMN net_debit_cap_total_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN net_debit_cap_total_currency TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN fx_result_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE cycles ADD COLUMN fx_results TEXT NOT NULL DEFAULT '';
CREATE INDEX rates_posted ON rates (posted_at)
`}, {Version: 4, Name: "ISO 20022 files and mailboxes", SQL: `
CREATE TABLE inbound_files (
	id          TEXT PRIMARY KEY,
	sender      TEXT NOT NULL REFERENCES participants (id),
	msg_id      TEXT NOT NULL,
	message     TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	size        BIGINT NOT NULL,
	status      TEXT NOT NULL,
	accepted    INTEGER NOT NULL,
	rejected    INTEGER NOT NULL,
	reply_id    TEXT NOT NULL,
	result      TEXT NOT NULL,
	received_at {ts} NOT NULL
);
CREATE UNIQUE INDEX inbound_files_msg ON inbound_files (sender, msg_id);
CREATE TABLE mailbox_files (
	id              TEXT PRIMARY KEY,
	bank_id         TEXT NOT NULL REFERENCES participants (id),
	kind            TEXT NOT NULL,
	in_reply_to     TEXT NOT NULL,
	content         {blob} NOT NULL,
	size            BIGINT NOT NULL,
	sha256          TEXT NOT NULL,
	created_at      {ts} NOT NULL,
	acknowledged_at {ts}
);
CREATE INDEX mailbox_files_bank ON mailbox_files (bank_id, created_at)
`}, {Version: 5, Name: "signed files", SQL: `
ALTER TABLE mailbox_files ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE mailbox_files ADD COLUMN sealed_at {ts};
CREATE INDEX mailbox_files_unsealed ON mailbox_files (created_at) WHERE sealed_at IS NULL;
ALTER TABLE inbound_files ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN require_signed_files BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE bank_keys (
	bank_id        TEXT NOT NULL REFERENCES participants (id),
	key_name       TEXT NOT NULL,
	version        BIGINT NOT NULL,
	algorithm      TEXT NOT NULL,
	public_key_pem TEXT NOT NULL,
	created_at     {ts} NOT NULL,
	revoked_at     {ts},
	PRIMARY KEY (bank_id, key_name, version)
);
ALTER TABLE cycles ADD COLUMN files_built_at {ts}
`}, {Version: 6, Name: "compliance screening", SQL: `
CREATE TABLE screenings (
	id                    TEXT PRIMARY KEY,
	payment_id            TEXT NOT NULL,
	status                TEXT NOT NULL,
	outcome               TEXT NOT NULL,
	buyer_bank_id         TEXT NOT NULL,
	merchant_id           TEXT NOT NULL,
	merchant_bank_id      TEXT NOT NULL,
	buyer_jurisdiction    TEXT NOT NULL,
	merchant_jurisdiction TEXT NOT NULL,
	currency              TEXT NOT NULL,
	amount_minor          BIGINT NOT NULL,
	base_currency         TEXT NOT NULL,
	base_minor            BIGINT NOT NULL,
	payer_key             TEXT NOT NULL,
	payee_key             TEXT NOT NULL,
	bank_key              TEXT NOT NULL,
	score                 DOUBLE PRECISION NOT NULL,
	flags                 TEXT NOT NULL,
	iso_reason            TEXT NOT NULL,
	lists                 TEXT NOT NULL,
	parties               TEXT NOT NULL,
	matches               TEXT NOT NULL,
	reasons               TEXT NOT NULL,
	hold_request          TEXT NOT NULL,
	origin                TEXT NOT NULL,
	requested_by          TEXT NOT NULL,
	screened_at           {ts} NOT NULL,
	resolved_by           TEXT NOT NULL DEFAULT '',
	resolved_at           {ts},
	comment               TEXT NOT NULL DEFAULT '',
	hold_error            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX screenings_payment ON screenings (payment_id);
CREATE UNIQUE INDEX screenings_one_pending ON screenings (payment_id) WHERE status = 'pending';
CREATE INDEX screenings_status ON screenings (status, screened_at);
CREATE INDEX screenings_screened ON screenings (screened_at);
CREATE INDEX screenings_resolved ON screenings (resolved_at);
CREATE INDEX screenings_payer ON screenings (payer_key, screened_at);
CREATE INDEX screenings_payee ON screenings (payee_key, screened_at);
CREATE INDEX screenings_bank ON screenings (bank_key, screened_at)
`}, {Version: 7, Name: "regulator reports", SQL: `
CREATE TABLE merkle_head (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	size       BIGINT NOT NULL,
	root       {blob} NOT NULL,
	updated_at {ts} NOT NULL
);
CREATE TABLE merkle_leaves (
	idx  BIGINT PRIMARY KEY,
	data {blob} NOT NULL
);
CREATE TABLE merkle_nodes (
	level INTEGER NOT NULL,
	idx   BIGINT NOT NULL,
	hash  {blob} NOT NULL,
	PRIMARY KEY (level, idx)
);
CREATE TABLE merkle_checkpoints (
	size      BIGINT PRIMARY KEY,
	root      {blob} NOT NULL,
	note      TEXT NOT NULL,
	signed_at {ts} NOT NULL
);
CREATE TABLE regulator_reports (
	id           TEXT PRIMARY KEY,
	jurisdiction TEXT NOT NULL,
	kind         TEXT NOT NULL,
	period       TEXT NOT NULL,
	seq          BIGINT NOT NULL CHECK (seq > 0),
	items        BIGINT NOT NULL,
	leaf_index   BIGINT NOT NULL UNIQUE REFERENCES merkle_leaves (idx),
	created_at   {ts} NOT NULL,
	sealed_at    {ts},
	UNIQUE (jurisdiction, kind, period),
	UNIQUE (jurisdiction, kind, seq)
);
CREATE INDEX regulator_reports_unsealed ON regulator_reports (leaf_index) WHERE sealed_at IS NULL;
CREATE TABLE regulator_report_files (
	report_id TEXT NOT NULL REFERENCES regulator_reports (id),
	format    TEXT NOT NULL,
	name      TEXT NOT NULL,
	content   {blob} NOT NULL,
	sha256    TEXT NOT NULL,
	signature TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (report_id, format)
);
CREATE TABLE regulator_endpoints (
	id             TEXT PRIMARY KEY,
	jurisdiction   TEXT NOT NULL,
	url            TEXT NOT NULL,
	created_by     TEXT NOT NULL,
	created_at     {ts} NOT NULL,
	removed_at     {ts},
	delivered_size BIGINT NOT NULL DEFAULT 0,
	leased_until   {ts}
);
CREATE INDEX regulator_endpoints_jurisdiction ON regulator_endpoints (jurisdiction);
CREATE TABLE regulator_outbox (
	id              {serial},
	endpoint_id     TEXT NOT NULL REFERENCES regulator_endpoints (id),
	report_id       TEXT NOT NULL REFERENCES regulator_reports (id),
	leaf_index      BIGINT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at {ts} NOT NULL,
	delivered_at    {ts},
	last_error      TEXT NOT NULL DEFAULT '',
	UNIQUE (endpoint_id, report_id)
);
CREATE INDEX regulator_outbox_pending ON regulator_outbox (endpoint_id, leaf_index) WHERE delivered_at IS NULL;
CREATE TABLE regulator_deliveries (
	id          {serial},
	outbox_id   BIGINT NOT NULL REFERENCES regulator_outbox (id),
	attempt     INTEGER NOT NULL,
	at          {ts} NOT NULL,
	status_code INTEGER NOT NULL,
	error       TEXT NOT NULL,
	duration_ms BIGINT NOT NULL
);
CREATE INDEX regulator_deliveries_outbox ON regulator_deliveries (outbox_id);
CREATE TABLE regulator_access_log (
	id           {serial},
	at           {ts} NOT NULL,
	key_id       TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	status       INTEGER NOT NULL,
	remote_addr  TEXT NOT NULL
)
`}, {Version: 8, Name: "settlement confirmations", SQL: `
CREATE TABLE settlement_files (
	id          TEXT PRIMARY KEY,
	sender      TEXT NOT NULL,
	uploaded_by TEXT NOT NULL,
	msg_id      TEXT NOT NULL,
	message     TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	size        BIGINT NOT NULL,
	status      TEXT NOT NULL,
	accepted    INTEGER NOT NULL,
	rejected    INTEGER NOT NULL,
	result      TEXT NOT NULL,
	received_at {ts} NOT NULL
);
CREATE UNIQUE INDEX settlement_files_msg ON settlement_files (sender, msg_id)
`}, {Version: 9, Name: "idempotent resources", SQL: `
ALTER TABLE idempotency_keys ADD COLUMN resource TEXT NOT NULL DEFAULT ''
`}, {Version: 10, Name: "cap alarm threshold", SQL: `
ALTER TABLE participants ADD COLUMN alarm_threshold_pct INTEGER NOT NULL DEFAULT 80
`}, {Version: 11, Name: "webhooks", SQL: `
CREATE TABLE webhook_subscriptions (
	id            TEXT PRIMARY KEY,
	owner_role    TEXT NOT NULL,
	owner_subject TEXT NOT NULL,
	url           TEXT NOT NULL,
	secret        TEXT NOT NULL,
	event_types   TEXT NOT NULL,
	status        TEXT NOT NULL,
	failures      INTEGER NOT NULL,
	last_error    TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	created_at    {ts} NOT NULL,
	paused_at     {ts},
	deleted_at    {ts},
	leased_until  {ts}
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner_role, owner_subject);
CREATE TABLE webhook_events (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL,
	object_id  TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created_at {ts} NOT NULL
);
CREATE TABLE webhook_outbox (
	id              {serial},
	subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
	event_id        TEXT NOT NULL REFERENCES webhook_events (id),
	attempts        INTEGER NOT NULL,
	next_attempt_at {ts} NOT NULL,
	delivered_at    {ts},
	last_error      TEXT NOT NULL
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (subscription_id, delivered_at, id);
CREATE UNIQUE INDEX webhook_outbox_event ON webhook_outbox (subscription_id, event_id);
CREATE TABLE webhook_attempts (
	id          {serial},
	outbox_id   BIGINT NOT NULL REFERENCES webhook_outbox (id),
	attempt     INTEGER NOT NULL,
	at          {ts} NOT NULL,
	status_code INTEGER NOT NULL,
	error       TEXT NOT NULL,
	duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_outbox ON webhook_attempts (outbox_id)
`}, {Version: 12, Name: "console sessions", SQL: `
CREATE TABLE console_sessions (
	token_hash TEXT PRIMARY KEY,
	key_id     TEXT NOT NULL REFERENCES api_keys (id),
	csrf       TEXT NOT NULL,
	created_at {ts} NOT NULL,
	seen_at    {ts} NOT NULL,
	expires_at {ts} NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at)
`}, {Version: 13, Name: "regulator witnesses", SQL: `
CREATE TABLE regulator_witnesses (
	id              TEXT PRIMARY KEY,
	vkey            TEXT NOT NULL,
	url             TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_at      {ts} NOT NULL,
	removed_at      {ts},
	size            BIGINT NOT NULL DEFAULT 0,
	cosigned_at     {ts},
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at {ts} NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	leased_until    {ts}
);
CREATE TABLE merkle_cosignatures (
	size      BIGINT NOT NULL REFERENCES merkle_checkpoints (size),
	witness   TEXT NOT NULL,
	line      TEXT NOT NULL,
	signed_at {ts} NOT NULL,
	PRIMARY KEY (size, witness)
)
`}, {Version: 14, Name: "payment reference index", SQL: `
CREATE INDEX payments_reference ON payments (reference)
`}, {Version: 15, Name: "console session language", SQL: `
ALTER TABLE console_sessions ADD COLUMN lang TEXT NOT NULL DEFAULT ''
`}, {Version: 16, Name: "audit log index", SQL: `
CREATE INDEX audit_log_at ON audit_log (at, id)
`}}

// Migrate applies every migration not yet applied, each in its own
// transaction. Several processes may call it at once: PostgreSQL serialises
// them with an advisory lock, SQLite with its write lock.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	if applied, err = s.migrate(ctx, migrations); err != nil {
		return applied, err
	}
	return applied, s.ensureOpenCycle(ctx)
}

// migrate applies ms (a prefix of migrations; tests stop early to upgrade
// an old schema).
func (s *Store) migrate(ctx context.Context, ms []migration) (applied []string, err error) {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at {ts} NOT NULL)`
	if _, err := s.db.ExecContext(ctx, s.dialectSQL(create)); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		done := false
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if s.postgres {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7243010)"); err != nil {
					return err
				}
			}
			var n int
			err := tx.NewRaw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(ctx, &n)
			if err != nil || n > 0 {
				done = n > 0
				return err
			}
			for _, stmt := range strings.Split(s.dialectSQL(m.SQL), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			_, err = tx.NewRaw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.Version, m.Name, s.now()).Exec(ctx)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if !done {
			applied = append(applied, fmt.Sprintf("%d %s", m.Version, m.Name))
		}
	}
	return applied, nil
}

// Migration is one schema migration this build knows; AppliedAt is zero
// while it is pending.
type Migration struct {
	Version   int64
	Name      string
	AppliedAt time.Time
}

// Migrations lists every migration of this build, oldest first, with when
// each was applied; it changes nothing.
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	var applied []struct {
		Version   int64     `bun:"version"`
		AppliedAt time.Time `bun:"applied_at"`
	}
	if err := s.db.NewRaw("SELECT version, applied_at FROM schema_migrations").Scan(ctx, &applied); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	at := make(map[int64]time.Time, len(applied))
	for _, a := range applied {
		at[a.Version] = a.AppliedAt
	}
	out := make([]Migration, len(migrations))
	for i, m := range migrations {
		out[i] = Migration{Version: m.Version, Name: m.Name, AppliedAt: at[m.Version]}
	}
	return out, nil
}

// SchemaVersion is the newest applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.NewRaw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(ctx, &v)
	return v, err
}

func (s *Store) dialectSQL(q string) string {
	ts, serial, blob := "TIMESTAMP", "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"
	if s.postgres {
		ts, serial, blob = "TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"
	}
	return strings.NewReplacer("{ts}", ts, "{serial}", serial, "{blob}", blob).Replace(q)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

// ensureOpenCycle opens cycle 1 on a fresh database.
func (s *Store) ensureOpenCycle(ctx context.Context) error {
	return s.inTx(ctx, func(tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*cycleRow)(nil)).Count(ctx)
		if err != nil || n > 0 {
			return err
		}
		_, err = tx.NewInsert().Model(&cycleRow{ID: 1, State: string(clearing.CycleOpen), OpenedAt: s.now()}).Exec(ctx)
		if isUniqueViolation(err) {
			return nil // another process opened it first
		}
		return err
	})
}
