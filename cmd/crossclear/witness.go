package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/witness"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// witnessKeyFlags choose the witness's own key: a key file of its own, or
// a Vault transit ed25519 key (with the vault_* configuration).
type witnessKeyFlags struct {
	name     *string
	keyFile  *string
	vaultKey *string
	cf       *configFlags
}

func addWitnessKeyFlags(fs *flag.FlagSet) *witnessKeyFlags {
	return &witnessKeyFlags{
		name:     fs.String("name", "", "the witness's `NAME`, URL-like (e.g. witness.mas.gov.sg/crossclear): the key name of its cosignatures (required)"),
		keyFile:  fs.String("key-file", "", "the witness's ed25519 key `FILE` (PKCS#8 PEM; created, mode 0600, when missing)"),
		vaultKey: fs.String("vault-key", "", "or a Vault transit ed25519 key `NAME` (with the vault_* settings)"),
		cf:       addConfigFlags(fs, "vault_addr", "vault_token_file", "vault_approle_role_id", "vault_approle_secret_id_file", "vault_transit_mount", "log_level"),
	}
}

// open returns the witness's cosigner.
func (f *witnessKeyFlags) open(ctx context.Context, c *cli, cmd string) (*cosignature.Signer, Config, error) {
	if *f.name == "" {
		return nil, Config{}, usagef(cmd, "--name is required: the witness's URL-like name")
	}
	if (*f.keyFile == "") == (*f.vaultKey == "") {
		return nil, Config{}, usagef(cmd, "give exactly one of --key-file and --vault-key")
	}
	cfg, err := f.cf.load(c.getenv)
	if err != nil {
		return nil, Config{}, err
	}
	var key signing.Signer
	if *f.keyFile != "" {
		if key, err = signing.OpenDevSigner(*f.keyFile, "witness"); err != nil {
			return nil, Config{}, err
		}
	} else {
		client, err := vaultClient(ctx, cfg, c.getenv, c.logger(cfg))
		if err != nil {
			return nil, Config{}, err
		}
		if key, err = vault.New(client, vault.Config{Mount: cfg.VaultTransitMount, Key: *f.vaultKey}); err != nil {
			return nil, Config{}, err
		}
	}
	cs, err := cosignature.NewSigner(ctx, *f.name, key, nil)
	if err != nil {
		return nil, Config{}, err
	}
	return cs, cfg, nil
}

var witnessServeCmd = &command{
	name:    "witness serve",
	summary: "run a c2sp.org/tlog-witness witness of crossclear's log (a regulator's)",
	about: `
A witness a regulator runs on its own machine, with its own key (a key file
or a Vault transit ed25519 key) and its own SQLite state (--db). It serves
POST /add-checkpoint per c2sp.org/tlog-witness and cosigns a checkpoint of a
log it witnesses (crossclear witness add-log) only with a valid consistency
proof from the last checkpoint it cosigned: a checkpoint inconsistent with
it (a split view) or older (a rollback) is refused, so no two inconsistent
histories ever carry its cosignature. GET /<sha256(origin)>/checkpoint
serves the latest checkpoint it cosigned.

At start it prints its verifier key (name+id+base64): give it to the
operator (crossclear's witnesses setting) and to whoever verifies under a
policy that counts it. Serve it over HTTPS behind a TLS proxy when it is
not on loopback.`,
	example: `  crossclear witness add-log --db mas-witness.db --origin crossclear/XCLRGB2L/regulator-log --key "$(jq -r '.checkpoint_keys[0]' crossclear-regulator-keys.json)"
  crossclear witness serve --db mas-witness.db --name witness.mas.gov.sg/crossclear --key-file mas-witness.key --listen 0.0.0.0:7380`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		db := fs.String("db", "crossclear-witness.db", "the witness's SQLite state `FILE`")
		listen := fs.String("listen", "127.0.0.1:7380", "`ADDR` to listen on")
		keys := addWitnessKeyFlags(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("witness serve", args); err != nil {
				return err
			}
			cs, cfg, err := keys.open(ctx, c, "witness serve")
			if err != nil {
				return err
			}
			st, err := witness.OpenState(ctx, *db)
			if err != nil {
				return err
			}
			defer st.Close()
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", *listen, err)
			}
			w := &witness.Witness{State: st, Signer: cs, Logger: c.logger(cfg)}
			srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
			fmt.Fprintf(c.stdout, "crossclear witness %s serving on %s\nverifier key %s\n", cs.Name(), baseURL(ln.Addr().String()), cs.Verifier())
			return serveUntilDone(ctx, "witness", srv, func() error { return srv.Serve(ln) })
		}
	},
}

var witnessKeyCmd = &command{
	name:    "witness key",
	summary: "print a witness's verifier key",
	about: `
Prints the verifier key of the witness --name with its key (--key-file,
created when missing, or --vault-key): the c2sp.org/tlog-cosignature
"name+id+base64(0x04 ‖ public key)" the operator configures and verifiers
count in their policy.`,
	example: `  crossclear witness key --name witness.mas.gov.sg/crossclear --key-file mas-witness.key`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		keys := addWitnessKeyFlags(fs)
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("witness key", args); err != nil {
				return err
			}
			cs, _, err := keys.open(ctx, c, "witness key")
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]string{"name": cs.Name(), "vkey": cs.Verifier().String()})
			}
			fmt.Fprintln(c.stdout, cs.Verifier())
			return nil
		}
	},
}

var witnessAddLogCmd = &command{
	name:    "witness add-log",
	summary: "witness a log: its origin and its checkpoint key",
	about: `
Adds a log to the witness's state at size 0 (when it is new) and trusts
--key, a signed-note Ed25519 verifier key named after the origin (the
first of checkpoint_keys in crossclear's keys document), for its
checkpoints. A log is never reset: to stop witnessing, remove its keys
(--remove).`,
	example: `  crossclear witness add-log --db mas-witness.db --origin crossclear/XCLRGB2L/regulator-log --key crossclear/XCLRGB2L/regulator-log+1a2b3c4d+AX…`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		db := fs.String("db", "crossclear-witness.db", "the witness's SQLite state `FILE`")
		origin := fs.String("origin", "", "the log's `ORIGIN` (required)")
		key := fs.String("key", "", "the log's verifier `KEY` (required)")
		remove := fs.Bool("remove", false, "stop trusting --key instead")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("witness add-log", args); err != nil {
				return err
			}
			if *origin == "" || *key == "" {
				return usagef("witness add-log", "--origin and --key are required")
			}
			st, err := witness.OpenState(ctx, *db)
			if err != nil {
				return err
			}
			defer st.Close()
			if *remove {
				if err := st.RemoveKey(ctx, *origin, *key); err != nil {
					return err
				}
				if *asJSON {
					return printJSON(c.stdout, map[string]any{"origin": *origin, "key": *key, "removed": true})
				}
				fmt.Fprintf(c.stdout, "no longer trusting %s for %s\n", *key, *origin)
				return nil
			}
			added := st.AddLog(ctx, *origin) == nil // else already witnessed: a log is never reset
			if err := st.AddKey(ctx, *origin, *key); err != nil {
				return usagef("witness add-log", "%v", err)
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"origin": *origin, "key": *key, "new_log": added})
			}
			if added {
				fmt.Fprintf(c.stdout, "witnessing %s from size 0\n", *origin)
			}
			fmt.Fprintf(c.stdout, "trusting %s for %s\n", *key, *origin)
			return nil
		}
	},
}

var witnessLogsCmd = &command{
	name:    "witness logs",
	summary: "list the logs a witness witnesses, with their keys and latest size",
	example: `  crossclear witness logs --db mas-witness.db`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		db := fs.String("db", "crossclear-witness.db", "the witness's SQLite state `FILE`")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("witness logs", args); err != nil {
				return err
			}
			st, err := witness.OpenState(ctx, *db)
			if err != nil {
				return err
			}
			defer st.Close()
			logs, err := st.Logs(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"logs": logs})
			}
			for _, l := range logs {
				fmt.Fprintf(c.stdout, "%s  size %d  root %s  keys %s\n", l.Origin, l.Size, base64.StdEncoding.EncodeToString(l.Root), strings.Join(l.Keys, ", "))
			}
			return nil
		}
	},
}

var regulatorAddWitnessCmd = &command{
	name:    "regulator add-witness",
	summary: "ask a witness to cosign the regulator log's checkpoints",
	about: `
Registers a c2sp.org/tlog-witness witness (a regulator's crossclear witness,
a litewitness…): --vkey is its cosignature verifier key (it prints it at
start; crossclear witness key), --url its submission prefix (URL/add-checkpoint
is posted to). serve asks it to cosign each new checkpoint with the
consistency proof from the size it last cosigned (a 409 names its size and
the request is sent again from there), and again every
regulator_checkpoint_interval; failures back off (5 s doubling to 1 h,
jittered). The witness must know the log: witness add-log with the origin
and the first of checkpoint_keys (crossclear regulator keys). The URL must
be https (http is accepted on loopback).`,
	example: `  crossclear regulator add-witness --vkey "$(crossclear witness key --name witness.mas.gov.sg/crossclear --key-file mas-witness.key)" --url https://witness.mas.gov.sg`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		vkey := fs.String("vkey", "", "the witness's cosignature verifier `KEY` (required)")
		url := fs.String("url", "", "the witness's `URL` (required)")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator add-witness", args); err != nil {
				return err
			}
			if *vkey == "" || *url == "" {
				return usagef("regulator add-witness", "--vkey and --url are required")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			w, err := (&witnessing.Registry{DB: s.DB(), Now: s.Now}).Add(ctx, *vkey, *url, operatorCLI)
			if err != nil {
				return fieldError("regulator add-witness", err, map[string]string{"vkey": "--vkey", "url": "--url"})
			}
			if *asJSON {
				return printJSON(c.stdout, w)
			}
			fmt.Fprintf(c.stdout, "witness %s at %s: asked to cosign from the next pass of serve\n", w.Name, w.URL)
			return nil
		}
	},
}

var regulatorRemoveWitnessCmd = &command{
	name:    "regulator remove-witness",
	args:    "NAME",
	summary: "stop asking a witness to cosign",
	about: `
Stops asking the witness; its cosignatures already kept stay served.`,
	example: `  crossclear regulator remove-witness witness.mas.gov.sg/crossclear`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("regulator remove-witness", "want the witness's name")
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := (&witnessing.Registry{DB: s.DB(), Now: s.Now}).Remove(ctx, args[0], operatorCLI); err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"name": args[0], "removed": true})
			}
			fmt.Fprintf(c.stdout, "witness %s removed\n", args[0])
			return nil
		}
	},
}

var regulatorWitnessesCmd = &command{
	name:    "regulator witnesses",
	summary: "the witnesses, the size each last cosigned, its lag and why it fails",
	example: `  crossclear regulator witnesses`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, "database", "log_level")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("regulator witnesses", args); err != nil {
				return err
			}
			s, err := cf.openExisting(ctx, c)
			if err != nil {
				return err
			}
			defer s.Close()
			latest, err := merklelog.New(s.DB()).LatestCheckpoint(ctx)
			if err != nil && !errors.Is(err, merklelog.ErrNoCheckpoint) {
				return err
			}
			ws, err := (&witnessing.Registry{DB: s.DB(), Now: s.Now}).List(ctx, latest.Size)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"checkpoint_size": latest.Size, "witnesses": ws})
			}
			fmt.Fprintf(c.stdout, "latest checkpoint: size %d\n", latest.Size)
			for _, w := range ws {
				state := "ok"
				if w.LastError != "" {
					state = fmt.Sprintf("failing (%d attempts, next %s): %s", w.Attempts, w.NextAttemptAt.Format(time.RFC3339), w.LastError)
				}
				age := "never cosigned"
				if !w.CosignedAt.IsZero() {
					age = fmt.Sprintf("cosigned %s ago", time.Duration(w.LagSeconds*float64(time.Second)).Round(time.Second))
				}
				fmt.Fprintf(c.stdout, "%s  %s  size %d (lag %d)  %s  %s\n", w.Name, w.URL, w.Size, w.LagSize, age, state)
			}
			return nil
		}
	},
}
