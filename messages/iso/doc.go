// Package iso reads and writes crossclear's ISO 20022 files.
//
// Inbound, a file is split (envelope.go: a bare Document, or an AppHdr and
// a Document in any wrapper), then decoded by kind (file.go): payments
// (pacs.008, pain.001) to hold in escrow, cancellation requests (camt.056),
// and settlement confirmations (pacs.002, camt.054) for the pacs.009s of a
// cycle. moov-io/iso20022 decodes each block in the message's own version;
// crossclear reads amounts, dates and date-times from the text itself, so
// that no amount passes through a float and no offset is lost.
//
// Outbound, every message is written by crossclear's own encoder types
// (never moov's encoder: it writes float amounts, drops offsets and writes
// empty choice branches): amounts are fx.Amount written with exactly the
// currency's ISO 4217 decimals and no exponent, date-times keep their
// offset, optional elements are left out when empty, and a value the
// schema would refuse is refused with an *EncodeError naming the field.
// Each file is a BusinessMessage holding a head.001.001.02 AppHdr and the
// Document. Every outbound kind has a decoder so that decode(encode(x)) is
// x, which the tests check, and `crossclear iso inspect` reads them.
//
// Versions. crossclear prefers the SWIFT CBPR+ version of a message where
// ISO's schema for it is at hand (tests validate every outbound kind with
// xmllint against it), else the version moov-io/iso20022 ships a schema
// and Go types for:
//
//	message     version          direction                           schema from
//	head.001    .001.02          both (AppHdr)                        (moov types; no XSD at hand)
//	pacs.008    .001.08–.11      in: payments                         shared/iso20022/xsd (.08); .10/.11 read with moov's .09 types
//	pain.001    .001.09, .10     in: payments                         moov (.10; .09 read with its types)
//	camt.056    .001.08, .09     in: cancellation requests            moov (.09); .08 is CBPR+
//	pacs.002    .001.10          out: file status; in: settlement     shared/iso20022/xsd (CBPR+)
//	camt.054    .001.08          out: merchant credits; in: settlement moov (CBPR+ version)
//	pacs.009    .001.09          out: net positions                   moov (CBPR+ uses .08: no XSD at hand)
//	camt.053    .001.08          out: statements                      moov (CBPR+ version)
//	pacs.004    .001.09          out: refunds                         shared/iso20022/xsd (CBPR+)
//	camt.029    .001.09          out: answers to camt.056             shared/iso20022/xsd (CBPR+)
//
// moov-io/iso20022 has no Go types for pacs.004.001.09; its .001.10 types
// read the blocks crossclear writes (the versions differ only in accounts
// of the return chain, which crossclear does not write).
package iso
