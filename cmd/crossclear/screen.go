package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crossclear/crossclear/compliance"
)

var screenCmd = &command{
	name:    "screen",
	summary: "screen a name against the configured sanctions lists",
	about: `
Loads the configured sanctions lists (sanctions_ofac, sanctions_un,
sanctions_eu, sanctions_uk) and
screens one name as POST /v1/screen does, for a compliance officer
checking a name by hand: prints the decision (pass, review or reject),
the best score and the matched list entries as JSON, with the lists and
the SHA-256 of their content. A date of birth, an identifier or an
address makes a match more certain or clears a namesake; the thresholds
come from compliance_rules (its "policy"), else the defaults. The AML
rules do not apply to a name alone. Exit status 0 whatever the decision.`,
	example: `  crossclear screen --name "Daniel Moreno"
  crossclear screen --name "Ri Won Ho" --id 381310014 --sanctions-un consolidated.xml
  crossclear screen --name "TNK Trading International Ltd" --country CH --sanctions-ofac /data/ofac`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		name := fs.String("name", "", "the `NAME` to screen (required)")
		country := fs.String("country", "", "the party's country, ISO 3166-1 alpha-2 `CC`")
		dob := fs.String("dob", "", "date of birth `YYYY-MM-DD`")
		id := fs.String("id", "", "an identifier: passport, national `ID`, LEI…")
		address := fs.String("address", "", "a postal `ADDRESS`")
		cf := addConfigFlags(fs, "sanctions_ofac", "sanctions_un", "sanctions_eu", "sanctions_uk", "compliance_rules", "log_level")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("screen", args); err != nil {
				return err
			}
			p := compliance.Party{Role: compliance.Asked, Name: *name, Country: *country, BirthDate: *dob, ID: *id, Address: *address}
			if err := p.Validate(); err != nil {
				var fe *compliance.FieldError
				if errors.As(err, &fe) {
					return usagef("screen", "--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Msg)
				}
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			sc, err := openScreener(ctx, cfg)
			if err != nil {
				return err
			}
			if len(sc.Sources()) == 0 {
				return &configError{"no sanctions list is configured: set sanctions_ofac (--sanctions-ofac), sanctions_un (--sanctions-un), sanctions_eu (--sanctions-eu) and/or sanctions_uk (--sanctions-uk)"}
			}
			out, err := json.MarshalIndent(sc.Check(p), "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s\n", out)
			return nil
		}
	},
}

// openScreener builds the screener the configuration describes and loads
// its lists. A configured list that does not load is an error: serve
// would rather not start than hold payments unscreened.
func openScreener(ctx context.Context, cfg Config) (*compliance.Screener, error) {
	var sc compliance.Config
	if cfg.SanctionsOFAC != "" {
		sc.Sources = append(sc.Sources, compliance.Source{List: compliance.ListOFAC, Location: cfg.SanctionsOFAC})
	}
	if cfg.SanctionsUN != "" {
		sc.Sources = append(sc.Sources, compliance.Source{List: compliance.ListUN, Location: cfg.SanctionsUN})
	}
	if cfg.SanctionsEU != "" {
		sc.Sources = append(sc.Sources, compliance.Source{List: compliance.ListEU, Location: cfg.SanctionsEU})
	}
	if cfg.SanctionsUK != "" {
		sc.Sources = append(sc.Sources, compliance.Source{List: compliance.ListUK, Location: cfg.SanctionsUK})
	}
	if cfg.ComplianceRules != "" {
		rules, err := compliance.LoadRules(cfg.ComplianceRules)
		if err != nil {
			return nil, &configError{"compliance_rules: " + err.Error()}
		}
		sc.Rules = rules
	}
	s, err := compliance.New(sc)
	if err != nil {
		return nil, err
	}
	if _, err := s.Reload(ctx); err != nil {
		return nil, fmt.Errorf("load the sanctions lists: %w", err)
	}
	return s, nil
}

// describeScreening is serve's line about screening; when no list is
// configured it also warns loudly in the log: every payment then passes
// sanctions screening.
func describeScreening(sc *compliance.Screener, cfg Config, log *slog.Logger) string {
	var parts []string
	for _, l := range sc.Lists() {
		parts = append(parts, fmt.Sprintf("%s %d entries (sha256 %s…, loaded %s)", l.Name, l.Entries, l.Hash[:12], l.LoadedAt.Format(time.RFC3339)))
	}
	lists := strings.Join(parts, ", ")
	if len(parts) == 0 {
		log.Warn("NO SANCTIONS LIST IS CONFIGURED: every payment passes sanctions screening; set sanctions_ofac, sanctions_un, sanctions_eu and/or sanctions_uk")
		lists = "NO SANCTIONS LIST (sanctions_ofac, sanctions_un, sanctions_eu, sanctions_uk): sanctions screening passes every payment"
	} else if cfg.SanctionsReload > 0 {
		lists += fmt.Sprintf("; reloaded every %s", cfg.SanctionsReload)
	}
	if r := sc.Rules(); r != nil {
		lists += fmt.Sprintf("; AML rules from %s (base %s, %s)", cfg.ComplianceRules, r.BaseCurrency, r.FATF)
	} else {
		log.Warn("no AML rules are configured (compliance_rules): no large-value, structuring, velocity, high-risk or travel-rule checks")
		lists += "; no AML rules (compliance_rules)"
	}
	return lists
}
