package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crossclear/crossclear/messages/signing"
)

// files push and files pull are for partner banks that script: they talk
// to a crossclear server over its API with the bank's API key, like curl
// would, and check every signature on the way in.

// apiClient is a bank's view of a crossclear server.
type apiClient struct {
	base, key string
	http      *http.Client
}

func addClientFlags(fs *flag.FlagSet) func(c *cli) (*apiClient, error) {
	url := fs.String("url", "", "crossclear API base URL (default $CROSSCLEAR_URL, else http://127.0.0.1:8080)")
	keyFile := fs.String("api-key-file", "", "file holding the API key (default $CROSSCLEAR_API_KEY)")
	return func(c *cli) (*apiClient, error) {
		base := *url
		if base == "" {
			base = c.getenv("CROSSCLEAR_URL")
		}
		if base == "" {
			base = "http://127.0.0.1:8080"
		}
		key := c.getenv("CROSSCLEAR_API_KEY")
		if *keyFile != "" {
			b, err := os.ReadFile(*keyFile)
			if err != nil {
				return nil, err
			}
			key = strings.TrimSpace(string(b))
		}
		if key == "" {
			return nil, usagef("", "an API key is needed: set CROSSCLEAR_API_KEY or pass --api-key-file")
		}
		return &apiClient{base: strings.TrimRight(base, "/"), key: key, http: &http.Client{Timeout: 2 * time.Minute}}, nil
	}
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Body   struct {
		Error struct {
			Code, Message, Field, Reason string
			Line                         int
		} `json:"error"`
	}
}

func (e *apiError) Error() string {
	er := e.Body.Error
	msg := fmt.Sprintf("HTTP %d %s: %s", e.Status, er.Code, er.Message)
	if er.Reason != "" {
		msg += " (ISO reason " + er.Reason + ")"
	}
	return msg
}

// do sends a request and returns the body of a 2xx answer.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte, headers map[string]string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		e := &apiError{Status: res.StatusCode}
		if json.Unmarshal(b, &e.Body) != nil || e.Body.Error.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(b))
		}
		return nil, e
	}
	return b, nil
}

var filesPushCmd = &command{
	name:    "files push",
	args:    "FILE...",
	summary: "upload ISO 20022 files (pacs.008, pain.001, camt.056…) to your mailbox",
	about: `
Uploads each FILE to POST /v1/files as the bank whose API key is given, with
its detached signature when FILE.sig exists beside it (required when your
bank must sign). Prints per file what became of it — held, rejected with the
ISO reason and element, held for compliance review, or refused whole — and
where crossclear's answers wait in your mailbox: the pacs.002 of a payment
file, the camt.029 per payment of a camt.056 and the pacs.004 of each refund.
For a settlement confirmation it prints each item's outcome and position.
Exits 1 when a file was refused.`,
	example: `  crossclear files push --api-key-file ~/.crossclear-key out/*.xml
  CROSSCLEAR_API_KEY=cck_… crossclear files push --url http://127.0.0.1:8080 batch-0001.xml`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		client := addClientFlags(fs)
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) == 0 {
				return usagef("files push", "name at least one FILE to upload")
			}
			api, err := client(c)
			if err != nil {
				return err
			}
			failed := false
			type pushedJSON struct {
				Path   string          `json:"path"`
				Signed bool            `json:"signed"`
				Answer json.RawMessage `json:"answer,omitempty"` // POST /v1/files's answer
				Error  string          `json:"error,omitempty"`  // why the file was refused whole
			}
			pushed := []pushedJSON{}
			for _, path := range args {
				answer, signed, err := pushFile(ctx, api, path)
				switch {
				case *asJSON:
					p := pushedJSON{Path: path, Signed: signed, Answer: answer}
					if err != nil {
						p.Error = err.Error()
					}
					pushed = append(pushed, p)
				case err == nil:
					var res pushAnswer
					if err = json.Unmarshal(answer, &res); err != nil {
						err = fmt.Errorf("answer: %w", err)
					} else {
						res.print(c.stdout, path, signed)
					}
				}
				if err != nil {
					if !*asJSON {
						fmt.Fprintf(c.stdout, "%s: REFUSED: %v\n", path, err)
					}
					failed = true
				}
			}
			if *asJSON {
				if err := printJSON(c.stdout, map[string]any{"files": pushed}); err != nil {
					return err
				}
			}
			if failed {
				return exitCode(exitError)
			}
			return nil
		}
	},
}

// pushFile uploads one file (with FILE.sig when it exists) and returns
// the API's answer, which is JSON.
func pushFile(ctx context.Context, api *apiClient, path string) (answer json.RawMessage, signed bool, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	headers := map[string]string{"Content-Type": "application/xml"}
	sig, err := os.ReadFile(path + ".sig")
	switch {
	case err == nil:
		headers["X-Crossclear-Signature"] = base64.StdEncoding.EncodeToString(sig)
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, err
	}
	b, err := api.do(ctx, "POST", "/v1/files", raw, headers)
	if err != nil {
		return nil, sig != nil, err
	}
	if !json.Valid(b) {
		return nil, sig != nil, fmt.Errorf("answer: not JSON: %.200s", b)
	}
	return b, sig != nil, nil
}

// pushAnswer is POST /v1/files's answer, as far as files push prints it.
type pushAnswer struct {
	File struct {
		ID, Kind, Message, Status   string
		MsgID                       string `json:"msg_id"`
		Accepted, Rejected, Pending int
	} `json:"file"`
	Reply        *fileRef `json:"reply"`
	Transactions []struct {
		Index          int
		UETR, Status   string
		ScreeningID    string `json:"screening_id"`
		Error          *problem
		Answer, Refund *fileRef
	} `json:"transactions"`
	Settlements []struct {
		Element, Outcome, Status, Participant, Currency, Net string
		CycleID                                              int64 `json:"cycle_id"`
		Error                                                *problem
	} `json:"settlements"`
}

type fileRef struct{ ID, Kind string }

type problem struct{ Reason, Element, Message string }

// print says what became of the file and of each of its items, and where
// crossclear's answers wait: the pacs.002 of a payment file, the camt.029
// (and the pacs.004 of a refund) per cancelled payment.
func (a pushAnswer) print(w io.Writer, path string, signed bool) {
	f := a.File
	how := f.ID
	if signed {
		how += ", signed"
	}
	fmt.Fprintf(w, "%s: %s %s (%s): %s, %d accepted, %d rejected", path, f.Message, f.MsgID, how, f.Status, f.Accepted, f.Rejected)
	if f.Pending > 0 {
		fmt.Fprintf(w, ", %d held for compliance review", f.Pending)
	}
	if a.Reply != nil {
		fmt.Fprintf(w, "; answer %s %s in your mailbox", a.Reply.Kind, a.Reply.ID)
	}
	fmt.Fprintln(w)
	for _, tx := range a.Transactions {
		line := fmt.Sprintf("  tx %d %s: %s", tx.Index, tx.UETR, tx.Status)
		if tx.Error != nil {
			line += fmt.Sprintf(" %s at %s: %s", tx.Error.Reason, tx.Error.Element, tx.Error.Message)
		}
		if tx.ScreeningID != "" {
			line += " (screening " + tx.ScreeningID + ")"
		}
		for _, ref := range []*fileRef{tx.Answer, tx.Refund} {
			if ref != nil {
				line += fmt.Sprintf("; %s %s", ref.Kind, ref.ID)
			}
		}
		// A payment file's held transactions are the usual case: only its
		// exceptions are worth a line; a cancellation's every answer is.
		if tx.Error != nil || tx.ScreeningID != "" || tx.Answer != nil {
			fmt.Fprintln(w, line)
		}
	}
	for _, it := range a.Settlements {
		line := fmt.Sprintf("  %s %s: %s", it.Element, it.Status, it.Outcome)
		if it.Participant != "" {
			line += fmt.Sprintf(" — cycle %d %s %s net %s", it.CycleID, it.Participant, it.Currency, it.Net)
		}
		if it.Error != nil {
			line += fmt.Sprintf(" %s at %s: %s", it.Error.Reason, it.Error.Element, it.Error.Message)
		}
		fmt.Fprintln(w, line)
	}
}

var filesPullCmd = &command{
	name:    "files pull",
	summary: "download your new mailbox files with their signatures, verify and acknowledge them",
	about: `
Downloads every file of your mailbox not yet acknowledged into --dir as
<id>.<kind>.xml with its detached signature beside it (<…>.xml.sig),
verifies each signature against crossclear's published keys (--keys, else
GET /v1/signing-keys), and acknowledges the file only once it is written and
verified. A file whose signature does not verify is kept as
<…>.xml.unverified, not acknowledged, and the command exits 1.`,
	example: `  crossclear files pull --dir mailbox
  crossclear files pull --dir mailbox --keys crossclear-keys.json --no-ack`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		client := addClientFlags(fs)
		dir := fs.String("dir", ".", "directory to write the files into")
		keysFile := fs.String("keys", "", "crossclear's published public keys (JSON); default: fetched from GET /v1/signing-keys")
		noAck := fs.Bool("no-ack", false, "leave the files unacknowledged")
		asJSON := jsonFlag(fs)
		return func(ctx context.Context, c *cli, args []string) error {
			if err := noArgs("files pull", args); err != nil {
				return err
			}
			api, err := client(c)
			if err != nil {
				return err
			}
			keys, err := pullKeys(ctx, api, *keysFile)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(*dir, 0o755); err != nil {
				return err
			}
			seen, pulled, bad := map[string]bool{}, 0, 0
			files := []pulledFile{}
			for {
				b, err := api.do(ctx, "GET", "/v1/files?acknowledged=false", nil, nil)
				if err != nil {
					return err
				}
				var list struct {
					Files []struct{ ID, Kind string } `json:"files"`
				}
				if err := json.Unmarshal(b, &list); err != nil {
					return fmt.Errorf("file list: %w", err)
				}
				fresh := 0
				for _, f := range list.Files {
					if seen[f.ID] {
						continue
					}
					seen[f.ID], fresh = true, fresh+1
					pf, err := pullFile(ctx, api, keys, *dir, f.ID, f.Kind, !*noAck)
					if err != nil {
						return err
					}
					files = append(files, pf)
					if !*asJSON {
						pf.print(c.stdout)
					}
					if pf.Verified {
						pulled++
					} else {
						bad++
					}
				}
				if fresh == 0 || *noAck {
					break // a page of files already seen: the rest are unverified or kept unacknowledged
				}
			}
			if *asJSON {
				if err := printJSON(c.stdout, map[string]any{"dir": *dir, "pulled": pulled, "failed": bad, "files": files}); err != nil {
					return err
				}
				if bad > 0 {
					return exitCode(exitError)
				}
				return nil
			}
			fmt.Fprintf(c.stdout, "%d file(s) pulled into %s", pulled, *dir)
			if bad > 0 {
				fmt.Fprintf(c.stdout, "; %d FAILED signature verification (kept as .unverified, not acknowledged)\n", bad)
				return exitCode(exitError)
			}
			fmt.Fprintln(c.stdout)
			return nil
		}
	},
}

func pullKeys(ctx context.Context, api *apiClient, keysFile string) ([]signing.PublicKey, error) {
	if keysFile != "" {
		return readPublishedKeys(keysFile)
	}
	b, err := api.do(ctx, "GET", "/v1/signing-keys", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("published keys: %w", err)
	}
	var doc struct {
		Keys map[string][]signing.PublicKey `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("published keys: %w", err)
	}
	return checkKeys("GET /v1/signing-keys", doc.Keys["files"])
}

// pulledFile is one file files pull handled, as --json prints it.
type pulledFile struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Path         string `json:"path"`
	Verified     bool   `json:"verified"`
	Key          string `json:"key,omitempty"`
	KeyVersion   int    `json:"key_version,omitempty"`
	Acknowledged bool   `json:"acknowledged"`
	Error        string `json:"error,omitempty"` // why the signature did not verify
}

func (f pulledFile) print(w io.Writer) {
	if !f.Verified {
		fmt.Fprintf(w, "%s: FAILED: %s\n", f.ID, f.Error)
		return
	}
	fmt.Fprintf(w, "%s  %s  signed by %s v%d\n", f.Path, f.Kind, f.Key, f.KeyVersion)
}

// pullFile downloads, verifies, writes and acknowledges one file; Verified
// is false when its signature does not verify (it is then kept as
// <…>.xml.unverified).
func pullFile(ctx context.Context, api *apiClient, keys []signing.PublicKey, dir, id, kind string, ack bool) (pulledFile, error) {
	pf := pulledFile{ID: id, Kind: kind}
	body, err := api.do(ctx, "GET", "/v1/files/"+id, nil, nil)
	if err != nil {
		return pf, err
	}
	rawSig, err := api.do(ctx, "GET", "/v1/files/"+id+"/signature", nil, nil)
	if err != nil {
		return pf, err
	}
	name := filepath.Join(dir, id+"."+strings.ReplaceAll(kind, ".", "-")+".xml")
	sig, err := signing.ParseSignature(rawSig)
	if err == nil {
		err = signing.Verify(keys, body, sig)
	}
	if err != nil {
		pf.Path, pf.Error = name+".unverified", err.Error()
		return pf, errors.Join(os.WriteFile(name+".unverified", body, 0o644), os.WriteFile(name+".unverified.sig", rawSig, 0o644))
	}
	if err := os.WriteFile(name, body, 0o644); err != nil {
		return pf, err
	}
	if err := os.WriteFile(name+".sig", rawSig, 0o644); err != nil {
		return pf, err
	}
	if ack {
		if _, err := api.do(ctx, "POST", "/v1/files/"+id+"/ack", nil, nil); err != nil {
			return pf, err
		}
	}
	pf.Path, pf.Verified, pf.Key, pf.KeyVersion, pf.Acknowledged = name, true, sig.Key, sig.Version, ack
	return pf, nil
}
