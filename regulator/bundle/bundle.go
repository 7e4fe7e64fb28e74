// Package bundle defines what a regulator downloads or is pushed, and
// builds it: a Bundle is one report made verifiable offline — its files
// with their signatures, its log entry, an inclusion proof into a signed
// checkpoint and, when asked for, a consistency proof from the last
// checkpoint the regulator saw — and Keys is the published key document a
// regulator verifies everything with (crossclear verify).
package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/crossclear/crossclear/messages/signing"
	"github.com/crossclear/crossclear/regulator/checkpoint"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/reports"
)

// Schema names the bundle format.
const Schema = "crossclear/regulator-bundle/v1"

// Bundle is one report with everything needed to verify it offline.
type Bundle struct {
	Schema      string       `json:"schema"`
	Report      string       `json:"report"`     // its id
	Entry       string       `json:"entry"`      // the log leaf: the entry's canonical JSON
	LeafIndex   uint64       `json:"leaf_index"` // where the entry is in the log
	Files       []File       `json:"files"`
	Inclusion   Proof        `json:"inclusion"`             // of the entry in the checkpoint's tree
	Checkpoint  string       `json:"checkpoint"`            // the signed note, verbatim
	Consistency *Consistency `json:"consistency,omitempty"` // from an older checkpoint to this one
}

// File is one rendering of the report with its detached signature.
type File struct {
	Format    reports.Format    `json:"format"`
	Name      string            `json:"name"`
	Content   []byte            `json:"content"` // base64 in JSON
	Signature signing.Signature `json:"signature"`
}

// Proof is an inclusion proof: the hashes proof.VerifyInclusion takes.
type Proof struct {
	TreeSize uint64   `json:"tree_size"`
	Hashes   [][]byte `json:"hashes"`
}

// Consistency proves the tree of FromSize leaves is a prefix of the tree
// of ToSize leaves: the hashes proof.VerifyConsistency takes.
type Consistency struct {
	FromSize uint64   `json:"from_size"`
	ToSize   uint64   `json:"to_size"`
	Hashes   [][]byte `json:"hashes"`
}

// Builder assembles bundles from the archive and the log.
type Builder struct {
	Archive *reports.Archive
	Log     *merklelog.Log
}

// ErrNotPublished is a report that is not yet sealed or not yet covered by
// a signed checkpoint: nothing unsigned leaves.
var ErrNotPublished = errors.New("report is not published yet")

// Build bundles report r against checkpoint cp, with a consistency proof
// from sinceSize when 0 < sinceSize < cp.Size.
func (b *Builder) Build(ctx context.Context, r reports.Stored, cp merklelog.Checkpoint, sinceSize uint64) (Bundle, error) {
	if r.SealedAt.IsZero() || r.LeafIndex >= cp.Size {
		return Bundle{}, fmt.Errorf("%w: %s (leaf %d, checkpoint size %d)", ErrNotPublished, r.ID, r.LeafIndex, cp.Size)
	}
	if sinceSize > cp.Size {
		return Bundle{}, fmt.Errorf("consistency from size %d: the checkpoint has %d leaves", sinceSize, cp.Size)
	}
	entry, err := b.Log.Leaf(ctx, r.LeafIndex)
	if err != nil {
		return Bundle{}, err
	}
	incl, err := b.Log.InclusionProof(ctx, r.LeafIndex, cp.Size)
	if err != nil {
		return Bundle{}, err
	}
	out := Bundle{Schema: Schema, Report: r.ID, Entry: string(entry), LeafIndex: r.LeafIndex,
		Inclusion: Proof{TreeSize: cp.Size, Hashes: incl}, Checkpoint: string(cp.Cosigned())}
	for _, f := range r.Files {
		content, err := b.Archive.Content(ctx, r.ID, f.Format)
		if err != nil {
			return Bundle{}, err
		}
		out.Files = append(out.Files, File{Format: f.Format, Name: f.Name, Content: content, Signature: f.Signature})
	}
	if sinceSize > 0 && sinceSize < cp.Size {
		cons, err := b.Log.ConsistencyProof(ctx, sinceSize, cp.Size)
		if err != nil {
			return Bundle{}, err
		}
		out.Consistency = &Consistency{FromSize: sinceSize, ToSize: cp.Size, Hashes: cons}
	}
	return out, nil
}

// Marshal renders a bundle as indented JSON, the file a regulator keeps.
func (b Bundle) Marshal() []byte {
	out, _ := json.MarshalIndent(b, "", "  ") // strings, numbers and bytes: cannot fail
	return append(out, '\n')
}

// Parse reads a bundle file.
func Parse(data []byte) (Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return Bundle{}, fmt.Errorf("bundle: %w", err)
	}
	if b.Schema != Schema {
		return Bundle{}, fmt.Errorf("bundle: schema %q, expected %q", b.Schema, Schema)
	}
	return b, nil
}

// KeysSchema names the published keys document.
const KeysSchema = "crossclear/regulator-keys/v1"

// Keys is what a regulator needs, and all it needs, to verify reports
// offline: the log's origin, the checkpoint verifier keys (C2SP note
// format, every version, named after the origin — and after the signing
// key, the name of checkpoints signed before) and the public keys that
// sign report files.
type Keys struct {
	Schema         string              `json:"schema"`
	Origin         string              `json:"origin"`
	CheckpointKeys []string            `json:"checkpoint_keys"`
	FileKeys       []signing.PublicKey `json:"file_keys"`
}

// ParseKeys reads a published keys document.
func ParseKeys(data []byte) (Keys, error) {
	var k Keys
	if err := json.Unmarshal(data, &k); err != nil {
		return Keys{}, fmt.Errorf("keys: %w", err)
	}
	switch {
	case k.Schema != KeysSchema:
		return Keys{}, fmt.Errorf("keys: schema %q, expected %q", k.Schema, KeysSchema)
	case k.Origin == "":
		return Keys{}, errors.New("keys: origin is missing")
	case len(k.CheckpointKeys) == 0:
		return Keys{}, errors.New("keys: checkpoint_keys is empty")
	case len(k.FileKeys) == 0:
		return Keys{}, errors.New("keys: file_keys is empty")
	}
	return k, nil
}

// PublishedKeys is the keys document for a log signed by checkpoints and
// files: what the gateway serves and `crossclear regulator keys` prints.
func PublishedKeys(ctx context.Context, origin string, checkpoints, files signing.Signer) (Keys, error) {
	vkeys, err := checkpoint.LogVerifierKeys(ctx, checkpoints, origin)
	if err != nil {
		return Keys{}, err
	}
	fileKeys, err := files.PublicKeys(ctx)
	if err != nil {
		return Keys{}, fmt.Errorf("file signing key %s: %w", files.KeyName(), err)
	}
	return Keys{Schema: KeysSchema, Origin: origin, CheckpointKeys: vkeys, FileKeys: fileKeys}, nil
}
