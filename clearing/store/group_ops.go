package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"

	"github.com/crossclear/crossclear/clearing"
)

// Batched requests: a commit group runs its single-payment requests one
// after another, each with its own ~20 statements. A request that
// describes its store call as an Op lets the group make all of them in a
// few batches instead — one HoldInstructed, one ActBatch — the
// statements the batch endpoints already use, whose per-item answers are
// exactly a request's own (each hold checked in order against the cap,
// actions on one payment seeing each other). Its idempotency claim and its
// recorded answer stay its own.

// An Op is one hold or one action, described rather than made.
type Op struct {
	Hold  *clearing.HoldRequest
	Instr Instruction    // with Hold: what the caller says of its parties
	By    clearing.Actor // with Hold (an action carries its own)
	Act   *ActRequest
}

// Do makes op's store call on its own, in ctx's atomic request if any.
func (s *Store) Do(ctx context.Context, op Op) (Result, error) {
	var res []Result
	var err error
	if op.Act != nil {
		res, err = s.ActBatch(ctx, []ActRequest{*op.Act})
	} else {
		res, err = s.HoldInstructed(ctx, []clearing.HoldRequest{*op.Hold}, []Instruction{op.Instr}, op.By)
	}
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// doAll makes every op's store call in two batches — the holds, each with
// its own actor, in arrival order, then the actions; the results match ops.
func (s *Store) doAll(ctx context.Context, ops []Op) ([]Result, error) {
	results := make([]Result, len(ops))
	var holds, acts []int
	for i, op := range ops {
		if op.Act != nil {
			acts = append(acts, i)
		} else {
			holds = append(holds, i)
		}
	}
	if len(holds) > 0 {
		reqs, instr, by := make([]clearing.HoldRequest, len(holds)), make([]Instruction, len(holds)), actors{each: make([]clearing.Actor, len(holds))}
		for k, i := range holds {
			reqs[k], instr[k], by.each[k] = *ops[i].Hold, ops[i].Instr, ops[i].By
		}
		res, err := s.holdInstructed(ctx, reqs, instr, by)
		if err != nil {
			return nil, fmt.Errorf("hold a group's %d payments: %w", len(reqs), err)
		}
		for k, i := range holds {
			results[i] = res[k]
		}
	}
	if len(acts) > 0 {
		reqs := make([]ActRequest, len(acts))
		for k, i := range acts {
			reqs[k] = *ops[i].Act
		}
		res, err := s.ActBatch(ctx, reqs)
		if err != nil {
			return nil, fmt.Errorf("act on a group's %d payments: %w", len(reqs), err)
		}
		for k, i := range acts {
			results[i] = res[k]
		}
	}
	return results, nil
}

// An OpRequest is an atomic request whose store call is an Op. In a
// group, every request's idempotency claim is made in one statement, then
// the group's store calls, then Answer is given each op's result and
// returns the answer to record for its claim, and all are recorded in one
// statement. Answer runs in the group's transaction; an error from it
// (ErrRollback aside) fails the group's batch, and every request of it
// runs alone. A refused claim (a bad or reused key) runs alone, after the
// group, where its own path answers the refusal.
type OpRequest struct {
	Op     Op
	Claim  *IdempotencyClaim            // nil: no key
	Replay func(stored *StoredResponse) // the claim found the request answered already: nothing runs
	Answer func(ctx context.Context, r Result) (*StoredResponse, error)
}

// AtomicallyOp is Atomically for a request whose store call is req.Op: in
// a group, its store call is batched with its group-mates'. When it has to
// run alone (no group, a group of one, a failed batch), alone runs in a
// transaction of its own, as Atomically would run it.
func (g *Group) AtomicallyOp(ctx context.Context, req OpRequest, alone func(ctx context.Context) error) error {
	return g.atomically(ctx, &req, alone)
}

// runOps runs the group's op requests in one savepoint: claims, one batch
// of store calls, answers. If any of it fails, the savepoint is rolled
// back and each runs alone; it returns an error only when the transaction
// itself can no longer be used.
func (g *Group) runOps(ctx context.Context, tx bun.Tx, n int, jobs []*groupJob) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT ops"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if g.batch(ctx, tx, n, jobs) {
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT ops"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT ops"); err != nil {
		return fmt.Errorf("roll back to savepoint: %w", err)
	}
	for _, j := range jobs {
		j.alone, j.after = true, nil
	}
	return nil
}

// errBatchFailed stops a batch whose request panicked.
var errBatchFailed = errors.New("a request of the batch panicked")

// batch runs the op requests' claims, store calls and answers; false when
// any failed.
func (g *Group) batch(ctx context.Context, tx bun.Tx, n int, jobs []*groupJob) bool {
	shared := &atomicTx{tx: tx}
	sctx := context.WithValue(ctx, atomicKey{}, shared)
	defer func() { shared.ended = true }()

	var claims []IdempotencyClaim
	var claimants, running []*groupJob
	claimed := map[[2]string]bool{}
	for _, j := range jobs {
		if c := j.req.Claim; c != nil {
			if claimed[[2]string{c.Caller, c.Key}] {
				// A second copy of a request in flight: it must see the
				// first's answer, which exists once this group commits.
				j.alone = true
				continue
			}
			claimed[[2]string{c.Caller, c.Key}] = true
			claims = append(claims, *c)
			claimants = append(claimants, j)
			continue
		}
		running = append(running, j)
	}
	stored, refused, err := g.s.ClaimIdempotencyKeys(sctx, claims)
	if err != nil {
		return false
	}
	for i, j := range claimants {
		switch {
		case refused[i] != nil:
			// A bad or reused key: its own path answers the refusal, after
			// the group (failing the batch would make one such request
			// cost every group-mate a transaction of its own).
			j.alone = true
		case stored[i] != nil:
			j.req.Replay(stored[i])
		default:
			running = append(running, j)
		}
	}
	ops := make([]Op, len(running))
	for i, j := range running {
		ops[i] = j.req.Op
	}
	results, err := g.s.doAll(sctx, ops)
	if err != nil {
		return false
	}
	var answers []IdempotentAnswer
	ats := make([]*atomicTx, len(running))
	for i, j := range running {
		ats[i] = &atomicTx{tx: tx}
		jctx, span := g.s.startTx(j.ctx, attribute.Int("crossclear.commit_group.size", n), attribute.Bool("crossclear.commit_group.batched", true))
		j.span = span
		var answer *StoredResponse
		err := protect(j, func() (err error) {
			answer, err = j.req.Answer(context.WithValue(jctx, atomicKey{}, ats[i]), results[i])
			return err
		})
		ats[i].ended = true
		c := j.req.Claim
		// A rollback undoes a request's claim too, which a batch cannot
		// do for one of its requests: a keyed one (answered 429 or 503,
		// kept for no replay) fails the batch and runs alone.
		if err != nil && (c != nil || !errors.Is(err, ErrRollback)) {
			return false
		}
		if c != nil && answer != nil {
			answers = append(answers, IdempotentAnswer{Caller: c.Caller, Key: c.Key, StoredResponse: *answer})
		}
	}
	if err := g.s.RecordIdempotentAnswers(sctx, answers); err != nil {
		return false
	}
	for i, j := range running {
		j.after = ats[i].afterCommit
	}
	if len(running) > 0 {
		running[0].after = append(running[0].after, shared.afterCommit...)
	}
	return true
}

// protect runs f for j, turning a panic into j.panic and a failed batch.
func protect(j *groupJob, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panic, err = p, errBatchFailed
		}
	}()
	return f()
}

// Coalesces tells whether the group runs requests together (Max > 1).
func (g *Group) Coalesces() bool { return g.cfg.Max > 1 }
