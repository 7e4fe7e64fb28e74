package outbound

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Identifiers are derived from what a file is about (the cycle, the bank,
// the currency, the payment), never drawn at random: building the same
// files again gives the same bytes, and a settlement confirmation can be
// matched to its net position by recomputing the pacs.009's ids.

// maxID is ISO 20022's Max35Text.
const maxID = 35

// id joins parts with "-": "C42-9-DBSSSGSG-EUR". An id that would be
// longer than 35 characters (a cycle id of 17 digits and more) keeps its
// first 18 characters and ends with 16 hex digits of the whole id's
// SHA-256, so that it stays unique.
func id(parts ...string) string {
	s := strings.Join(parts, "-")
	if len(s) <= maxID {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:maxID-17] + "-" + hex.EncodeToString(sum[:8])
}

// cycleID is the cycle's part of an id: "C42".
func cycleID(cycle int64) string { return "C" + strconv.FormatInt(cycle, 10) }

// uetr derives a UUID v4 (version and variant bits set, the rest from the
// SHA-256 of parts).
func uetr(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// PositionRef is what the pacs.009 settling a net position carries: its
// MsgId (also its InstrId, EndToEndId and the AppHdr's BizMsgIdr) and its
// UETR. A settlement confirmation names one or the other.
func PositionRef(cycle int64, bank, currency string) (msgID, uetrID string) {
	return id(cycleID(cycle), "9", bank, currency), uetr("pacs.009", strconv.FormatInt(cycle, 10), bank, currency)
}

// compact is a UETR without its dashes: 32 hex digits.
func compact(u string) string { return strings.ReplaceAll(u, "-", "") }
