package verify

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/regulator/bundle"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// ErrUnwitnessed is a checkpoint without the quorum of witness
// cosignatures the policy asks for, or whose newest cosignature is too
// old: it may be a split view, a frozen log or a withheld newer report.
var ErrUnwitnessed = errors.New("not witnessed as the policy requires")

// Policy is a regulator's witness policy: Quorum of the Witnesses'
// cosignature keys must have cosigned the newest checkpoint it trusts,
// the newest of those cosignatures no older than MaxAge (0: unchecked).
type Policy struct {
	Witnesses []string // cosignature/v1 verifier keys
	Quorum    int
	MaxAge    time.Duration
	Now       func() time.Time // time.Now when nil
}

// Witnessed is a witness whose cosignature a verification relied on.
type Witnessed struct {
	Name     string    `json:"name"`
	KeyHash  string    `json:"key_hash"` // the key id, hex
	Size     uint64    `json:"size"`     // of the checkpoint it cosigned
	SignedAt time.Time `json:"signed_at"`
}

// Check holds st's newest checkpoint to the policy and returns st with the
// witnesses it relied on recorded. An empty policy checks nothing.
func (p Policy) Check(keys bundle.Keys, st State) (State, error) {
	if len(p.Witnesses) == 0 {
		return st, nil
	}
	if p.Quorum < 1 || p.Quorum > len(p.Witnesses) {
		return st, fmt.Errorf("witness policy: a quorum of %d out of %d witnesses", p.Quorum, len(p.Witnesses))
	}
	if st.Checkpoint == "" {
		return st, fmt.Errorf("%w: there is no checkpoint to check", ErrUnwitnessed)
	}
	vs := make([]note.Verifier, 0, len(keys.CheckpointKeys)+len(p.Witnesses))
	for _, k := range keys.CheckpointKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return st, fmt.Errorf("checkpoint key %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	witnesses := map[string]bool{}
	for _, k := range p.Witnesses {
		v, err := cosignature.NewVerifier(k)
		if err != nil {
			return st, err
		}
		vs = append(vs, v)
		witnesses[fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())] = true
	}
	n, err := note.Open([]byte(st.Checkpoint), note.VerifierList(vs...))
	if err != nil {
		return st, fmt.Errorf("checkpoint %d: %w", st.Size, err)
	}
	var relied []Witnessed
	for _, s := range n.Sigs {
		if !witnesses[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] || slices.ContainsFunc(relied, func(w Witnessed) bool { return w.Name == s.Name }) {
			continue
		}
		at, err := cosignature.Timestamp(s)
		if err != nil {
			return st, err
		}
		relied = append(relied, Witnessed{Name: s.Name, KeyHash: fmt.Sprintf("%08x", s.Hash), Size: st.Size, SignedAt: at})
	}
	if len(relied) < p.Quorum {
		names := make([]string, len(relied))
		for i, w := range relied {
			names[i] = w.Name
		}
		return st, fmt.Errorf("%w: the checkpoint of size %d is cosigned by %d of the policy's witnesses (%s), the policy needs %d: a checkpoint shown to you alone (a split view) never gets them",
			ErrUnwitnessed, st.Size, len(relied), strings.Join(names, ", "), p.Quorum)
	}
	newest := slices.MaxFunc(relied, func(a, b Witnessed) int { return a.SignedAt.Compare(b.SignedAt) }).SignedAt
	if age := p.now().Sub(newest); p.MaxAge > 0 && age > p.MaxAge {
		return st, fmt.Errorf("%w: the newest cosignature of the checkpoint of size %d is %s old, the policy allows %s: the log is frozen, or a newer checkpoint is withheld from you",
			ErrUnwitnessed, st.Size, age.Round(time.Second), p.MaxAge)
	}
	st.Witnesses = relied
	return st, nil
}

func (p Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Compare checks another regulator's signed checkpoint of the log (gossip)
// against st's: the same tree at the same size, or one a prefix of the
// other by a consistency proof among proofs. Two signed checkpoints that
// are not consistent are evidence of a split view: an ErrMisbehaving that
// quotes both.
func Compare(keys bundle.Keys, st State, other []byte, proofs []bundle.Consistency) error {
	if st.Checkpoint == "" {
		return errors.New("compare: the state has no checkpoint yet; verify first")
	}
	verifiers, err := checkpoint.Verifiers(keys.CheckpointKeys)
	if err != nil {
		return err
	}
	theirs, err := checkpoint.Open(other, keys.Origin, verifiers)
	if err != nil {
		return fmt.Errorf("compare: the other checkpoint: %w", err)
	}
	evidence := func(why string) error {
		return fmt.Errorf("%w: %s — two signed checkpoints of one log that cannot both be true:\n%s\n%s", ErrMisbehaving, why, st.Checkpoint, other)
	}
	switch {
	case theirs.Size == st.Size:
		if !bytes.Equal(theirs.Root, st.Root) {
			return evidence(fmt.Sprintf("both are of size %d with different roots", st.Size))
		}
		return nil
	case theirs.Size < st.Size:
		p, ok := findProof(proofs, theirs.Size, st.Size)
		if !ok {
			return fmt.Errorf("compare: give a consistency proof %d→%d (GET /v1/proofs/consistency?from=%d&to=%d)", theirs.Size, st.Size, theirs.Size, st.Size)
		}
		if err := proof.VerifyConsistency(merklelog.Hasher, theirs.Size, st.Size, p, theirs.Root, st.Root); err != nil {
			return evidence(fmt.Sprintf("the other checkpoint (size %d) is not a prefix of yours (size %d)", theirs.Size, st.Size))
		}
	default:
		p, ok := findProof(proofs, st.Size, theirs.Size)
		if !ok {
			return fmt.Errorf("compare: give a consistency proof %d→%d (GET /v1/proofs/consistency?from=%d&to=%d)", st.Size, theirs.Size, st.Size, theirs.Size)
		}
		if err := proof.VerifyConsistency(merklelog.Hasher, st.Size, theirs.Size, p, st.Root, theirs.Root); err != nil {
			return evidence(fmt.Sprintf("the other checkpoint (size %d) does not extend yours (size %d)", theirs.Size, st.Size))
		}
	}
	return nil
}
