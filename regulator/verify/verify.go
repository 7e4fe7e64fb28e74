// Package verify checks reports offline, the way the Go checksum
// database's client checks its log: with nothing but the published keys
// (bundle.Keys) and the downloaded bundles, it checks each report file's
// signature and hash, the report's entry's inclusion in a signed
// checkpoint, every new checkpoint's consistency with the last one it
// trusted (kept in a State file), and that each jurisdiction's reports
// follow each other without a missing sequence number. Any mismatch is an
// error that says what is wrong; the state moves only when everything
// verifies.
package verify

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

// ErrMisbehaving marks evidence that the log is not append-only: two
// different trees at one size, or a new checkpoint that does not extend
// the one trusted before. It is never a download problem.
var ErrMisbehaving = errors.New("misbehaving log")

// StateSchema names the state file format.
const StateSchema = "crossclear/regulator-verify-state/v1"

// State is what a regulator has verified so far.
type State struct {
	Schema     string           `json:"schema"`
	Origin     string           `json:"origin"`
	Checkpoint string           `json:"checkpoint"` // the newest trusted signed note, verbatim; "" before the first
	Size       uint64           `json:"size"`
	Root       []byte           `json:"root"`
	Seqs       map[string]int64 `json:"seqs"` // "SG cycle" → the last sequence number verified
	// Witnesses are the witnesses whose cosignatures of Checkpoint the
	// last verification relied on (under a witness Policy).
	Witnesses []Witnessed `json:"witnesses,omitempty"`
}

// LoadState reads a state file; a missing file is the empty state of a
// regulator verifying for the first time.
func LoadState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{Schema: StateSchema, Seqs: map[string]int64{}}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("state file: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("state file %s: %w", path, err)
	}
	if s.Schema != StateSchema {
		return State{}, fmt.Errorf("state file %s: schema %q, expected %q", path, s.Schema, StateSchema)
	}
	if s.Seqs == nil {
		s.Seqs = map[string]int64{}
	}
	return s, nil
}

// Save writes the state atomically (a crash leaves the old one).
func (s State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".verify-state-*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

func seqKey(jurisdiction string, kind reports.Kind) string { return jurisdiction + " " + string(kind) }

// Report is one verified report.
type Report struct {
	Entry     reports.Entry
	LeafIndex uint64
	TreeSize  uint64
	Files     []bundle.File
	Seen      bool // its sequence number was verified before
}

// Result is what a verification established.
type Result struct {
	Reports     []Report
	Checkpoints []uint64 // the sizes of the checkpoints checked, ascending
	Trusted     bool     // the state had no checkpoint: the first one was trusted on first use
}

type signedCheckpoint struct {
	checkpoint.Checkpoint
	note string
}

// Verify checks bundles (and any extra consistency proofs) against keys
// and st, and returns the state to keep. On error st is unchanged.
func Verify(keys bundle.Keys, st State, bundles []bundle.Bundle, extra []bundle.Consistency) (State, Result, error) {
	var res Result
	if st.Origin != "" && st.Origin != keys.Origin {
		return st, res, fmt.Errorf("the state file is for the log %q, the keys for %q", st.Origin, keys.Origin)
	}
	verifiers, err := checkpoint.Verifiers(keys.CheckpointKeys)
	if err != nil {
		return st, res, err
	}
	// 1. Every checkpoint: signed by the log's key, for its origin; one
	// tree per size.
	bySize := map[uint64]signedCheckpoint{}
	for _, b := range bundles {
		c, err := openCheckpoint(b, keys.Origin, verifiers)
		if err != nil {
			return st, res, err
		}
		if prev, ok := bySize[c.Size]; ok && !bytes.Equal(prev.Root, c.Root) {
			return st, res, fmt.Errorf("%w: two signed checkpoints of size %d with different roots (%x in one bundle, %x in %s)", ErrMisbehaving, c.Size, prev.Root, c.Root, b.Report)
		}
		bySize[c.Size] = c
	}
	proofs := extra
	for _, b := range bundles {
		if b.Consistency != nil {
			proofs = append(proofs, *b.Consistency)
		}
	}
	// 2. Each checkpoint extends the last one trusted.
	next, err := chain(st, bySize, proofs, &res)
	if err != nil {
		return st, res, err
	}
	// 3. Each report: its files, its entry, its inclusion.
	for _, b := range bundles {
		r, err := checkReport(b, keys.FileKeys, bySize)
		if err != nil {
			return st, res, err
		}
		res.Reports = append(res.Reports, r)
	}
	// 4. No sequence number is missing, per jurisdiction and kind.
	if err := checkSequence(&next, res.Reports); err != nil {
		return st, res, err
	}
	next.Schema, next.Origin = StateSchema, keys.Origin
	if next.Checkpoint != st.Checkpoint {
		next.Witnesses = nil // they cosigned the old one; Policy.Check records the new one's
	}
	return next, res, nil
}

func openCheckpoint(b bundle.Bundle, origin string, verifiers note.Verifiers) (signedCheckpoint, error) {
	c, err := checkpoint.Open([]byte(b.Checkpoint), origin, verifiers)
	if err != nil {
		return signedCheckpoint{}, fmt.Errorf("%s: %w", b.Report, err)
	}
	return signedCheckpoint{Checkpoint: c, note: b.Checkpoint}, nil
}

// chain checks the checkpoints against the state in ascending size: an
// older or equal one must be a prefix of the trusted tree, a newer one must
// extend the newest trusted so far. The first checkpoint of an empty state
// is trusted on first use.
func chain(st State, bySize map[uint64]signedCheckpoint, proofs []bundle.Consistency, res *Result) (State, error) {
	next := st
	next.Seqs = maps.Clone(st.Seqs)
	if next.Seqs == nil {
		next.Seqs = map[string]int64{}
	}
	sizes := make([]uint64, 0, len(bySize))
	for size := range bySize {
		sizes = append(sizes, size)
	}
	slices.Sort(sizes)
	res.Checkpoints = sizes
	for _, size := range sizes {
		c := bySize[size]
		switch {
		case next.Checkpoint == "":
			res.Trusted = true
		case size == next.Size:
			if !bytes.Equal(c.Root, next.Root) {
				return st, fmt.Errorf("%w: the checkpoint of size %d has root %x, the one trusted before has %x", ErrMisbehaving, size, c.Root, next.Root)
			}
			next.Checkpoint = c.note // the same tree, perhaps with fresher cosignatures
			continue
		case size < st.Size:
			p, ok := findProof(proofs, size, st.Size)
			if !ok {
				return st, fmt.Errorf("checkpoint %d is older than the one trusted (%d): fetch a consistency proof %d→%d (GET /v1/proofs/consistency?from=%d&to=%d) or download the report again", size, st.Size, size, st.Size, size, st.Size)
			}
			if err := proof.VerifyConsistency(merklelog.Hasher, size, st.Size, p, c.Root, st.Root); err != nil {
				return st, fmt.Errorf("%w: the checkpoint of size %d is not a prefix of the one trusted (size %d): %v", ErrMisbehaving, size, st.Size, err)
			}
			continue
		default:
			p, ok := findProof(proofs, next.Size, size)
			if !ok {
				return st, fmt.Errorf("checkpoint %d is newer than the last one trusted (%d): a consistency proof %d→%d is needed (download the bundle with ?since_size=%d, or GET /v1/proofs/consistency?from=%d&to=%d)", size, next.Size, next.Size, size, next.Size, next.Size, size)
			}
			if err := proof.VerifyConsistency(merklelog.Hasher, next.Size, size, p, next.Root, c.Root); err != nil {
				return st, fmt.Errorf("%w: the checkpoint of size %d does not extend the one of size %d trusted before — history was rewritten: %v", ErrMisbehaving, size, next.Size, err)
			}
		}
		next.Checkpoint, next.Size, next.Root = c.note, c.Size, c.Root
	}
	return next, nil
}

func findProof(proofs []bundle.Consistency, from, to uint64) ([][]byte, bool) {
	for _, p := range proofs {
		if p.FromSize == from && p.ToSize == to {
			return p.Hashes, true
		}
	}
	return nil, false
}

// checkReport checks one bundle's entry, inclusion and files.
func checkReport(b bundle.Bundle, fileKeys []signing.PublicKey, bySize map[uint64]signedCheckpoint) (Report, error) {
	entry, err := reports.ParseEntry([]byte(b.Entry))
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", b.Report, err)
	}
	if entry.ID != b.Report {
		return Report{}, fmt.Errorf("bundle %s carries the entry of %s", b.Report, entry.ID)
	}
	c, ok := bySize[b.Inclusion.TreeSize]
	if !ok {
		return Report{}, fmt.Errorf("%s: the inclusion proof is for size %d, the bundle's checkpoint is not", b.Report, b.Inclusion.TreeSize)
	}
	leafHash := merklelog.Hasher.HashLeaf([]byte(b.Entry))
	if err := proof.VerifyInclusion(merklelog.Hasher, b.LeafIndex, c.Size, leafHash, b.Inclusion.Hashes, c.Root); err != nil {
		return Report{}, fmt.Errorf("%s: its entry is not in the signed checkpoint of size %d (leaf %d): %v", b.Report, c.Size, b.LeafIndex, err)
	}
	if len(b.Files) != len(entry.Files) {
		return Report{}, fmt.Errorf("%s: the bundle has %d files, the entry names %d", b.Report, len(b.Files), len(entry.Files))
	}
	for _, ef := range entry.Files {
		i := slices.IndexFunc(b.Files, func(f bundle.File) bool { return f.Format == ef.Format })
		if i < 0 {
			return Report{}, fmt.Errorf("%s: the %s file is missing", b.Report, ef.Format)
		}
		f := b.Files[i]
		sum := sha256.Sum256(f.Content)
		if hex.EncodeToString(sum[:]) != ef.SHA256 || int64(len(f.Content)) != ef.Size || f.Name != ef.Name {
			return Report{}, fmt.Errorf("%s: %s was altered: its SHA-256 is %x, the logged entry says %s", b.Report, f.Name, sum, ef.SHA256)
		}
		if err := signing.Verify(fileKeys, f.Content, f.Signature); err != nil {
			return Report{}, fmt.Errorf("%s: the signature of %s: %w", b.Report, f.Name, err)
		}
	}
	if err := checkContent(entry, b); err != nil {
		return Report{}, err
	}
	return Report{Entry: entry, LeafIndex: b.LeafIndex, TreeSize: c.Size, Files: b.Files}, nil
}

// checkContent makes sure the JSON report says what its entry says.
func checkContent(e reports.Entry, b bundle.Bundle) error {
	i := slices.IndexFunc(b.Files, func(f bundle.File) bool { return f.Format == reports.FormatJSON })
	if i < 0 {
		return fmt.Errorf("%s: no JSON file", b.Report)
	}
	var r reports.Report
	if err := json.Unmarshal(b.Files[i].Content, &r); err != nil {
		return fmt.Errorf("%s: the JSON report: %w", b.Report, err)
	}
	if r.ID != e.ID || r.Jurisdiction != e.Jurisdiction || r.Kind != e.Kind || r.Period != e.Period || r.Seq != e.Seq || r.Nil != e.Nil {
		return fmt.Errorf("%s: the JSON report (%s %s %s seq %d) does not say what its entry says (%s %s %s seq %d)",
			b.Report, r.Jurisdiction, r.Kind, r.Period, r.Seq, e.Jurisdiction, e.Kind, e.Period, e.Seq)
	}
	return nil
}

// checkSequence: per jurisdiction and kind, the reports continue the last
// number verified (from 1 for a new state) without a gap; numbers already
// verified may come again.
func checkSequence(st *State, rs []Report) error {
	byKey := map[string][]*Report{}
	var keys []string
	for i := range rs {
		k := seqKey(rs[i].Entry.Jurisdiction, rs[i].Entry.Kind)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], &rs[i])
	}
	slices.Sort(keys)
	for _, k := range keys {
		group := byKey[k]
		slices.SortFunc(group, func(a, b *Report) int { return cmp.Compare(a.Entry.Seq, b.Entry.Seq) })
		last := st.Seqs[k]
		for i, r := range group {
			if i > 0 && r.Entry.Seq == group[i-1].Entry.Seq {
				if r.Entry.ID != group[i-1].Entry.ID {
					return fmt.Errorf("%w: %s report %d is both %s and %s", ErrMisbehaving, k, r.Entry.Seq, group[i-1].Entry.ID, r.Entry.ID)
				}
				continue
			}
			switch {
			case r.Entry.Seq <= last:
				r.Seen = true
			case r.Entry.Seq == last+1:
				last = r.Entry.Seq
			default:
				return fmt.Errorf("%s report %d is missing: the last verified is %d and the next here is %d (%s); a withheld or dropped report", k, last+1, last, r.Entry.Seq, r.Entry.ID)
			}
		}
		st.Seqs[k] = last
	}
	return nil
}
