package console

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/console/i18n"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/reports"
)

// The regulator's console, on the regulator gateway's listener: the
// reports of the key's jurisdiction by kind and period, their files to
// download, and verification in the browser (assets/verify.js checks the
// checkpoint's signature, the inclusion proofs, the files' hashes and
// signatures, and consistency with the last checkpoint that browser saw).
// Sign-in, sessions, CSRF and headers are this package's; what a
// regulator sees is decided by the gateway (Gateway), never here.

// Gateway is the regulator gateway as its console reads it; the gateway
// implements it (regulator/gateway) with the code behind its /v1 routes,
// so a page shows a key exactly what GET /v1/… shows a bearer of it.
type Gateway interface {
	// Admit makes key the request's caller as the gateway admits a bearer
	// of it: a live regulator key, within the key's rate.
	Admit(c *fiber.Ctx, key store.APIKey) error
	// Reports is a page of the caller's published reports as GET
	// /v1/reports answers the request's query (kind, period, after,
	// limit), at most limit when the query names none.
	Reports(c *fiber.Ctx, limit int) (ReportPage, error)
	// The reads of the verification script and the downloads: the
	// handlers of GET /v1/keys, /v1/checkpoint, /v1/proofs/consistency,
	// /v1/reports/{id}/bundle and /v1/reports/{id}/files/{format}.
	Keys(c *fiber.Ctx) error
	Checkpoint(c *fiber.Ctx) error
	Consistency(c *fiber.Ctx) error
	Bundle(c *fiber.Ctx) error
	File(c *fiber.Ctx) error
}

// ReportPage is one page of reports, in log order.
type ReportPage struct {
	Reports        []reports.Stored
	CheckpointSize uint64 // the published checkpoint the page is below
	More           bool   // another page follows, after NextAfter
	NextAfter      uint64
}

// MountRegulator adds the regulator's console to app, the gateway's
// application, at Prefix. Only regulator keys sign in; every signed-in
// request is admitted by gw as the gateway admits a bearer, and reads
// through gw. Of cfg, the session fields and Logger apply.
func MountRegulator(app *fiber.App, st *store.Store, cfg Config, gw Gateway) {
	cs, in := mount(app, st, cfg, site{roles: []clearing.Role{regulator}, cookie: "crossclear_regulator_console",
		other: "error.regulator_console_only", admit: gw.Admit})
	reg := allow(regulator)
	in.Get("/reports", reg, func(c *fiber.Ctx) error { return cs.reports(c, gw) })
	// The same reads as /v1, for the session's key: what verify.js fetches
	// and the download links point at.
	in.Get("/v1/keys", reg, gw.Keys)
	in.Get("/v1/checkpoint", reg, gw.Checkpoint)
	in.Get("/v1/proofs/consistency", reg, gw.Consistency)
	in.Get("/v1/reports/:id/bundle", reg, gw.Bundle)
	in.Get("/v1/reports/:id/files/:format", reg, gw.File)
}

// reportsPageSize is how many reports a page lists (and verify.js checks).
const reportsPageSize = 20

type reportsData struct {
	ReportPage
	Kind, Period string
	After        string // the page's cursor, "" on the first
	Next         string // the next page's query, "" on the last
	Words        string // verify.js's words in the reader's language, JSON
}

func (cs *console) reports(c *fiber.Ctx, gw Gateway) error {
	p, err := gw.Reports(c, reportsPageSize)
	if err != nil {
		return err
	}
	l := localeOf(c)
	d := reportsData{ReportPage: p, Kind: c.Query("kind"), Period: c.Query("period"), After: c.Query("after"), Words: verifyWords(l)}
	if p.More {
		q := url.Values{"after": {strconv.FormatUint(p.NextAfter, 10)}}
		for _, k := range []string{"kind", "period", "limit"} {
			if v := c.Query(k); v != "" {
				q.Set(k, v)
			}
		}
		d.Next = q.Encode()
	}
	return cs.render(c, "regulator-reports", page{Title: l.T("title.reports"), Active: "/reports", Data: d})
}

// verifyWords are what verify.js says, in l, with their {placeholders}
// for the script to fill: the names of the checks, the verdicts, and what
// a failed check found (every key of the catalogue's [verify] section).
func verifyWords(l *i18n.Locale) string {
	w := map[string]string{
		"verifying":     l.T("reports.verifying"),
		"ok":            l.T("reports.ok"),
		"failed":        l.T("reports.failed"),
		"not_verified":  l.T("reports.not_verified"),
		"untrusted":     l.T("reports.untrusted"),
		"row_verifying": l.T("reports.row_verifying"),
		"row_ok":        l.T("reports.row_ok"),
		"row_failed":    l.T("reports.row_failed"),
		"signed":        l.T("reports.signed"),
		"tofu":          l.T("reports.tofu"),
		"same":          l.T("reports.same"),
		"extends":       l.T("reports.extends"),
		"forked":        l.T("reports.forked"),
		"backwards":     l.T("reports.backwards"),
		"not_extended":  l.T("reports.not_extended"),
		"no_webcrypto":  l.T("reports.no_webcrypto"),
		"altered":       l.T("reports.altered"),
		"missing":       l.T("reports.missing"),
		"cycle":         l.T("reports.cycle"),
		"day":           l.T("reports.day"),
		// The checks, named in every failure.
		"published_keys":       l.T("reports.check_published_keys"),
		"checkpoint_signature": l.T("reports.check_checkpoint_signature"),
		"checkpoint_origin":    l.T("reports.check_checkpoint_origin"),
		"log_consistency":      l.T("reports.check_log_consistency"),
		"checkpoint":           l.T("reports.check_checkpoint"),
		"log_entry":            l.T("reports.check_log_entry"),
		"inclusion_proof":      l.T("reports.check_inclusion_proof"),
		"file_hashes":          l.T("reports.check_file_hashes"),
		"file_signature":       l.T("reports.check_file_signature"),
		"report_content":       l.T("reports.check_report_content"),
		"report_sequence":      l.T("reports.check_report_sequence"),
		"browser":              l.T("reports.check_browser"),
	}
	for _, k := range l.Keys() {
		if name, ok := strings.CutPrefix(k, "verify."); ok {
			w[name] = l.T(k)
		}
	}
	w["datetime"] = l.T("format.script_datetime")
	b, _ := json.Marshal(w) // strings only: cannot fail
	return string(b)
}
