// Package crashtest proves that crossclear's mutating API is exactly-once
// across crashes. It has no code of its own, only a test (crash_test.go);
// the client, its journal, its traffic and the final checks are package
// harness, which the failover test (clearing/hatest) drives too:
//
// TestCrash builds the real binary, starts `crossclear serve` as a child
// process on SQLite and on PostgreSQL, and drives it with mixed concurrent
// traffic, every request carrying an Idempotency-Key: holds, partial and
// full releases, disputes, resolutions, refunds, pacs.008 file uploads and
// cycle closes. At a random moment it kills the server with SIGKILL,
// restarts it on the same database, retries every request that got no
// answer with the same key and body, and re-sends a sample of answered
// requests, which must get the very same status and body back
// (Idempotent-Replayed: true). After the last round it checks the
// database and the API against the client's own journal:
//
//   - 0 lost, 0 doubled: every request answered 2xx had exactly one
//     effect (one payment with the hold's reference, one event with the
//     action's reason, one payment per accepted UETR of a file, one closed
//     cycle per close), every request answered 4xx none, and nothing
//     happened that no request explains;
//   - every payment's version, state and held amount in the database are
//     those of the last answer the client got about it;
//   - every answered request, sent again, gets its first answer;
//   - the ledger check passes, Σ net = 0 per currency in every closed
//     cycle, and escrow holds exactly what the client's answers say is
//     still held.
//
// Flags: -crash.rounds (kills per engine; 10 by default, 200 for the long
// run), -crash.seed (the run's seed, logged so that a failing run can be
// repeated), -crash.concurrency (client goroutines), -crash.engines,
// -crash.inprogress-wait (how long a retry may be answered 409
// request_in_progress before the test fails). See the README for the long
// run.
package crashtest
