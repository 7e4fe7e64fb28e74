// Package witness is a c2sp.org/tlog-witness witness a regulator runs on
// its own machine (`crossclear witness serve`): it keeps, per log it
// witnesses, the latest checkpoint it cosigned (State, its own SQLite
// file) and cosigns a new checkpoint only with a valid consistency proof
// from that one — so two inconsistent checkpoints of one log never both
// carry its cosignature, and no checkpoint older than one it cosigned does.
//
// POST /add-checkpoint takes "old <size>", the consistency proof (base64
// hashes, one a line), a blank line, then the signed checkpoint, and
// answers the spec's statuses: 200 with the cosignature lines; 400
// malformed; 403 no valid signature by a key it trusts for the origin; 404
// unknown origin; 409 (text/x.tlog.size) when "old" is not the size it
// last cosigned — the body says which; 422 a proof that does not verify.
// GET /<sha256(origin) hex>/checkpoint serves the latest checkpoint it
// cosigned, with its own and the log's signatures (the monitoring API).
package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/uptrace/bun"
	"golang.org/x/mod/sumdb/note"

	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/merklelog"
)

// MaxRequestBytes bounds an add-checkpoint request: a checkpoint with a
// few signatures and at most 63 proof lines fits many times over.
const MaxRequestBytes = 64 << 10

// maxProofLines is the spec's bound on consistency proof lines.
const maxProofLines = 63

// Witness cosigns checkpoints of the logs in its State.
type Witness struct {
	State  *State
	Signer note.Signer // a cosignature.Signer: the witness's name and key
	Logger *slog.Logger
	Now    func() time.Time
}

// Error is a refusal with the HTTP status c2sp.org/tlog-witness gives it.
type Error struct {
	Status int
	Msg    string
	Size   uint64 // for 409: the size the witness last cosigned
}

func (e *Error) Error() string { return e.Msg }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// request is a parsed add-checkpoint body.
type request struct {
	old    uint64
	proof  [][]byte
	signed []byte
}

func parseRequest(body []byte) (request, error) {
	head, signed, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return request{}, refuse(http.StatusBadRequest, "want \"old <size>\", proof lines, a blank line, then the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	oldText, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(oldText, 10, 64)
	if !ok || err != nil || strconv.FormatUint(old, 10) != oldText {
		return request{}, refuse(http.StatusBadRequest, "first line %q: want \"old <size>\" in decimal without leading zeroes", lines[0])
	}
	if len(lines)-1 > maxProofLines {
		return request{}, refuse(http.StatusBadRequest, "%d consistency proof lines: at most %d", len(lines)-1, maxProofLines)
	}
	r := request{old: old, signed: signed}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != merklelog.Hasher.Size() {
			return request{}, refuse(http.StatusBadRequest, "proof line %q: want a base64 SHA-256 hash", l)
		}
		r.proof = append(r.proof, h)
	}
	return r, nil
}

// AddCheckpoint handles one add-checkpoint body and returns the
// cosignature lines, or an *Error. Checking the old size and recording the
// new checkpoint are one transaction, and the cosignature is made before
// it commits: nothing is cosigned that is not recorded, and two requests
// never roll each other back.
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	req, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	origin, _, _ := strings.Cut(string(req.signed), "\n")
	var cosigs []byte
	err = w.State.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		known, err := w.State.log(ctx, tx, origin)
		if errors.Is(err, ErrUnknownLog) {
			return refuse(http.StatusNotFound, "unknown log %q", origin)
		}
		if err != nil {
			return err
		}
		n, c, err := open(req.signed, known)
		if err != nil {
			return err
		}
		if req.old > c.Size {
			return refuse(http.StatusBadRequest, "old size %d is beyond the checkpoint's size %d", req.old, c.Size)
		}
		if req.old != known.Size {
			return &Error{Status: http.StatusConflict, Msg: fmt.Sprintf("the latest checkpoint cosigned has size %d, not %d", known.Size, req.old), Size: known.Size}
		}
		if err := consistent(req, known, c); err != nil {
			return err
		}
		signed, err := note.Sign(&note.Note{Text: n.Text}, w.Signer)
		if err != nil {
			return fmt.Errorf("cosign: %w", err)
		}
		cosigs = signed[len(n.Text)+1:] // after the body and its blank line
		var kept bytes.Buffer
		kept.WriteString(n.Text + "\n")
		for _, s := range n.Sigs {
			fmt.Fprintf(&kept, "— %s %s\n", s.Name, s.Base64)
		}
		kept.Write(cosigs)
		res, err := tx.NewUpdate().Model((*logRow)(nil)).Set("size = ?", int64(c.Size)).Set("root = ?", c.Root).
			Set("note = ?", kept.String()).Set("updated_at = ?", w.now()).
			Where("origin = ? AND size = ?", origin, int64(known.Size)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("record checkpoint of %s: %w", origin, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("record checkpoint of %s: the state moved under the transaction", origin)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cosigs, nil
}

// open verifies the note with the log's keys and reads its checkpoint.
func open(signed []byte, l Log) (*note.Note, checkpoint.Checkpoint, error) {
	vs := make([]note.Verifier, 0, len(l.Keys))
	for _, k := range l.Keys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, checkpoint.Checkpoint{}, fmt.Errorf("stored key of %s: %w", l.Origin, err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return nil, checkpoint.Checkpoint{}, refuse(http.StatusForbidden, "no signature by a key trusted for %s", l.Origin)
	case errors.As(err, &invalid):
		return nil, checkpoint.Checkpoint{}, refuse(http.StatusForbidden, "invalid signature by %s", invalid.Name)
	case err != nil:
		return nil, checkpoint.Checkpoint{}, refuse(http.StatusBadRequest, "malformed signed note: %v", err)
	}
	c, err := checkpoint.Parse([]byte(n.Text))
	if err != nil {
		return nil, checkpoint.Checkpoint{}, refuse(http.StatusBadRequest, "%v", err)
	}
	return n, c, nil
}

// consistent checks the new checkpoint extends the one last cosigned.
func consistent(req request, known Log, c checkpoint.Checkpoint) error {
	switch {
	case c.Size == 0 && !bytes.Equal(c.Root, merklelog.Hasher.EmptyRoot()):
		return refuse(http.StatusUnprocessableEntity, "a checkpoint of size 0 must have the empty tree's root")
	case req.old == 0 && len(req.proof) > 0:
		return refuse(http.StatusUnprocessableEntity, "from size 0 the consistency proof must be empty")
	case req.old == 0:
		return nil
	}
	if err := proof.VerifyConsistency(merklelog.Hasher, known.Size, c.Size, req.proof, known.Root, c.Root); err != nil {
		return refuse(http.StatusUnprocessableEntity, "bad consistency proof from size %d to %d: %v", known.Size, c.Size, err)
	}
	return nil
}

// Latest is the latest checkpoint cosigned for the log whose origin
// hashes (SHA-256, lowercase hex) to originHash, with its signatures.
func (w *Witness) Latest(ctx context.Context, originHash string) ([]byte, error) {
	logs, err := w.State.Logs(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range logs {
		sum := sha256.Sum256([]byte(l.Origin))
		if hex.EncodeToString(sum[:]) == originHash && l.Note != "" {
			return []byte(l.Note), nil
		}
	}
	return nil, refuse(http.StatusNotFound, "no checkpoint cosigned for that log")
}

// Handler serves the witness's HTTP API.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestBytes))
		if err != nil {
			w.write(rw, r, nil, refuse(http.StatusBadRequest, "request body: %v", err))
			return
		}
		cosigs, err := w.AddCheckpoint(r.Context(), body)
		w.write(rw, r, cosigs, err)
	})
	mux.HandleFunc("GET /{origin}/checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		latest, err := w.Latest(r.Context(), r.PathValue("origin"))
		w.write(rw, r, latest, err)
	})
	return mux
}

func (w *Witness) write(rw http.ResponseWriter, r *http.Request, body []byte, err error) {
	var we *Error
	switch {
	case err == nil:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(body)
	case errors.As(err, &we) && we.Status == http.StatusConflict:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", we.Size)
	case errors.As(err, &we):
		w.logger().Info("witness refused", "path", r.URL.Path, "status", we.Status, "reason", we.Msg)
		http.Error(rw, we.Msg, we.Status)
	default:
		w.logger().Error("witness request failed", "path", r.URL.Path, "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
	}
}

func (w *Witness) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func (w *Witness) now() time.Time {
	if w.Now == nil {
		return time.Now().UTC()
	}
	return w.Now().UTC()
}
