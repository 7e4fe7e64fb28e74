package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/verify"
)

var verifyCmd = &command{
	name:    "verify",
	args:    "FILE...",
	summary: "verify downloaded or pushed regulator reports offline",
	about: `
Checks report bundles (from the regulator gateway's
/v1/reports/{id}/bundle, or pushed to a regulator's endpoint) with nothing
but the published keys (crossclear regulator keys, or the gateway's
/v1/keys) — no network, no database:

  - each report file's signature, and its SHA-256 against the report's
    entry in the log;
  - the entry's inclusion in the signed checkpoint the bundle carries;
  - that each newer checkpoint extends the last one verified, with the
    consistency proof in the bundle (downloaded with ?since_size=N, N the
    size in the state file) or in a proof file given beside it
    (/v1/proofs/consistency?from=N&to=M);
  - that each jurisdiction's reports follow the last number verified
    without a gap (a period with nothing to report has a nil report, so a
    withheld report shows as a missing number).

With a witness policy (--witness KEY, once per witness, and --quorum K) the
newest checkpoint must carry valid cosignatures of at least K of those
witnesses (c2sp.org/tlog-cosignature): a checkpoint shown to you alone — a
split view — never gets them. --max-age also requires the newest of those
cosignatures to be that recent: a frozen log, or an older checkpoint shown
to hide a newer report, fails. The state file records the witnesses relied
on. --compare FILE checks another regulator's signed checkpoint (its
/checkpoint, or its state's) against yours: two that are not consistent
are printed as evidence of a split view.

The state file keeps the last checkpoint and the last numbers verified; it
moves only when everything checks out. Any mismatch prints FAILED and
exits 1; a log that shows two different histories is reported as a
misbehaving log. The first run trusts the first checkpoint it sees and
says so. --out writes each verified report's files into a directory.`,
	example: `  crossclear verify --keys crossclear-regulator-keys.json SG-cycle-1.bundle.json
  crossclear verify --keys keys.json --state mas.state.json --out reports/ bundles/*.json
  crossclear verify --keys keys.json --state mas.state.json --witness "$W1" --witness "$W2" --witness "$W3" --quorum 2 --max-age 1h bundles/*.json
  crossclear verify --keys keys.json --state mas.state.json --compare bafin-checkpoint.txt`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		keysFile := fs.String("keys", "", "the published keys `FILE` (required)")
		stateFile := fs.String("state", "crossclear-verify-state.json", "the state `FILE`: the last checkpoint and report numbers verified (created on the first run)")
		out := fs.String("out", "", "write the verified reports' files into `DIR`")
		var policy verify.Policy
		fs.Func("witness", "a witness's cosignature verifier `KEY` the policy counts (repeat per witness)", func(v string) error {
			policy.Witnesses = append(policy.Witnesses, v)
			return nil
		})
		fs.IntVar(&policy.Quorum, "quorum", 0, "how many of the --witness keys must have cosigned the newest checkpoint (`K`; default all of them)")
		fs.DurationVar(&policy.MaxAge, "max-age", 0, "the newest of those cosignatures must be this recent (`DURATION`, e.g. 1h; 0: unchecked)")
		compare := fs.String("compare", "", "another regulator's signed checkpoint `FILE` to check yours against (gossip)")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if *keysFile == "" {
				return usagef("verify", "--keys is required: the published keys (crossclear regulator keys, or GET /v1/keys)")
			}
			if len(args) == 0 && *compare == "" {
				return usagef("verify", "give the bundle files to verify")
			}
			if policy.Quorum == 0 {
				policy.Quorum = len(policy.Witnesses)
			}
			if (policy.MaxAge > 0 || policy.Quorum > 0) && len(policy.Witnesses) == 0 {
				return usagef("verify", "--quorum and --max-age need --witness keys")
			}
			var other []byte
			if *compare != "" {
				var err error
				if other, err = os.ReadFile(*compare); err != nil {
					return usagef("verify", "--compare: %v", err)
				}
			}
			raw, err := os.ReadFile(*keysFile)
			if err != nil {
				return usagef("verify", "--keys: %v", err)
			}
			keys, err := bundle.ParseKeys(raw)
			if err != nil {
				return usagef("verify", "--keys %s: %v", *keysFile, err)
			}
			bundles, proofs, err := readVerifyFiles(args)
			if err != nil {
				return err
			}
			st, err := verify.LoadState(*stateFile)
			if err != nil {
				return err
			}
			next, res := st, verify.Result{}
			if len(bundles) > 0 {
				next, res, err = verify.Verify(keys, st, bundles, proofs)
			}
			if err == nil {
				next, err = policy.Check(keys, next)
			}
			if err == nil && other != nil {
				err = verify.Compare(keys, next, other, proofs)
			}
			if *asJSON {
				return printVerifyJSON(c, res, next, err, *stateFile, *out)
			}
			if err != nil {
				fmt.Fprintf(c.stdout, "FAILED: %v\n", err)
				if errors.Is(err, verify.ErrMisbehaving) {
					fmt.Fprintln(c.stdout, "The log has shown two different histories: keep these files as evidence and tell the operator and your supervisor. The state file was not changed.")
				} else {
					fmt.Fprintln(c.stdout, "Nothing was accepted; the state file was not changed.")
				}
				return exitCode(exitError)
			}
			prev := st.Size
			for i, size := range res.Checkpoints {
				switch {
				case i == 0 && res.Trusted:
					fmt.Fprintf(c.stdout, "checkpoint %d: signed by the log; trusted on first use (the state file had none)\n", size)
				case size > prev:
					fmt.Fprintf(c.stdout, "checkpoint %d: signed by the log, consistent with checkpoint %d verified before\n", size, prev)
				case size == st.Size:
					fmt.Fprintf(c.stdout, "checkpoint %d: signed by the log, the one verified before\n", size)
				default:
					fmt.Fprintf(c.stdout, "checkpoint %d: signed by the log, a prefix of checkpoint %d verified before\n", size, st.Size)
				}
				prev = max(prev, size)
			}
			if len(next.Witnesses) > 0 {
				var by []string
				for _, w := range next.Witnesses {
					by = append(by, fmt.Sprintf("%s (%s)", w.Name, w.SignedAt.Format(time.RFC3339)))
				}
				fmt.Fprintf(c.stdout, "checkpoint %d: cosigned by %s — %d of %d witnesses required\n", next.Size, strings.Join(by, ", "), policy.Quorum, len(policy.Witnesses))
			}
			if other != nil {
				fmt.Fprintf(c.stdout, "%s: consistent with checkpoint %d\n", *compare, next.Size)
			}
			for _, r := range res.Reports {
				var names []string
				for _, f := range r.Files {
					names = append(names, fmt.Sprintf("%s (signed by %s v%d)", f.Name, f.Signature.Key, f.Signature.Version))
				}
				what := ""
				if r.Entry.Nil {
					what = ", nil report: nothing to report"
				}
				if r.Seen {
					what += ", already verified before"
				}
				fmt.Fprintf(c.stdout, "OK %s: %s %s %s, report %d%s; leaf %d of checkpoint %d; %s\n", r.Entry.ID, r.Entry.Jurisdiction,
					r.Entry.Kind, r.Entry.Period, r.Entry.Seq, what, r.LeafIndex, r.TreeSize, strings.Join(names, ", "))
				if *out != "" {
					if err := writeReportFiles(*out, r); err != nil {
						return err
					}
				}
			}
			if err := next.Save(*stateFile); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "state %s: checkpoint %d\n", *stateFile, next.Size)
			return nil
		}
	},
}

// readVerifyFiles sorts the arguments into bundles and consistency proofs.
func readVerifyFiles(paths []string) ([]bundle.Bundle, []bundle.Consistency, error) {
	var bundles []bundle.Bundle
	var proofs []bundle.Consistency
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var probe struct {
			Schema   string  `json:"schema"`
			FromSize *uint64 `json:"from_size"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, nil, fmt.Errorf("%s: not JSON: %w", p, err)
		}
		switch {
		case probe.Schema != "":
			b, err := bundle.Parse(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p, err)
			}
			bundles = append(bundles, b)
		case probe.FromSize != nil:
			var cp bundle.Consistency
			if err := json.Unmarshal(raw, &cp); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p, err)
			}
			proofs = append(proofs, cp)
		default:
			return nil, nil, fmt.Errorf("%s is neither a report bundle nor a consistency proof", p)
		}
	}
	if len(bundles) == 0 && len(paths) > 0 {
		return nil, nil, usagef("verify", "no report bundle among the files")
	}
	return bundles, proofs, nil
}

// writeReportFiles writes a verified report's files into dir.
func writeReportFiles(dir string, r verify.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range r.Files {
		if f.Name != filepath.Base(f.Name) || strings.HasPrefix(f.Name, ".") {
			return fmt.Errorf("report %s names a file %q outside the directory", r.Entry.ID, f.Name)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// verifyJSON is what verify --json prints: ok, and either the error (with
// misbehaving when the log showed two histories) or the checkpoints and
// reports verified and the state file's new checkpoint.
type verifyJSON struct {
	OK          bool               `json:"ok"`
	Error       string             `json:"error,omitempty"`
	Misbehaving bool               `json:"misbehaving,omitempty"`
	Trusted     bool               `json:"trusted_on_first_use,omitempty"`
	Checkpoints []uint64           `json:"checkpoints"`
	Witnesses   []verify.Witnessed `json:"witnesses,omitempty"`
	Reports     []verifiedReport   `json:"reports"`
	State       *verifyStateJSON   `json:"state,omitempty"`
}

type verifiedReport struct {
	ID           string               `json:"id"`
	Jurisdiction string               `json:"jurisdiction"`
	Kind         string               `json:"kind"`
	Period       string               `json:"period"`
	Seq          uint64               `json:"seq"`
	Nil          bool                 `json:"nil,omitempty"`
	Seen         bool                 `json:"already_verified,omitempty"`
	LeafIndex    uint64               `json:"leaf_index"`
	TreeSize     uint64               `json:"tree_size"`
	Files        []verifiedReportFile `json:"files"`
}

type verifiedReportFile struct {
	Name       string `json:"name"`
	Key        string `json:"key"`
	KeyVersion int    `json:"key_version"`
}

type verifyStateJSON struct {
	File string `json:"file"`
	Size uint64 `json:"checkpoint_size"`
}

func printVerifyJSON(c *cli, res verify.Result, next verify.State, err error, stateFile, outDir string) error {
	doc := verifyJSON{OK: err == nil, Checkpoints: []uint64{}, Reports: []verifiedReport{}}
	if err != nil {
		doc.Error, doc.Misbehaving = err.Error(), errors.Is(err, verify.ErrMisbehaving)
		if perr := printJSON(c.stdout, doc); perr != nil {
			return perr
		}
		return exitCode(exitError)
	}
	doc.Trusted, doc.Witnesses = res.Trusted, next.Witnesses
	for _, size := range res.Checkpoints {
		doc.Checkpoints = append(doc.Checkpoints, uint64(size))
	}
	for _, r := range res.Reports {
		vr := verifiedReport{ID: r.Entry.ID, Jurisdiction: r.Entry.Jurisdiction, Kind: string(r.Entry.Kind), Period: r.Entry.Period,
			Seq: uint64(r.Entry.Seq), Nil: r.Entry.Nil, Seen: r.Seen, LeafIndex: uint64(r.LeafIndex), TreeSize: uint64(r.TreeSize),
			Files: []verifiedReportFile{}}
		for _, f := range r.Files {
			vr.Files = append(vr.Files, verifiedReportFile{Name: f.Name, Key: f.Signature.Key, KeyVersion: f.Signature.Version})
		}
		doc.Reports = append(doc.Reports, vr)
		if outDir != "" {
			if err := writeReportFiles(outDir, r); err != nil {
				return err
			}
		}
	}
	if err := next.Save(stateFile); err != nil {
		return err
	}
	doc.State = &verifyStateJSON{File: stateFile, Size: uint64(next.Size)}
	return printJSON(c.stdout, doc)
}
