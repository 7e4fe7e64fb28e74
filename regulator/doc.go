// Package regulator will produce each cycle's reports for local-government
// regulators, append them to a tamper-evident Merkle log with signed
// checkpoints, push them and serve them from a regulator gateway. Nothing
// lives here yet.
package regulator
