package inbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/messages/iso"
	"github.com/crossclear/crossclear/messages/signing"
)

// ISO 20022 status reasons for signatures (ExternalStatusReason1Code).
const (
	reasonSignatureInvalid iso.Reason = "DS0A" // DataSignRequested / signature for the format not available or invalid
	reasonSignerRevoked    iso.Reason = "DS0C" // SignerCertificateRevoked
	reasonSignerUnknown    iso.Reason = "DS0E" // IncorrectSignerCertificate
)

// verifySignature checks an upload's detached signature (FILE.sig JSON)
// against the keys bank registered, before anything of the file is read.
// A bank that must sign is refused an unsigned upload. It returns the
// signature to keep with the file (nil when none was sent).
func verifySignature(ctx context.Context, st *store.Store, bank string, raw, sigJSON []byte) ([]byte, error) {
	refuse := func(code string, reason iso.Reason, format string, args ...any) error {
		return &FileError{Code: code, Err: &iso.Error{Reason: reason, Element: "signature", Msg: fmt.Sprintf(format, args...)}}
	}
	if len(sigJSON) == 0 {
		p, err := st.Participant(ctx, bank)
		if err != nil {
			return nil, err
		}
		if p.RequireSignedFiles {
			return nil, refuse("signature_required", reasonSignatureInvalid,
				"%s must sign its uploads: send the detached signature (FILE.sig) with the file", bank)
		}
		return nil, nil
	}
	sig, err := signing.ParseSignature(sigJSON)
	if err != nil {
		return nil, refuse("bad_signature", reasonSignatureInvalid, "%v", err)
	}
	keys, err := st.BankKeys(ctx, bank)
	if err != nil {
		return nil, err
	}
	valid := make([]signing.PublicKey, 0, len(keys))
	for _, k := range keys {
		if k.Key == sig.Key && k.Version == sig.Version && !k.RevokedAt.IsZero() {
			return nil, refuse("bad_signature", reasonSignerRevoked, "key %s version %d of %s was revoked", sig.Key, sig.Version, bank)
		}
		if k.RevokedAt.IsZero() {
			valid = append(valid, k.PublicKey)
		}
	}
	switch err := signing.Verify(valid, raw, sig); {
	case errors.Is(err, signing.ErrUnknownKey):
		return nil, refuse("bad_signature", reasonSignerUnknown, "%s registered no key %s version %d", bank, sig.Key, sig.Version)
	case err != nil:
		return nil, refuse("bad_signature", reasonSignatureInvalid, "the signature does not match the file's bytes: %v", err)
	}
	return sig.Marshal(), nil
}
