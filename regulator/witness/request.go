package witness

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Request is the add-checkpoint body that asks to move a witness from the
// checkpoint of size old to the signed checkpoint signed, with the
// consistency proof between them.
func Request(old uint64, proof [][]byte, signed []byte) string {
	var b strings.Builder
	b.WriteString("old " + strconv.FormatUint(old, 10) + "\n")
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(signed)
	return b.String()
}
