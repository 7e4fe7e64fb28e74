package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/api"
)

var apikeyCreateCmd = &command{
	name:    "apikey create",
	summary: "issue an API key and print its secret once",
	about: `
Issues an API key for the HTTP API and prints its secret, once: only a hash
is stored. This is how the first operator key is made; later keys can also
be issued over the API (POST /v1/api-keys) with an operator key.

Roles and their --subject:
  operator   runs the scheme, may do everything (no subject)
  bank       a partner bank: --subject is its participant id (its BIC)
  merchant   a merchant: --subject is its merchant id (mer_…)
  regulator  read-only over one jurisdiction: --subject SG, US-NY, …
  fx_provider  an FX provider posting its rates: --subject is its participant id (its BIC)
  compliance   a compliance officer: screens names, decides on the payments
               screening held for review (no subject: name the officer)`,
	example: `  crossclear apikey create --role operator --name "ops laptop"
  crossclear apikey create --role bank --subject HANSDEFF --name "Hansa Bank integration"
  crossclear apikey create --role regulator --subject SG
  crossclear apikey create --role compliance --name "A. Officer"
  KEY=$(crossclear apikey create --role operator --quiet)`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		role := fs.String("role", "", "`ROLE` of the key: operator, bank, merchant, regulator, fx_provider or compliance (required)")
		subject := fs.String("subject", "", "who the key speaks for: participant `ID`, merchant id or jurisdiction")
		name := fs.String("name", "", "a `NAME` to recognise the key by in listings")
		quiet := fs.Bool("quiet", false, "print only the secret, for scripts")
		asJSON := jsonFlag(fs)
		cf := addConfigFlags(fs, "database", "listen", "log_level")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("apikey create", args); err != nil {
				return err
			}
			r := clearing.Role(strings.ToLower(*role))
			switch {
			case *quiet && *asJSON:
				return usagef("apikey create", "--quiet and --json go separately: one prints the secret alone, the other the key with its secret as JSON")
			case *role == "":
				return usagef("apikey create", "--role is required: operator, bank, merchant, regulator, fx_provider or compliance")
			case !clearing.ValidRole(r):
				return usagef("apikey create", "--role must be operator, bank, merchant, regulator, fx_provider or compliance, got %q", *role)
			case r == clearing.RoleOperator && *subject != "":
				return usagef("apikey create", "an operator key has no --subject (it acts as itself)")
			case r == clearing.RoleCompliance && *subject != "":
				return usagef("apikey create", "a compliance key has no --subject (it acts as itself; --name says whose it is)")
			case r != clearing.RoleOperator && r != clearing.RoleCompliance && *subject == "":
				return usagef("apikey create", "%s key needs --subject (%s)", r.WithArticle(), subjectHint(r))
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			s, err := openStore(ctx, cfg, false)
			if err != nil {
				return err
			}
			defer s.Close()
			k, secret, err := s.CreateAPIKey(ctx, r, *subject, *name, operatorCLI)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, api.APIKeyDocument(k, secret))
			}
			if *quiet {
				fmt.Fprintln(c.stdout, secret)
				return nil
			}
			who := string(k.Role)
			if k.Role != clearing.RoleOperator && k.Role != clearing.RoleCompliance {
				who += " " + k.Subject
			}
			if k.Name != "" {
				who += fmt.Sprintf(", %q", k.Name)
			}
			fmt.Fprintf(c.stdout, "Created API key %s (%s).\n", k.ID, who)
			fmt.Fprintf(c.stdout, "Secret, shown only now (store it safely):\n\n  %s\n\n", secret)
			fmt.Fprintf(c.stdout, "Try it:\n  curl -H 'Authorization: Bearer %s' %s/v1/%s\n", secret, baseURL(cfg.Listen), tryPath(k.Role))
			return nil
		}
	},
}

func subjectHint(r clearing.Role) string {
	switch r {
	case clearing.RoleBank:
		return "the bank's participant id, its BIC"
	case clearing.RoleMerchant:
		return "the merchant id"
	case clearing.RoleFXProvider:
		return "the FX provider's participant id, its BIC"
	default:
		return "a jurisdiction like SG or US-NY"
	}
}

// tryPath is a request the role may make.
func tryPath(r clearing.Role) string {
	switch r {
	case clearing.RoleOperator:
		return "cycles/current"
	case clearing.RoleCompliance:
		return "reviews"
	case clearing.RoleFXProvider:
		return "rates"
	}
	return "payments?limit=5"
}
