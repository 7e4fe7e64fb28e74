// Package regulator produces the reports local-government regulators
// receive and publishes them in a tamper-evident log. The Producer is a
// durable worker: each pass it builds whatever reports are missing (one
// per jurisdiction for every closed cycle — so a crash between a close and
// its reports loses nothing), adds them to the Merkle log and queues them
// for push in one transaction, then seals them (signs their files) and
// signs a checkpoint over the grown log. A report is served or pushed only
// once it is sealed and a signed checkpoint covers it.
//
// The pieces: reports (building and rendering), merklelog (the RFC 6962
// log in the database), checkpoint (C2SP signed checkpoints), cosignature
// (C2SP witness cosignatures), bundle (what a regulator downloads),
// gateway (the regulators' read-only API, and the log as tlog-tiles), push
// (the outbox to regulators' endpoints), witnessing (the operator asking
// witnesses to cosign each checkpoint), witness (the tlog-witness a
// regulator runs, `crossclear witness`) and verify (offline verification
// under a witness policy, `crossclear verify`).
package regulator
