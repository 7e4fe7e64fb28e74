package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/crossclear/crossclear/clearing"
)

// CreateParticipant registers a bank or FX provider; its id is its BIC
// in canonical form (clearing.CanonicalBIC: DEUTDEFFXXX is registered as
// DEUTDEFF). One institution is one participant: a BIC whose institution
// is already registered, in either form, is refused 409
// duplicate_participant naming the participant that exists. A branch
// (DEUTDEFF500) is registered as a branch of its institution, which must
// be a participant already (409 institution_not_registered).
func (s *Store) CreateParticipant(ctx context.Context, p clearing.Participant, by clearing.Actor) (clearing.Participant, error) {
	if err := p.Validate(); err != nil {
		return clearing.Participant{}, err
	}
	asked := p.BIC
	p.BIC = clearing.CanonicalBIC(p.BIC)
	p.ID, p.Status, p.CreatedAt = p.BIC, clearing.Active, s.now()
	if p.AlarmThresholdPct == 0 {
		p.AlarmThresholdPct = clearing.DefaultAlarmThresholdPct // turned off with UpdateParticipantLimits
	}
	clearing.SortCurrencies(p.Currencies)
	err := s.inTx(ctx, func(tx bun.Tx) error {
		duplicate := func(existing string) error {
			if existing == asked {
				return clearing.Errorf(clearing.Conflict, "duplicate_participant", "bic", "a participant with BIC %s already exists", asked)
			}
			return clearing.Errorf(clearing.Conflict, "duplicate_participant", "bic", "participant %s already exists: %s is the same institution (branch XXX is the institution itself)", existing, asked)
		}
		var existing []string
		if err := tx.NewSelect().Model((*participantRow)(nil)).Column("id").Where("id IN (?)", bun.In(clearing.BICForms(p.BIC))).Scan(ctx, &existing); err != nil {
			return fmt.Errorf("look up participant: %w", err)
		}
		if len(existing) > 0 {
			return duplicate(existing[0])
		}
		if inst := clearing.Institution(p.BIC); inst != p.BIC {
			// A branch is registered as a branch of its institution: until
			// it is, the branch's BIC already names the institution's
			// participant, and a branch alone would make files naming the
			// institution by its BIC8 find no participant.
			var found []string
			if err := tx.NewSelect().Model((*participantRow)(nil)).Column("id").Where("id IN (?)", bun.In(clearing.BICForms(inst))).Scan(ctx, &found); err != nil {
				return fmt.Errorf("look up institution: %w", err)
			}
			if len(found) == 0 {
				return clearing.Errorf(clearing.Conflict, "institution_not_registered", "bic",
					"%s is a branch of %s, which is not a participant: register the institution %s first, then its branch", p.BIC, inst, inst)
			}
		}
		row := participantRow{ID: p.ID, Kind: string(p.Kind), BIC: p.BIC, Name: p.Name, Country: p.Country,
			Jurisdiction: p.Jurisdiction, Status: string(p.Status), CreatedAt: p.CreatedAt,
			CapTotalMinor: p.NetDebitCapTotal.Minor, CapTotalCcy: p.NetDebitCapTotal.Currency, RequireSigned: p.RequireSignedFiles,
			AlarmPct: p.AlarmThresholdPct}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return duplicate(p.ID)
			}
			return fmt.Errorf("insert participant: %w", err)
		}
		rows := make([]participantCurrencyRow, len(p.Currencies))
		for i, c := range p.Currencies {
			rows[i] = participantCurrencyRow{ParticipantID: p.ID, Currency: c.Currency, NetDebitCapMinor: c.NetDebitCapMinor}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("insert participant currencies: %w", err)
		}
		return s.audit(ctx, tx, by, "participant.create", p.ID, string(p.Kind)+" "+p.Name)
	})
	return p, err
}

// Participant loads one participant by its id, a BIC in either form of
// its institution (DEUTDEFF or DEUTDEFFXXX), or a branch BIC: a registered
// branch is itself, an unregistered one its institution
// (clearing.LookupBICs).
func (s *Store) Participant(ctx context.Context, id string) (clearing.Participant, error) {
	forms := clearing.LookupBICs(id)
	ps, err := loadParticipants(ctx, s.conn(ctx), forms, noLock)
	if err != nil {
		return clearing.Participant{}, err
	}
	for _, f := range forms {
		if p, ok := ps[f]; ok {
			return p, nil
		}
	}
	return clearing.Participant{}, notFound("participant", "id", id)
}

// ParticipantID is the id of the participant bic names — in either form
// of its institution's BIC; a branch BIC is its own participant when
// registered, else its institution's (clearing.LookupBICs) — or bic itself
// when no participant has it. API requests (buyer_bank_id, bank_id) and
// files resolve BICs through it before anything reaches the store's
// exactly-once paths.
func (s *Store) ParticipantID(ctx context.Context, bic string) (string, error) {
	return participantID(ctx, s.conn(ctx), bic)
}

func participantID(ctx context.Context, db bun.IDB, bic string) (string, error) {
	forms := clearing.LookupBICs(bic)
	var ids []string
	if err := db.NewSelect().Model((*participantRow)(nil)).Column("id").Where("id IN (?)", bun.In(forms)).Scan(ctx, &ids); err != nil {
		return "", fmt.Errorf("look up participant: %w", err)
	}
	for _, f := range forms {
		if slices.Contains(ids, f) {
			return f, nil
		}
	}
	return bic, nil
}

// ParticipantFilter narrows a participant listing; empty fields match all.
type ParticipantFilter struct {
	IDs          []string
	Kind         clearing.ParticipantKind
	Jurisdiction string
}

// Participants lists participants by id.
func (s *Store) Participants(ctx context.Context, f ParticipantFilter) ([]clearing.Participant, error) {
	var rows []participantRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("id")
	if len(f.IDs) > 0 {
		var ids []string // each id in either form of its BIC
		for _, id := range f.IDs {
			ids = append(ids, id)
			ids = append(ids, clearing.BICForms(id)...)
		}
		q.Where("id IN (?)", bun.In(ids))
	}
	if f.Kind != "" {
		q.Where("kind = ?", f.Kind)
	}
	if f.Jurisdiction != "" {
		q.Where("jurisdiction = ?", f.Jurisdiction)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	cs, err := loadCurrencies(ctx, s.conn(ctx), ids)
	if err != nil {
		return nil, err
	}
	out := make([]clearing.Participant, len(rows))
	for i, r := range rows {
		out[i] = r.domain(cs)
	}
	return out, nil
}

// SetParticipantStatus suspends or reactivates a participant. A suspended
// bank cannot have new payments held; what is already held runs its course.
func (s *Store) SetParticipantStatus(ctx context.Context, id string, status clearing.Status, reason string, by clearing.Actor) (clearing.Participant, error) {
	if status != clearing.Active && status != clearing.Suspended {
		return clearing.Participant{}, clearing.Errorf(clearing.Invalid, "invalid_status", "status", "must be %q or %q", clearing.Active, clearing.Suspended)
	}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		if id, err = participantID(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*participantRow)(nil)).Set("status = ?", status).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update participant: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("participant", "id", id)
		}
		return s.audit(ctx, tx, by, "participant."+string(status), id, reason)
	})
	if err != nil {
		return clearing.Participant{}, err
	}
	return s.Participant(ctx, id)
}

// loadParticipants reads participants by id (locking them on PostgreSQL
// when lock is set, so a suspension cannot slip between check and write).
// participantLock is how loadParticipants locks the rows it reads (on
// PostgreSQL; SQLite's write lock covers the whole database).
type participantLock int

const (
	noLock        participantLock = iota
	lockForShare                  // no one changes them until we commit
	lockForUpdate                 // in id order, so that concurrent holds queue on a bank without deadlocks
)

func loadParticipants(ctx context.Context, db bun.IDB, ids []string, lock participantLock) (map[string]clearing.Participant, error) {
	var rows []participantRow
	q := db.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids))
	if db.Dialect().Name().String() == "pg" {
		// A locking read returns the latest committed row, the one its
		// lock protects: locked and read in one statement.
		switch lock {
		case lockForShare:
			q.For("SHARE")
		case lockForUpdate:
			q.OrderExpr("id").For("NO KEY UPDATE")
		}
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	cs, err := loadCurrencies(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]clearing.Participant, len(rows))
	for _, r := range rows {
		out[r.ID] = r.domain(cs)
	}
	return out, nil
}

func loadCurrencies(ctx context.Context, db bun.IDB, ids []string) ([]participantCurrencyRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var cs []participantCurrencyRow
	if err := db.NewSelect().Model(&cs).Where("participant_id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load participant currencies: %w", err)
	}
	return cs, nil
}

// CreateMerchant registers a merchant with the bank that services it.
func (s *Store) CreateMerchant(ctx context.Context, m clearing.Merchant, by clearing.Actor) (clearing.Merchant, error) {
	m.ID, m.Status, m.CreatedAt = newID("mer"), clearing.Active, s.now()
	err := s.inTx(ctx, func(tx bun.Tx) error {
		var err error
		if m.BankID, err = participantID(ctx, tx, m.BankID); err != nil { // DEUTDEFFXXX is DEUTDEFF
			return err
		}
		banks, err := loadParticipants(ctx, tx, []string{m.BankID}, lockForShare)
		if err != nil {
			return err
		}
		bank, ok := banks[m.BankID]
		if !ok {
			return clearing.Errorf(clearing.Invalid, "unknown_participant", "bank_id", "no bank %q", m.BankID)
		}
		if err := m.Validate(bank); err != nil {
			return err
		}
		row := merchantRow{ID: m.ID, Name: m.Name, Country: m.Country, Currency: m.Currency, Account: m.Account,
			BankID: m.BankID, Status: string(m.Status), CreatedAt: m.CreatedAt}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert merchant: %w", err)
		}
		return s.audit(ctx, tx, by, "merchant.create", m.ID, m.Name)
	})
	return m, err
}

// Merchant loads one merchant.
func (s *Store) Merchant(ctx context.Context, id string) (clearing.Merchant, error) {
	var row merchantRow
	err := s.conn(ctx).NewSelect().Model(&row).Where("id = ?", id).Limit(1).Scan(ctx)
	if isNoRows(err) {
		return clearing.Merchant{}, notFound("merchant", "id", id)
	}
	if err != nil {
		return clearing.Merchant{}, fmt.Errorf("load merchant: %w", err)
	}
	return row.domain(), nil
}

// MerchantFilter narrows a merchant listing; empty fields match all.
type MerchantFilter struct {
	BankID       string
	Jurisdiction string // the jurisdiction of the merchant's bank
	ID           string
}

// Merchants lists merchants by id.
func (s *Store) Merchants(ctx context.Context, f MerchantFilter) ([]clearing.Merchant, error) {
	var rows []merchantRow
	q := s.conn(ctx).NewSelect().Model(&rows).OrderExpr("m.id")
	if f.BankID != "" {
		q.Where("m.bank_id = ?", f.BankID)
	}
	if f.ID != "" {
		q.Where("m.id = ?", f.ID)
	}
	if f.Jurisdiction != "" {
		q.Where("m.bank_id IN (SELECT id FROM participants WHERE jurisdiction = ?)", f.Jurisdiction)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	out := make([]clearing.Merchant, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SetMerchantStatus suspends or reactivates a merchant.
func (s *Store) SetMerchantStatus(ctx context.Context, id string, status clearing.Status, reason string, by clearing.Actor) (clearing.Merchant, error) {
	if status != clearing.Active && status != clearing.Suspended {
		return clearing.Merchant{}, clearing.Errorf(clearing.Invalid, "invalid_status", "status", "must be %q or %q", clearing.Active, clearing.Suspended)
	}
	err := s.inTx(ctx, func(tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*merchantRow)(nil)).Set("status = ?", status).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update merchant: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("merchant", "id", id)
		}
		return s.audit(ctx, tx, by, "merchant."+string(status), id, reason)
	})
	if err != nil {
		return clearing.Merchant{}, err
	}
	return s.Merchant(ctx, id)
}

func (s *Store) audit(ctx context.Context, tx bun.Tx, by clearing.Actor, action, object, detail string) error {
	return Audit(ctx, tx, by, action, object, detail, s.now())
}

// Audit records who changed what in the audit log, inside tx: the change's
// own transaction, so that neither commits without the other. The store's
// changes and those kept beside it (the regulator's push endpoints and
// witnesses) write their entries here.
func Audit(ctx context.Context, tx bun.Tx, by clearing.Actor, action, object, detail string, at time.Time) error {
	_, err := tx.NewInsert().Model(&auditRow{Actor: by.String(), Action: action, Object: object, Detail: detail, At: at.UTC()}).Exec(ctx)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// newID makes a short random id with a readable prefix: "mer_k3j5…".
func newID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
