package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Group commit: a Group runs concurrent atomic requests (Atomically's
// unit: an idempotency claim, its effect and its answer) in one shared
// transaction, each in a savepoint of its own, and commits them together,
// so that many requests pay for one commit (docs/performance.md). A
// request whose store call is described as an Op (AtomicallyOp) has it
// made in a batch with its group-mates' instead (group_ops.go). The
// requests run one after another in the order they arrived, exactly as if
// each had its own transaction serialised behind the others: a cap check
// sees the holds before it, two actions on one payment see each other.
//
// A request whose savepoint is rolled back (ErrRollback) changed nothing
// and keeps its answer. Anything else that goes wrong — its own failure
// (ErrRetryAlone, any error), or the group's (begin, a broken
// transaction) — makes the request run again alone in a transaction of
// its own through Atomically, whose outcome is final: one bad request
// never fails its group-mates, and none is answered for an effect that did
// not commit. A commit that failed without the database saying it rolled
// back is the exception: its outcome is unknown, so its requests are
// answered with the failure, as a request of its own would be, never run
// again.
//
// There is no goroutine of its own: the first request to arrive while no
// group runs leads the next group (it runs everyone's work on its
// goroutine, its own first), then hands the lead to the oldest request
// still waiting.

// ErrRetryAlone rolls back a request's work like ErrRollback; in a group
// it also asks for the request to be run again in a transaction of its
// own (its failure may have been caused by its group-mates). Outside a
// group it is ErrRollback.
var ErrRetryAlone = errors.New("roll back and run alone")

// GroupConfig bounds a commit group.
type GroupConfig struct {
	// Max is the most requests one transaction carries; 0 or 1 turns group
	// commit off (every request has its own transaction).
	Max int
	// Window is how long a group waits for more requests to arrive before
	// it starts, when fewer than Max are waiting; 0 starts at once with
	// those waiting (under load the next group fills while one runs).
	Window time.Duration
}

// A Group coalesces atomic requests into shared transactions.
type Group struct {
	s       *Store
	cfg     GroupConfig
	mu      sync.Mutex
	queue   []*groupJob
	leading bool          // a request is leading a group now
	arrived chan struct{} // a request joined the queue (for Window)
	sizes   func(n int)   // observes each group's size (metrics)
}

// groupJob is one request waiting for, or run in, a group.
type groupJob struct {
	ctx   context.Context
	fn    func(ctx context.Context) error
	req   *OpRequest // when its store call can be batched (group_ops.go)
	wake  chan bool  // true: lead the next group; false: done
	err   error      // the request's outcome, when not alone
	alone bool       // run again in a transaction of its own
	after []func()   // AfterCommit functions of a committed request
	panic any        // fn panicked: re-raised on the request's goroutine
	span  trace.Span // its share of the group's transaction
}

// NewGroup makes a Group over s; with cfg.Max ≤ 1 its Atomically is
// s.Atomically. sizes, if not nil, sees the size of every group run.
func (s *Store) NewGroup(cfg GroupConfig, sizes func(n int)) *Group {
	return &Group{s: s, cfg: cfg, arrived: make(chan struct{}, 1), sizes: sizes}
}

// Atomically is Store.Atomically run in a commit group: fn's work commits
// with its group-mates', and Atomically returns once it has committed (or
// been rolled back, or failed), after fn's AfterCommit functions ran.
func (g *Group) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return g.atomically(ctx, nil, fn)
}

func (g *Group) atomically(ctx context.Context, req *OpRequest, fn func(ctx context.Context) error) error {
	if _, nested := atomicFrom(ctx); nested || g.cfg.Max <= 1 {
		return g.s.Atomically(ctx, fn)
	}
	j := &groupJob{ctx: ctx, fn: fn, req: req, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, j)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	if !lead {
		lead = <-j.wake
	}
	if lead {
		g.lead()
	}
	if j.panic != nil {
		panic(j.panic)
	}
	if j.alone {
		return g.s.Atomically(ctx, fn)
	}
	for _, f := range j.after {
		f()
	}
	return j.err
}

// lead runs one group — the oldest waiting requests, the leader's own
// first — wakes its members, and passes the lead on.
func (g *Group) lead() {
	jobs := g.take()
	if g.sizes != nil {
		g.sizes(len(jobs))
	}
	g.run(jobs)
	g.mu.Lock()
	next := (*groupJob)(nil)
	if len(g.queue) > 0 {
		next = g.queue[0]
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, j := range jobs[1:] {
		j.wake <- false
	}
	if next != nil {
		next.wake <- true
	}
}

// take removes up to Max requests from the queue, waiting up to Window
// for the group to fill.
func (g *Group) take() []*groupJob {
	if g.cfg.Window > 0 {
		deadline := time.NewTimer(g.cfg.Window)
		defer deadline.Stop()
	wait:
		for {
			g.mu.Lock()
			n := len(g.queue)
			g.mu.Unlock()
			if n >= g.cfg.Max {
				break
			}
			select {
			case <-g.arrived:
			case <-deadline.C:
				break wait
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), g.cfg.Max)
	jobs := g.queue[:n:n]
	g.queue = append([]*groupJob(nil), g.queue[n:]...)
	return jobs
}

// run executes jobs in one transaction, each in its own savepoint. A
// group of one is simply that request's own transaction.
func (g *Group) run(jobs []*groupJob) {
	if len(jobs) == 1 {
		j := jobs[0]
		j.err = g.s.Atomically(j.ctx, guard(j))
		if j.panic != nil {
			j.err = nil
		}
		return
	}
	// The transaction outlives any one request's context.
	ctx := context.Background()
	tx, err := g.s.db.BeginTx(ctx, nil)
	if err != nil {
		allAlone(jobs)
		return
	}
	defer endSpans(jobs)
	var batched []*groupJob
	for i, j := range jobs {
		if j.req != nil {
			batched = append(batched, j)
			continue
		}
		if err := g.runOne(ctx, tx, i, len(jobs), j); err != nil {
			_ = tx.Rollback()
			allAlone(jobs)
			return
		}
	}
	if err := g.runOps(ctx, tx, len(jobs), batched); err != nil {
		_ = tx.Rollback()
		allAlone(jobs)
		return
	}
	if err := tx.Commit(); err != nil {
		if g.s.commitRefused(err) {
			allAlone(jobs)
			return
		}
		// The outcome is unknown (the commit may have reached the disk
		// before the connection broke): running the requests again could
		// do them twice — an unkeyed hold gets a new UETR. Each is
		// answered with the failure (a 503 when the database went away);
		// a keyed retry then finds the answer or runs.
		allFailed(jobs, fmt.Errorf("commit request group: %w", err))
	}
}

// commitRefused tells a failed commit that certainly rolled back: SQLite's
// (a local library: a failed COMMIT committed nothing), or PostgreSQL's
// answer refusing it (a deferred constraint, a serialization failure).
// Anything else — the connection or the server gone mid-commit — leaves
// the outcome unknown.
func (s *Store) commitRefused(err error) bool {
	if !s.postgres {
		return true
	}
	var pg *pgconn.PgError
	return errors.As(err, &pg) && !Unavailable(err)
}

// endSpans ends the spans of a group's requests once its outcome is known.
func endSpans(jobs []*groupJob) {
	for _, j := range jobs {
		if j.span == nil {
			continue
		}
		j.span.SetAttributes(attribute.Bool("crossclear.commit_group.alone", j.alone))
		endTx(j.span, j.err)
	}
}

// runOne runs one request in a savepoint of the group's transaction. It
// fails only when the transaction itself can no longer be used.
func (g *Group) runOne(ctx context.Context, tx bun.Tx, i, n int, j *groupJob) error {
	sp := fmt.Sprintf("request_%d", i)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	at := &atomicTx{tx: tx}
	jctx, span := g.s.startTx(j.ctx, attribute.Int("crossclear.commit_group.size", n))
	j.span = span
	err := guard(j)(context.WithValue(jctx, atomicKey{}, at))
	at.ended = true
	if err == nil {
		j.after = at.afterCommit
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
		return fmt.Errorf("roll back to savepoint: %w", rerr)
	}
	if !errors.Is(err, ErrRollback) {
		j.alone = true
	}
	return nil
}

// guard runs j.fn, turning a panic into j.panic and a rollback.
func guard(j *groupJob) func(ctx context.Context) error {
	return func(ctx context.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				j.panic, err = p, ErrRollback
			}
		}()
		return j.fn(ctx)
	}
}

// allFailed answers every request of a group whose commit failed with err.
func allFailed(jobs []*groupJob, err error) {
	for _, j := range jobs {
		if j.panic == nil && !j.alone {
			j.err, j.after = err, nil
		}
	}
}

// allAlone sends every request of a failed group to run on its own.
func allAlone(jobs []*groupJob) {
	for _, j := range jobs {
		if j.panic == nil {
			j.alone, j.err, j.after = true, nil, nil
		}
	}
}
