package compliance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets up a Screener.
type Config struct {
	Sources []Source     // the lists; none means sanctions screening passes everything
	Policy  Policy       // zero: DefaultPolicy
	Rules   *Rules       // the AML rules; nil: none
	Client  *http.Client // for lists at http(s) URLs
	Now     func() time.Time
}

// Screener screens payments against the loaded lists and the AML rules.
// The lists live in an immutable Index behind an atomic pointer: Reload
// builds a new one beside it and swaps it in, so screening never stops
// nor sees half a list, and a reload that fails keeps what was loaded.
type Screener struct {
	cfg   Config
	index atomic.Pointer[Index]

	reload sync.Mutex       // one reload at a time
	loaded map[string]*List // the last good version of each list, by source
}

// New checks cfg and returns a Screener with no list loaded yet: call
// Reload.
func New(cfg Config) (*Screener, error) {
	if cfg.Policy == (Policy{}) {
		cfg.Policy = DefaultPolicy
		if cfg.Rules != nil && cfg.Rules.Policy != nil {
			cfg.Policy = *cfg.Rules.Policy
		}
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("screening policy: %w", err)
	}
	if cfg.Rules != nil {
		if err := cfg.Rules.check(); err != nil {
			return nil, fmt.Errorf("AML rules: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, src := range cfg.Sources {
		if !slices.Contains(Lists, src.List) {
			return nil, fmt.Errorf("list %q: want %s", src.List, strings.Join(Lists, ", "))
		}
		if strings.TrimSpace(src.Location) == "" {
			return nil, fmt.Errorf("list %s: no location", src.List)
		}
		if seen[src.List] {
			return nil, fmt.Errorf("list %s is configured twice", src.List)
		}
		seen[src.List] = true
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Screener{cfg: cfg, loaded: map[string]*List{}}
	s.index.Store(NewIndex())
	return s, nil
}

// Sources are the configured lists.
func (s *Screener) Sources() []Source { return s.cfg.Sources }

// Policy is the sanctions policy in force.
func (s *Screener) Policy() Policy { return s.cfg.Policy }

// Rules are the AML rules, nil when there are none.
func (s *Screener) Rules() *Rules { return s.cfg.Rules }

// Index is the index in use now.
func (s *Screener) Index() *Index { return s.index.Load() }

// Lists describes the lists in use now.
func (s *Screener) Lists() []ListInfo { return s.Index().Lists() }

// Reload reads every configured list again and swaps in an index of them.
// A list that fails to load keeps its previous version (if it had one),
// and the error says which failed; the others are still refreshed.
// It returns the lists now in use.
func (s *Screener) Reload(ctx context.Context) ([]ListInfo, error) {
	s.reload.Lock()
	defer s.reload.Unlock()
	var errs []error
	for _, src := range s.cfg.Sources {
		l, err := Load(ctx, src, s.cfg.Client, s.cfg.Now())
		if err != nil {
			if prev, ok := s.loaded[src.List]; ok {
				err = fmt.Errorf("%w (still screening against the version loaded %s, %s)", err, prev.LoadedAt.Format(time.RFC3339), prev.Hash[:12])
			}
			errs = append(errs, err)
			continue
		}
		s.loaded[src.List] = l
	}
	var lists []*List
	for _, src := range s.cfg.Sources {
		if l, ok := s.loaded[src.List]; ok {
			lists = append(lists, l)
		}
	}
	ix := NewIndex(lists...)
	s.index.Store(ix)
	return ix.Lists(), errors.Join(errs...)
}

// Check screens one name as a compliance officer asks about it: the
// sanctions policy only, no AML rules.
func (s *Screener) Check(p Party) Decision {
	ix := s.Index()
	d := Decision{Outcome: Pass, Lists: ix.Lists(), ScreenedAt: s.cfg.Now().UTC()}
	s.sanctions(ix, p, &d)
	return d
}

// Screen decides each payment: sanctions on every party, then the AML
// rules in order, so that earlier payments of the batch count for later
// ones. h is the history of earlier payments (needed only with velocity or
// structuring rules); rates converts amounts into the rules' base currency.
func (s *Screener) Screen(ctx context.Context, ps []Payment, h History, rates Rates) ([]Decision, error) {
	ix := s.Index()
	out := make([]Decision, len(ps))
	// Sanctions screening of one payment does not depend on another's:
	// the batch is shared among the cores.
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), (len(ps)+63)/64)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ps); i += workers {
				out[i] = Decision{Outcome: Pass, Lists: ix.Lists(), ScreenedAt: ps[i].At.UTC()}
				for _, party := range ps[i].Parties {
					s.sanctions(ix, party, &out[i])
				}
			}
		})
	}
	wg.Wait()
	if s.cfg.Rules == nil {
		return out, nil
	}
	run, err := s.cfg.Rules.start(ctx, ps, h, rates)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		run.decide(i, &out[i])
	}
	return out, nil
}

// sanctions screens one party into d: every match at a threshold, or
// exact, is kept with the reason it gives.
func (s *Screener) sanctions(ix *Index, p Party, d *Decision) {
	if strings.TrimSpace(p.Name) == "" {
		return
	}
	pol := s.cfg.Policy
	for _, m := range ix.Match(p, pol.floor()) {
		o := pol.Outcome(m)
		if o == Pass {
			continue
		}
		d.Matches = append(d.Matches, m)
		d.Score = max(d.Score, m.Score)
		code, msg := CodeSanctionsHit, fmt.Sprintf("the %s %q resembles %s entry %s %q (score %.4f", roleText(p.Role), p.Name, m.List, m.EntryID, m.EntryName, m.Score)
		if len(m.Compared) > 0 {
			msg += ", compared on " + strings.Join(m.Compared, ", ")
		}
		msg += ")"
		if m.ExactName {
			code, msg = CodeExactName, fmt.Sprintf("the %s %q is the listed name %q of %s entry %s after normalisation (score %.4f)", roleText(p.Role), p.Name, m.MatchedName, m.List, m.EntryID, m.Score)
		}
		d.add(Reason{Code: code, Outcome: o, Role: p.Role, ISOReason: ISORegulatory, Message: msg})
	}
}

func roleText(r Role) string {
	if r == Asked {
		return "name"
	}
	return strings.ReplaceAll(string(r), "_", " ")
}
