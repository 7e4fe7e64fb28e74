// Package messages speaks ISO 20022 on the wire. messages/iso splits
// inbound files (a bare Document, or an AppHdr and a Document in any
// envelope), decodes pacs.008.001.08 to .11 and pain.001.001.09/.10 with
// moov-io/iso20022 while reading every amount from the text itself,
// validates them against crossclear's rules, and encodes what crossclear
// sends back (pacs.002.001.10 with a head.001.001.02 header) with its own
// types. messages/signing signs what leaves.
package messages
