package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// Publisher signs a checkpoint for the log whenever it has grown. A log
// must never sign two inconsistent checkpoints, so before signing it
// proves, from the stored tree, that the new tree extends the one the last
// signed checkpoint committed to — the root read from that note, not from
// a column beside it — and refuses loudly otherwise.
type Publisher struct {
	Log    *merklelog.Log
	Origin string
	Signer signing.Signer // ed25519
	Now    func() time.Time
}

// Publish signs and stores a checkpoint for the log's head when the head is
// past the latest signed checkpoint. It returns the latest checkpoint and
// whether this call signed it. If signing fails nothing is stored: the
// caller retries, and what the new leaves hold stays unpublished.
func (p *Publisher) Publish(ctx context.Context) (merklelog.Checkpoint, bool, error) {
	head, err := p.Log.Head(ctx)
	if err != nil {
		return merklelog.Checkpoint{}, false, err
	}
	last, err := p.Log.LatestCheckpoint(ctx)
	switch {
	case errors.Is(err, merklelog.ErrNoCheckpoint):
		if head.Size == 0 {
			return merklelog.Checkpoint{}, false, nil // nothing to commit to yet
		}
	case err != nil:
		return merklelog.Checkpoint{}, false, err
	case last.Size >= head.Size:
		return last, false, nil
	default:
		if err := p.extends(ctx, last, head); err != nil {
			return merklelog.Checkpoint{}, false, err
		}
	}
	signer, err := NewSigner(ctx, p.Signer, p.Origin)
	if err != nil {
		return merklelog.Checkpoint{}, false, err
	}
	c := Checkpoint{Origin: p.Origin, Size: head.Size, Root: head.Root}
	signed, err := Sign(c, signer)
	if err != nil {
		return merklelog.Checkpoint{}, false, err
	}
	cp := merklelog.Checkpoint{Size: c.Size, Root: c.Root, Note: signed, SignedAt: p.now()}
	if err := p.Log.SaveCheckpoint(ctx, cp); err != nil {
		return merklelog.Checkpoint{}, false, err
	}
	return cp, true, nil
}

// extends checks that the tree at head extends the last signed checkpoint.
func (p *Publisher) extends(ctx context.Context, last merklelog.Checkpoint, head merklelog.Head) error {
	vkeys, err := LogVerifierKeys(ctx, p.Signer, p.Origin)
	if err != nil {
		return err
	}
	verifiers, err := Verifiers(vkeys)
	if err != nil {
		return err
	}
	signed, err := Open(last.Note, p.Origin, verifiers)
	if err != nil {
		return fmt.Errorf("refusing to sign: the last stored checkpoint (size %d) does not open with our own key: %w", last.Size, err)
	}
	if signed.Size != last.Size {
		return fmt.Errorf("refusing to sign: the checkpoint stored at size %d says size %d", last.Size, signed.Size)
	}
	cons, err := p.Log.ConsistencyProof(ctx, signed.Size, head.Size)
	if err != nil {
		return err
	}
	if err := proof.VerifyConsistency(merklelog.Hasher, signed.Size, head.Size, cons, signed.Root, head.Root); err != nil {
		return fmt.Errorf("refusing to sign: the log at size %d is not consistent with the checkpoint signed at size %d (has the stored tree been altered?): %w", head.Size, signed.Size, err)
	}
	return nil
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}
