package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/worker"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
)

var demoCmd = &command{
	name:    "demo",
	summary: "seed a demo world, push payments through every path, net them, serve the API",
	about: `
Deletes and recreates a SQLite file, seeds five partner banks in five
jurisdictions, an FX provider and a dozen merchants, loads the ECB's euro
reference rates (testdata/ecb/eurofxref-daily.xml, or --ecb FILE) into the
rate book, then pushes payments through every path of the escrow in
batches: the buyer confirms, partial releases then the rest, auto-release
at the deadline, dispute then refund, dispute then release, merchant refund,
and refusals at a deliberately small net debit cap. About a third of the
payments are cross-currency: the buyer's bank pays in its home currency
(EUR, GBP, JPY, SGD or USD), the merchant is settled in EUR, GBP or USD, and
the FX provider KSTLGB2L converts with a 30 bps scheme fee and a 50 bps
spread; half-way through it posts rates of its own, so later refunds convert
back at fresher rates. It checks the ledger, closes the cycle, prints the
netting and the FX provider's legs, then makes API keys and serves the API
(unless --no-serve). While serving, it writes where it listens and its keys
as shell variables beside the database (crossclear-demo.env: API, GW, OP,
BANK, MERCHANT, MERCHANT_KEY, REG, FXP, OFFICER; readable by you only) for
the curl lines it prints and the README's walks.

The payments are drawn from a seeded generator: the same --seed gives the
same payments, amounts and outcomes (only ids and times differ). The
database comes from --database only, never from the configuration, so the
demo cannot delete a real database; it also refuses to delete a file it did
not create, unless --force. Other settings (listen, auto_release_after, …)
come from the configuration as for serve.`,
	example: `  crossclear demo
  crossclear demo --payments 10000 --seed 7
  crossclear demo --no-serve --database /tmp/demo.db
  crossclear demo --listen 127.0.0.1:9090`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		var o demoOptions
		fs.StringVar(&o.database, "database", "crossclear-demo.db", "SQLite `FILE` to delete and recreate for the demo")
		fs.IntVar(&o.payments, "payments", 3000, "`N` payments to push through")
		fs.Uint64Var(&o.seed, "seed", 1, "random `SEED`: the same seed gives the same payments")
		fs.BoolVar(&o.noServe, "no-serve", false, "stop after the summary instead of serving the API")
		fs.BoolVar(&o.force, "force", false, "delete --database even if the demo did not create it")
		fs.StringVar(&o.ecb, "ecb", "", "ECB reference rates `FILE` (eurofxref-daily.xml format); default "+demoECBPath+", or a built-in copy of it")
		cf := addConfigFlags(fs, "listen", "auto_release_after", "auto_release_interval", "cycle_period", "body_limit_bytes", "log_level")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("demo", args); err != nil {
				return err
			}
			if o.payments < 1 || o.payments > 1_000_000 {
				return usagef("demo", "--payments must be between 1 and 1000000, got %d", o.payments)
			}
			if store.IsPostgres(o.database) || o.database == "" {
				return usagef("demo", "--database must be a SQLite file path: the demo deletes and recreates it")
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			cfg.Database = o.database
			return runDemo(ctx, c, cfg, o)
		}
	},
}

type demoOptions struct {
	database string
	payments int
	seed     uint64
	noServe  bool
	force    bool
	ecb      string
}

// demoOperator is who seeds and resolves disputes in the demo; its audit
// entries also mark a database as the demo's own.
var demoOperator = clearing.Actor{Role: clearing.RoleOperator, Subject: "demo"}

const (
	holdBatch = 500
	actBatch  = 1000
)

type demo struct {
	c      *cli
	cfg    Config
	s      *store.Store
	offset atomic.Int64 // the store clock's distance from the real time
	tty    bool
}

func (d *demo) now() time.Time { return time.Now().Add(time.Duration(d.offset.Load())) }

// at moves the store clock to ago before the real time.
func (d *demo) at(ago time.Duration) { d.offset.Store(int64(-ago)) }

func runDemo(ctx context.Context, c *cli, cfg Config, o demoOptions) error {
	start := time.Now()
	log := c.logger(cfg)
	if err := resetDemoDB(ctx, o.database, o.force); err != nil {
		return err
	}
	d := &demo{c: c, cfg: cfg}
	if f, ok := c.stdout.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			d.tty = true
		}
	}
	// The timeline, anchored on the auto-release deadline RA: the scheme
	// opens and the auto-release group is held RA+1 day ago; the other
	// payments are held and acted on later but less than RA ago, so that
	// only the first group is due when the release pass runs at the real
	// time, followed by the close.
	ra := cfg.AutoReleaseAfter
	d.at(ra + 24*time.Hour)
	// The demo's world has merchants whose banks settle only their own
	// currency, so the operator bears the FX result of refunds.
	cfg.FXResultChargedTo = string(clearing.ChargeOperator)
	s, err := store.Open(ctx, o.database, store.Options{ReleaseAfter: ra, Now: d.now, FX: store.FXOptions{
		Book: &fx.Book{}, Provider: demoFXProvider.bic, FeeBps: demoFeeBps, SpreadBps: demoSpreadBps, QuoteTTL: cfg.FXQuoteTTL,
		ResultChargedTo: clearing.ChargeOperator, ReportingCurrency: cfg.ReportingCurrency},
		Refunds: inbound.RefundFile(cfg.OperatorBIC)})
	if err != nil {
		return err
	}
	defer s.Close()
	d.s = s
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "crossclear-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	screener, err := demoScreening(ctx, &cfg, dir)
	if err != nil {
		return err
	}
	s.SetScreener(screener)
	out := c.stdout
	fmt.Fprintf(out, "crossclear demo: a clearing world in %s (sqlite), %d payments, seed %d\n\n", o.database, o.payments, o.seed)

	w, err := seedWorld(ctx, s, demoOperator)
	if err != nil {
		return err
	}
	printWorld(out, w)
	ecb, err := d.loadECB(ctx, o.ecb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nFX rates: %s\n", ecb)
	var lists []string
	for _, l := range screener.Lists() {
		lists = append(lists, fmt.Sprintf("%s %d", l.Name, l.Entries))
	}
	fmt.Fprintf(out, "Compliance: every payment screened against samples of the UN, EU and UK lists (entries: %s) and the travel rule (flag)\n",
		strings.Join(lists, ", "))

	rng := rand.New(rand.NewPCG(o.seed, 0x63726f7373636c72)) // "crosscle"
	plans := drawPlans(rng, w, o.payments)
	var auto, rest []*plan
	for _, p := range plans {
		if p.path == pathAuto {
			auto = append(auto, p)
		} else {
			rest = append(rest, p)
		}
	}

	fmt.Fprintf(out, "\nHolding %d payments in escrow (batches of %d): %d of them %s ago, which nobody will act on\n"+
		"(their auto-release deadline has passed by now), the rest %s ago\n", len(plans), holdBatch, len(auto), age(ra+24*time.Hour), age(ra*2/3))
	var refusals holdRefusals
	prog := d.progress("payments sent to escrow:", len(plans))
	if err := d.hold(ctx, auto, &refusals, prog); err != nil { // RA+1 day ago: due by now
		return err
	}
	d.at(ra * 2 / 3)
	if err := d.hold(ctx, rest, &refusals, prog); err != nil {
		return err
	}
	prog.finish()
	tight, _ := fx.ParseAmount(demoTightCap.value, demoTightCap.currency)
	fmt.Fprintf(out, "  %d held, %d refused at a net debit cap (%s's %s cap is deliberately small: %s %s)\n",
		len(plans)-refusals.n, refusals.n, demoTightCap.bank, demoTightCap.currency, money(tight.Currency.Code, tight.Minor), tight.Currency.Code)
	if refusals.first != nil {
		fmt.Fprintf(out, "  e.g. %s: %s\n", refusals.first.Code, refusals.first.Msg)
	}
	review, err := d.holdForReview(ctx, w)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  and %s's payment of %s %s to %s from %s, on the UN list: held for compliance review, not in escrow\n",
		review.bank, money(review.amount.Currency.Code, review.amount.Minor), review.amount.Currency.Code, demoListed.merchant, demoListed.debtor.Name)

	fmt.Fprintln(out, "\nMoving payments through escrow")
	rounds := d.rounds(plans)
	total := 0
	for _, r := range rounds {
		total += len(r.reqs)
	}
	prog = d.progress("escrow actions done (confirm, release, dispute, resolve, refund):", total)
	var moved string
	for i, r := range rounds {
		d.at(r.ago)
		if i == 1 {
			// From here on refunds convert back at the provider's own rates.
			if moved, err = d.postProviderRates(ctx, rng); err != nil {
				return err
			}
		}
		if err := d.act(ctx, r.reqs, prog); err != nil {
			return err
		}
	}
	prog.finish()
	for i, r := range rounds {
		fmt.Fprintf(out, "  round %d: %-52s %5d actions\n", i+1, r.name, len(r.reqs))
	}
	fmt.Fprintf(out, "  %s\n", moved)

	d.at(0)
	released, err := (&worker.AutoRelease{Store: s, Logger: slog.New(slog.DiscardHandler)}).Pass(ctx)
	if err != nil {
		return fmt.Errorf("auto-release: %w", err)
	}
	fmt.Fprintf(out, "  auto-release pass at the real time: %d payments past their deadline released\n", released)

	chk, err := s.CheckLedger(ctx)
	if err != nil {
		return err
	}
	if !chk.OK {
		return fmt.Errorf("the ledger does not balance: %s", strings.Join(chk.Problems, "; "))
	}
	fmt.Fprintf(out, "\nLedger check: OK, the books balance in %d currencies (escrow = what payments still hold)\n", len(chk.Currencies))
	exposure, err := s.Exposures(ctx, store.ParticipantFilter{})
	if err != nil {
		return err
	}
	printExposure(out, exposure, w.names)

	closed, err := s.CloseCycle(ctx, demoOperator)
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	printCycle(out, closed, w.names)
	if err := printFX(ctx, out, s, closed, w); err != nil {
		return err
	}
	if err := printOutcomes(ctx, out, s, refusals.n); err != nil {
		return err
	}
	if err := printScreening(ctx, out, s, screener, review); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDemo data ready in %s.\n", time.Since(start).Round(10*time.Millisecond))
	if o.noServe {
		// Printed for the repository's root, where the README runs the demo.
		fmt.Fprintf(out, "Explore it: go run ./cmd/crossclear cycle show %d --database %s  ·  serve it: go run ./cmd/crossclear demo (without --no-serve)\n", closed.ID, o.database)
		return nil
	}
	keys, err := demoKeys(ctx, s, w)
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	// The banner says that files are signed with development keys; the
	// log's warning would only split the summary from the keys.
	devSignerWarning.Do(func() {})
	env := demoEnvPath(o.database)
	return serveAPI(ctx, c, cfg, s, log, d.now, func(base, gateway string) {
		if err := writeDemoEnv(env, base, gateway, keys, w); err != nil {
			log.Error("the demo's shell file was not written", "file", env, "err", err)
		}
		printKeys(out, keys, env, base, gateway, closed.ID, w, review)
	})
}

// resetDemoDB deletes the demo's SQLite file (and its WAL) so the demo
// starts from nothing, refusing a file the demo did not make.
func resetDemoDB(ctx context.Context, path string, force bool) error {
	file := sqlitePath(path)
	st, err := os.Stat(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", file)
	}
	if !force && st.Size() > 0 && !isDemoDB(ctx, path) {
		return fmt.Errorf("%s exists and was not created by 'crossclear demo'; refusing to delete it (pass --force to delete it anyway, or choose another --database)", file)
	}
	for _, f := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// isDemoDB reports whether path is a crossclear database seeded by the demo.
func isDemoDB(ctx context.Context, path string) bool {
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return false
	}
	defer s.Close()
	var n int
	err = s.DB().NewRaw("SELECT COUNT(*) FROM audit_log WHERE actor = ?", demoOperator.String()).Scan(ctx, &n)
	return err == nil && n > 0
}

func printWorld(w io.Writer, wd world) {
	fmt.Fprintf(w, "Partner banks (net debit caps per cycle), FX provider and merchants\n")
	for _, b := range append(append([]clearing.Participant{}, wd.banks...), wd.fx) {
		var ccys []string
		for _, c := range b.Currencies {
			ccys = append(ccys, fmt.Sprintf("%s %s", c.Currency, money(c.Currency, c.NetDebitCapMinor)))
		}
		kind := ""
		if b.Kind == clearing.FXProvider {
			kind = " [fx_provider]"
		}
		fmt.Fprintf(w, "  %-9s %-27s %-5s  %s%s\n", b.ID, b.Name, b.Jurisdiction, strings.Join(ccys, " · "), kind)
	}
	byBank := map[string][]string{}
	for _, m := range wd.merchants {
		byBank[m.BankID] = append(byBank[m.BankID], fmt.Sprintf("%s (%s)", m.Name, m.Currency))
	}
	for _, b := range wd.banks {
		fmt.Fprintf(w, "  merchants at %-9s %s\n", b.ID, strings.Join(byBank[b.ID], ", "))
	}
}

type holdRefusals struct {
	n     int
	first *clearing.Error
}

// hold holds plans in batches, recording each UETR and counting refusals
// at a net debit cap. Any other refusal is a bug in the demo.
func (d *demo) hold(ctx context.Context, plans []*plan, ref *holdRefusals, prog *progress) error {
	for start := 0; start < len(plans); start += holdBatch {
		batch := plans[start:min(start+holdBatch, len(plans))]
		reqs := make([]clearing.HoldRequest, len(batch))
		for i, p := range batch {
			reqs[i] = p.req
		}
		res, err := d.s.HoldBatch(ctx, reqs, demoOperator)
		if err != nil {
			return fmt.Errorf("hold batch: %w", err)
		}
		for i, r := range res {
			if r.Err != nil {
				if e, ok := clearing.AsError(r.Err); ok && e.Code == "net_debit_cap_exceeded" {
					ref.n++
					if ref.first == nil {
						ref.first = e
					}
					continue
				}
				return fmt.Errorf("hold %s: %w", batch[i].req.EndToEndID, r.Err)
			}
			batch[i].id, batch[i].held = r.Payment.ID, r.Payment.AmountMinor
		}
		prog.add(len(batch))
	}
	return nil
}

// round is one day's actions on the held payments.
type round struct {
	name string
	ago  time.Duration // store clock, before the real time
	reqs []store.ActRequest
}

// rounds turns the paths into actions, by the actor each belongs to: the
// buyer's bank confirms and disputes, the merchant refunds, the operator
// resolves disputes.
func (d *demo) rounds(plans []*plan) []round {
	ra := d.cfg.AutoReleaseAfter
	r1 := round{name: "confirm, first part, dispute, merchant refund", ago: ra / 2}
	r2 := round{name: "second part, disputes resolved (refund or release)", ago: ra / 4}
	r3 := round{name: "the rest of the payments released in parts", ago: ra / 8}
	for _, p := range plans {
		if p.id == "" {
			continue
		}
		buyer := clearing.Actor{Role: clearing.RoleBank, Subject: p.req.BuyerBankID}
		act := func(r *round, by clearing.Actor, a clearing.Action) {
			r.reqs = append(r.reqs, store.ActRequest{PaymentID: p.id, Action: a, By: by})
		}
		amount := p.held
		switch p.path {
		case pathConfirm:
			act(&r1, buyer, clearing.Action{Kind: clearing.ActionRelease, Reason: "buyer confirmed delivery"})
		case pathPartial:
			act(&r1, buyer, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: amount * 4 / 10, Reason: "first parcel delivered"})
			act(&r2, buyer, clearing.Action{Kind: clearing.ActionRelease, AmountMinor: amount * 3 / 10, Reason: "second parcel delivered"})
			act(&r3, buyer, clearing.Action{Kind: clearing.ActionRelease, Reason: "last parcel delivered"})
		case pathDisputeRefund:
			act(&r1, buyer, clearing.Action{Kind: clearing.ActionDispute, Reason: "goods not received"})
			act(&r2, demoOperator, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRefund, Reason: "no proof of delivery"})
		case pathDisputeRelease:
			act(&r1, buyer, clearing.Action{Kind: clearing.ActionDispute, Reason: "item not as described"})
			act(&r2, demoOperator, clearing.Action{Kind: clearing.ActionResolve, Decision: clearing.DecideRelease, Reason: "merchant proved the item matches the listing"})
		case pathOpenDispute:
			act(&r1, buyer, clearing.Action{Kind: clearing.ActionDispute, Reason: "parcel arrived damaged"})
		case pathMerchantRefund:
			merchant := clearing.Actor{Role: clearing.RoleMerchant, Subject: p.req.MerchantID}
			act(&r1, merchant, clearing.Action{Kind: clearing.ActionRefund, Reason: "out of stock: order cancelled"})
		}
	}
	return []round{r1, r2, r3}
}

// act applies actions in batches; in the demo every action is legal, so a
// refusal is a bug.
func (d *demo) act(ctx context.Context, reqs []store.ActRequest, prog *progress) error {
	for start := 0; start < len(reqs); start += actBatch {
		batch := reqs[start:min(start+actBatch, len(reqs))]
		res, err := d.s.ActBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("act batch: %w", err)
		}
		for i, r := range res {
			if r.Err != nil {
				return fmt.Errorf("%s payment %s: %w", batch[i].Action.Kind, batch[i].PaymentID, r.Err)
			}
		}
		prog.add(len(batch))
	}
	return nil
}

// printOutcomes counts, from the database, where the payments ended and
// which events happened.
func printOutcomes(ctx context.Context, w io.Writer, s *store.Store, refused int) error {
	type row struct {
		Key string `bun:"key"`
		N   int    `bun:"n"`
	}
	var states, events []row
	if err := s.DB().NewRaw("SELECT state AS key, COUNT(*) AS n FROM payments GROUP BY state").Scan(ctx, &states); err != nil {
		return fmt.Errorf("count payments: %w", err)
	}
	if err := s.DB().NewRaw("SELECT type AS key, COUNT(*) AS n FROM payment_events GROUP BY type").Scan(ctx, &events); err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	order := func(rs []row, keys ...string) []string {
		var out []string
		m := map[string]int{}
		for _, r := range rs {
			m[r.Key] = r.N
		}
		for _, k := range keys {
			if m[k] > 0 {
				out = append(out, fmt.Sprintf("%s %d", k, m[k]))
				delete(m, k)
			}
		}
		rest := make([]string, 0, len(m))
		for k := range m {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		for _, k := range rest {
			out = append(out, fmt.Sprintf("%s %d", k, m[k]))
		}
		return out
	}
	fmt.Fprintf(w, "\nPayments by state: %s · refused at the cap %d\n", strings.Join(order(states, "released", "refunded", "held", "disputed"), " · "), refused)
	fmt.Fprintf(w, "Events: %s\n", strings.Join(order(events, "received", "held", "released", "partially_released", "auto_released",
		"disputed", "dispute_resolved_release", "dispute_resolved_refund", "refunded"), " · "))
	return nil
}

// demoKey is one API key the demo hands out, and the shell variable
// crossclear-demo.env gives it.
type demoKey struct {
	label, secret, envVar string
	role                  clearing.Role
	subject               string
}

func demoKeys(ctx context.Context, s *store.Store, w world) ([]demoKey, error) {
	specs := []demoKey{
		{label: "operator", envVar: "OP", role: clearing.RoleOperator},
		{label: "bank " + w.banks[0].ID, envVar: "BANK", role: clearing.RoleBank, subject: w.banks[0].ID},
		{label: "merchant " + w.merchants[0].ID, envVar: "MERCHANT_KEY", role: clearing.RoleMerchant, subject: w.merchants[0].ID},
		{label: "regulator SG", envVar: "REG", role: clearing.RoleRegulator, subject: "SG"},
		{label: "fx_provider " + w.fx.ID, envVar: "FXP", role: clearing.RoleFXProvider, subject: w.fx.ID},
		{label: "compliance officer", envVar: "OFFICER", role: clearing.RoleCompliance},
	}
	for i, k := range specs {
		_, secret, err := s.CreateAPIKey(ctx, k.role, k.subject, "demo "+k.label, demoOperator)
		if err != nil {
			return nil, fmt.Errorf("create %s key: %w", k.label, err)
		}
		specs[i].secret = secret
	}
	return specs, nil
}

// printKeys prints the keys, then lines to try that read them, and where
// the demo serves, from the shell file (env): short enough to read, and
// they work as printed once it is sourced.
func printKeys(w io.Writer, keys []demoKey, env, base, gateway string, cycleID int64, wd world, r demoReview) {
	fmt.Fprintln(w, "API keys (secrets shown once; the database keeps only their hashes):")
	for _, k := range keys {
		fmt.Fprintf(w, "  %-14s %-30s %s\n", "$"+k.envVar, k.label, k.secret)
	}
	fmt.Fprintf(w, "\nThe web console: open %s/console/ and sign in with the operator's, the bank's, the merchant's or the officer's key\n", base)
	fmt.Fprintf(w, "  (cycle %d's netting picture: %s/console/cycles/%d)\n", cycleID, base, cycleID)
	if gateway != "" {
		fmt.Fprintf(w, "The regulator's console: open %s/console/ and sign in with the regulator's key ($REG): SG's reports, verified in your browser\n", gateway)
	}
	fmt.Fprintf(w, "\nIn another terminal, %s sets them, $API and $GW (the regulators' gateway); then try:\n", sourceable(env))
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $OP\" $API/v1/cycles/%d\n", cycleID)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $BANK" "$API/v1/payments?state=disputed&limit=5"`)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $BANK" $API/v1/files    # the bank's mailbox: the cycle's pacs.009, camt.053, camt.054, signed`)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $MERCHANT_KEY" $API/v1/merchants/$MERCHANT/settlements    # its payouts per cycle`)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $REG" "$API/v1/payments?limit=5"    # the regulator of SG: payments touching SG only`)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $REG" $GW/v1/reports    # its signed reports`)
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $FXP" $API/v1/rates`)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $BANK\" -d '{\"sell_amount\":\"100.00\",\"sell_currency\":\"%s\",\"buy_currency\":\"USD\"}' $API/v1/quotes\n",
		wd.home[wd.banks[0].ID])
	fmt.Fprintln(w, "The review queue (the compliance officer's key):")
	fmt.Fprintln(w, `  curl -H "Authorization: Bearer $OFFICER" $API/v1/reviews    # a payment from a debtor on the UN list, with the matched entry`)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $BANK\" $API/v1/payments/%s/screening    # what %s is told: pending, RR04\n", r.paymentID, r.bank)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $OFFICER\" -d '{\"comment\":\"end-user checked: not the listed entity\"}' $API/v1/reviews/%s/approve    # then it is held in escrow\n\n",
		r.screeningID)
}

// progress reports a long step on a terminal, in one updating line; in a
// file or a pipe the summary after the step says enough.
type progress struct {
	w           io.Writer
	tty         bool
	label       string
	done, total int
}

func (d *demo) progress(label string, total int) *progress {
	return &progress{w: d.c.stdout, tty: d.tty, label: label, total: total}
}

func (p *progress) add(n int) {
	p.done += n
	if p.tty {
		fmt.Fprintf(p.w, "\r  %s %d of %d", p.label, p.done, p.total)
	}
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
