package compliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Source is where a list is read from.
type Source struct {
	List string // ListOFAC, ListUN, ListEU or ListUK
	// Location: for OFAC a directory holding the four files, or a base
	// URL they are fetched under (https://www.treasury.gov/ofac/downloads/);
	// for the UN, EU and UK lists a file or an http(s) URL.
	Location string
}

func (s Source) String() string { return s.List + " from " + Redact(s.Location) }

// MaxListFileBytes bounds one downloaded or read list file (OFAC's sdn.csv
// is about 5 MB, the UN list about 2 MB).
const MaxListFileBytes = 64 << 20

// Load reads a list from its source. client fetches http(s) locations; a
// client with a 60 s timeout when nil.
func Load(ctx context.Context, src Source, client *http.Client, now time.Time) (*List, error) {
	var (
		l   *List
		err error
	)
	switch src.List {
	case ListOFAC:
		files := map[string][]byte{}
		for _, name := range OFACFiles {
			if files[name], err = readOFACFile(ctx, src.Location, name, client); err != nil {
				return nil, err
			}
		}
		l, err = ParseOFAC(files)
	case ListUN:
		var raw []byte
		if raw, err = read(ctx, src.Location, client); err != nil {
			return nil, err
		}
		l, err = ParseUN(raw)
	case ListEU, ListUK:
		var raw []byte
		if raw, err = read(ctx, src.Location, client); err != nil {
			return nil, err
		}
		if src.List == ListEU {
			l, err = ParseEU(raw)
		} else {
			l, err = ParseUK(raw)
		}
	default:
		return nil, fmt.Errorf("unknown list %q: want %s", src.List, strings.Join(Lists, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(src.Location), err)
	}
	l.Source, l.LoadedAt = Redact(src.Location), now.UTC()
	return l, nil
}

// readOFACFile reads one of the four files from a directory (OFAC's own
// downloads are named in upper case: SDN.CSV) or under a base URL.
func readOFACFile(ctx context.Context, location, name string, client *http.Client) ([]byte, error) {
	if isURL(location) {
		return read(ctx, strings.TrimSuffix(location, "/")+"/"+name, client)
	}
	for _, n := range []string{name, strings.ToUpper(name)} {
		p := filepath.Join(location, n)
		if _, err := os.Stat(p); err == nil {
			return read(ctx, p, client)
		}
	}
	return nil, fmt.Errorf("OFAC list: no %s (or %s) in directory %s", name, strings.ToUpper(name), location)
}

// Redact hides what a list location may carry that is secret (a URL's
// user info and query, where a vendor's feed puts its token), for logs.
func Redact(location string) string {
	u, err := url.Parse(location)
	if err != nil || !isURL(location) {
		return location
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// read returns the bytes of a file or an http(s) URL, at most
// MaxListFileBytes of them.
func read(ctx context.Context, location string, client *http.Client) ([]byte, error) {
	var r io.Reader
	if isURL(location) {
		if client == nil {
			client = &http.Client{Timeout: 60 * time.Second}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, fmt.Errorf("list URL %s: %w", Redact(location), err)
		}
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the whole URL
			}
			return nil, fmt.Errorf("fetch list %s: %w", Redact(location), err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch list %s: HTTP %s", Redact(location), resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(location)
		if err != nil {
			return nil, fmt.Errorf("read list: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxListFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read list %s: %w", Redact(location), err)
	}
	if len(b) > MaxListFileBytes {
		return nil, fmt.Errorf("list file %s is larger than %d bytes", Redact(location), MaxListFileBytes)
	}
	return b, nil
}
