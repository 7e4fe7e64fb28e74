package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/messages/signing/vault"
)

// signerKeys are the configuration keys that choose and reach the signer.
var signerKeys = []string{"database", "signer", "dev_key_file", "vault_addr", "vault_token_file", "vault_approle_role_id",
	"vault_approle_secret_id_file", "vault_transit_mount", "vault_key_files", "vault_key_checkpoints", "log_level"}

// purposes names crossclear's keys in the order they are printed.
var purposes = []string{"files", "checkpoints"}

func (s signers) byPurpose() map[string]signing.Signer {
	return map[string]signing.Signer{"files": s.Files, "checkpoints": s.Checkpoints}
}

func choosePurposes(cmd, purpose string) ([]string, error) {
	if purpose == "all" {
		return purposes, nil
	}
	if !slices.Contains(purposes, purpose) {
		return nil, usagef(cmd, "--purpose must be files, checkpoints or all, got %q", purpose)
	}
	return []string{purpose}, nil
}

var keysPublishCmd = &command{
	name:    "keys publish",
	summary: "print the public keys of every version of crossclear's signing keys",
	about: `
Prints, as JSON, the public key (PKIX PEM) of every version of each signing
key, per purpose: "files" signs the files in banks' mailboxes, "checkpoints"
the regulator log's checkpoints. Give the output to partner banks and
regulators: 'crossclear keys verify --keys KEYS.json FILE' checks a file
offline with nothing else. The API serves the same at GET /v1/signing-keys.`,
	example: `  crossclear keys publish > crossclear-keys.json
  crossclear keys publish --signer vault --vault-addr https://vault:8200 --purpose checkpoints`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, signerKeys...)
		purpose := fs.String("purpose", "all", "files, checkpoints or all")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("keys publish", args); err != nil {
				return err
			}
			which, err := choosePurposes("keys publish", *purpose)
			if err != nil {
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			ss, err := openSigners(ctx, cfg, c.getenv, c.logger(cfg))
			if err != nil {
				return err
			}
			out := map[string][]signing.PublicKey{}
			for _, p := range which {
				if out[p], err = ss.byPurpose()[p].PublicKeys(ctx); err != nil {
					return fmt.Errorf("public keys of %s: %w", ss.byPurpose()[p].KeyName(), err)
				}
			}
			b, _ := json.MarshalIndent(map[string]any{"keys": out}, "", "  ") // strings and ints
			fmt.Fprintf(c.stdout, "%s\n", b)
			return nil
		}
	},
}

var keysRotateCmd = &command{
	name:    "keys rotate",
	summary: "rotate a signing key in Vault: new signatures use the new version",
	about: `
Adds a version to the Vault transit key of a purpose ("files" by default).
Signatures made from now on name the new version; those made before keep
verifying, since every version's public key stays published (keys publish,
GET /v1/signing-keys). Needs a Vault token allowed to rotate — the serving
AppRole deliberately is not (deploy/vault/crossclear-signer.hcl). The
development signer has a single key and cannot rotate.`,
	example: `  crossclear keys rotate --purpose checkpoints
  VAULT_TOKEN=… crossclear keys rotate --signer vault --vault-addr https://vault:8200`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, signerKeys...)
		purpose := fs.String("purpose", "files", "files, checkpoints or all")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("keys rotate", args); err != nil {
				return err
			}
			which, err := choosePurposes("keys rotate", *purpose)
			if err != nil {
				return err
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return err
			}
			if cfg.Signer != "vault" {
				return usagef("keys rotate", "the development signer has a single local key and cannot rotate; rotation needs signer = vault")
			}
			ss, err := openSigners(ctx, cfg, c.getenv, c.logger(cfg))
			if err != nil {
				return err
			}
			type rotatedJSON struct {
				Purpose string `json:"purpose"`
				Key     string `json:"key"`
				Version int    `json:"version"`
			}
			rotated := []rotatedJSON{}
			for _, p := range which {
				v := ss.byPurpose()[p].(*vault.Signer)
				if err := v.Rotate(ctx); err != nil {
					return fmt.Errorf("rotate %s: %w", v.KeyName(), err)
				}
				keys, err := v.PublicKeys(ctx)
				if err != nil {
					return fmt.Errorf("public keys of %s: %w", v.KeyName(), err)
				}
				latest := keys[len(keys)-1].Version
				if *asJSON {
					rotated = append(rotated, rotatedJSON{Purpose: p, Key: v.KeyName(), Version: latest})
					continue
				}
				fmt.Fprintf(c.stdout, "Rotated %s (%s): new signatures use version %d; versions 1–%d stay published and verify.\n",
					v.KeyName(), p, latest, latest)
			}
			if *asJSON {
				return printJSON(c.stdout, map[string]any{"rotated": rotated})
			}
			return nil
		}
	},
}

var keysVerifyCmd = &command{
	name:    "keys verify",
	args:    "FILE [SIG]",
	summary: "verify a file's detached signature offline with published public keys",
	about: `
Checks that SIG (default FILE.sig, as 'crossclear files pull' writes it) is
a valid signature over FILE's exact bytes by one of the published keys. The
keys come from --keys (the output of 'crossclear keys publish' or of GET
/v1/signing-keys, or a JSON array of keys); without --keys, from the
configured signer. Prints the key and version that signed; exits 1 when the
signature does not verify (a changed byte, another key, an unknown version).`,
	example: `  crossclear keys verify --keys crossclear-keys.json mailbox/mbx_123.pacs-002-001-10.xml
  crossclear keys verify --keys keys.json report.json report.json.sig`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		cf := addConfigFlags(fs, signerKeys...)
		keysFile := fs.String("keys", "", "published public keys (JSON); default: the configured signer's")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("keys verify", "want FILE [SIG], got %d arguments", len(args))
			}
			file, sigFile := args[0], args[0]+".sig"
			if len(args) == 2 {
				sigFile = args[1]
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			rawSig, err := os.ReadFile(sigFile)
			if err != nil {
				return err
			}
			sig, err := signing.ParseSignature(rawSig)
			if err != nil {
				return fmt.Errorf("%s: %w", sigFile, err)
			}
			var keys []signing.PublicKey
			if *keysFile != "" {
				if keys, err = readPublishedKeys(*keysFile); err != nil {
					return err
				}
			} else {
				cfg, err := cf.load(c.getenv)
				if err != nil {
					return err
				}
				ss, err := openSigners(ctx, cfg, c.getenv, c.logger(cfg))
				if err != nil {
					return err
				}
				for _, p := range purposes {
					ks, err := ss.byPurpose()[p].PublicKeys(ctx)
					if err != nil {
						return err
					}
					keys = append(keys, ks...)
				}
			}
			err = signing.Verify(keys, data, sig)
			if *asJSON {
				doc := map[string]any{"file": file, "signature": sigFile, "ok": err == nil, "key": sig.Key, "version": sig.Version, "algorithm": sig.Algorithm}
				if err != nil {
					doc["error"] = err.Error()
				}
				if perr := printJSON(c.stdout, doc); perr != nil {
					return perr
				}
			} else if err != nil {
				fmt.Fprintf(c.stdout, "FAILED: %s: %v\n", file, err)
			}
			if err != nil {
				return exitCode(exitError)
			}
			if *asJSON {
				return nil
			}
			fmt.Fprintf(c.stdout, "OK: %s is signed by %s version %d (%s)\n", file, sig.Key, sig.Version, sig.Algorithm)
			return nil
		}
	},
}

// readPublishedKeys reads keys as 'keys publish' or GET /v1/signing-keys
// print them ({"keys": {purpose: [...]}}), or a plain array.
func readPublishedKeys(path string) ([]signing.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []signing.PublicKey
	if json.Unmarshal(b, &list) == nil {
		return checkKeys(path, list)
	}
	var doc struct {
		Keys map[string][]signing.PublicKey `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf(`%s: expected {"keys": {...}} as 'crossclear keys publish' and GET /v1/signing-keys print it, or a JSON array of keys`, path)
	}
	names := make([]string, 0, len(doc.Keys))
	for p := range doc.Keys {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		list = append(list, doc.Keys[p]...)
	}
	return checkKeys(path, list)
}

func checkKeys(path string, keys []signing.PublicKey) ([]signing.PublicKey, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no public keys", path)
	}
	for _, k := range keys {
		if err := k.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return keys, nil
}
