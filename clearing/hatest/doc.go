// Package hatest proves that crossclear loses nothing acknowledged when a
// machine dies. It has no code of its own, only a test (failover_test.go):
//
// TestFailover brings up the Patroni cluster of deploy/ha (three
// PostgreSQL 15 members with synchronous replication, etcd, haproxy) with
// deploy/ha/cluster.sh, starts three `crossclear serve` nodes against its
// primary address (and its replicas address for the regulator gateway's
// reads), with the auto-release worker, the cycle scheduler and the
// regulator push running fast, and drives mixed concurrent traffic through
// the three nodes with the client of clearing/crashtest/harness: every
// request carries an Idempotency-Key, and one that gets no answer (a 503
// while there is no primary, a dead node) is sent again with the same key
// to whichever node answers. During the traffic it SIGKILLs the PostgreSQL
// primary's machine (its Patroni and its postmaster), so that Patroni
// promotes the synchronous standby, then SIGKILLs one crossclear node, and
// restarts both. At the end:
//
//   - every request answered 2xx had exactly one effect, every request
//     answered 4xx none, every retry got the first answer (the harness's
//     FinalChecks, as in the kill -9 test);
//   - the ledger check passes and Σ net = 0 per currency in every closed
//     cycle; no cycle was closed twice (one cycle.close audit entry each)
//     nor its files written twice; no payment was auto-released twice;
//   - no regulator report was pushed twice to one endpoint, and every
//     report reached its endpoint;
//   - /readyz said "no primary" (503, Retry-After) while there was none,
//     and no node died on its own.
//
// It logs the failover time (from the kill to the first request sent after
// it that was answered 2xx) and how many requests were answered 503.
//
// It runs when CROSSCLEAR_HA_TEST is set (.ci/hatest sets it); on CI
// (CI=true) without it, it fails rather than skip. It needs root, or the
// Debian packages patroni, etcd-server and haproxy already installed.
package hatest
