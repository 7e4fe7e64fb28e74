// Package harness is the test client of crossclear's exactly-once tests:
// it starts `crossclear serve` as a child process, builds a world through
// the API, drives mixed concurrent traffic in which every request carries
// an Idempotency-Key and is journalled before it is sent, retries what got
// no answer with the same key and body, replays answered requests, and at
// the end holds the servers and the database to the journal (FinalChecks:
// 0 lost, 0 doubled, the books balance). It is a library for tests only:
// the kill -9 test (clearing/crashtest) kills one server; the failover test
// (clearing/hatest) kills the PostgreSQL primary and a node of three.
package harness
