package compliance_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/crossclear/crossclear/compliance"
	"github.com/crossclear/crossclear/fx"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syllables build names that look like names without being anyone's.
var syllables = []string{"ka", "ri", "mo", "sha", "lin", "dor", "vek", "ta", "no", "bel", "gor", "an", "zu", "mi", "ros", "ha", "lev", "din", "ar", "sol", "pe", "tru", "gan", "ni", "vo", "kas", "el", "ber", "yu", "dan"}

func word(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return strings.ToUpper(b.String())
}

// writeOFAC writes n entries in OFAC's four legacy CSV files into dir: two
// thirds individuals ("SURNAME, Given Middle" with a date of birth,
// nationality and passport in the remarks), the rest companies; every
// fourth with an alias, every other with an address.
func writeOFAC(tb testing.TB, dir string, n int, seed uint64) (people []string) {
	r := rand.New(rand.NewPCG(seed, 1))
	var sdn, add, alt bytes.Buffer
	countries := []string{"Russia", "Iran", "Syria", "Venezuela", "Belize", "China", "United Arab Emirates", "Turkey"}
	for i := range n {
		id := 10000 + i
		c := countries[r.IntN(len(countries))]
		if i%3 != 2 {
			surname, given, middle := word(r, 2+r.IntN(2)), word(r, 2), word(r, 2)
			name := fmt.Sprintf("%s, %s %s", surname, given, middle)
			people = append(people, given+" "+middle+" "+surname)
			fmt.Fprintf(&sdn, "%d,\"%s\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB %02d %s %d; nationality %s; Passport P%07d (%s).\"\n",
				id, name, 1+r.IntN(28), time.Month(1 + r.IntN(12)).String()[:3], 1940+r.IntN(60), c, r.IntN(10_000_000), c)
		} else {
			name := fmt.Sprintf("%s %s %s", word(r, 2), word(r, 3), []string{"TRADING CO LTD", "LLC", "S.A.", "INTERNATIONAL", "SHIPPING COMPANY"}[r.IntN(5)])
			fmt.Fprintf(&sdn, "%d,\"%s\",-0- ,\"IRAN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Registration Number %d (%s).\"\n", id, name, r.IntN(1_000_000), c)
		}
		if i%4 == 0 {
			fmt.Fprintf(&alt, "%d,%d,\"aka\",\"%s %s\",-0- \n", id, 50000+i, word(r, 2), word(r, 3))
		}
		if i%2 == 0 {
			fmt.Fprintf(&add, "%d,%d,\"%d %s Street\",\"%s\",\"%s\",-0- \n", id, 70000+i, 1+r.IntN(200), word(r, 2), word(r, 2), c)
		}
	}
	for name, b := range map[string][]byte{"sdn.csv": sdn.Bytes(), "add.csv": add.Bytes(), "alt.csv": alt.Bytes(), "sdn_comments.csv": nil} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return people
}

// typo swaps two neighbouring letters inside one word, past its first
// two: the common kind of typo. (A typo in the first letters of a word
// usually scores under the threshold: watchman's Jaro-Winkler rewards a
// shared prefix and penalises a different first sound.)
func typo(r *rand.Rand, name string) string {
	words := strings.Fields(name)
	for {
		k := r.IntN(len(words))
		w := []byte(words[k])
		if len(w) < 4 {
			continue
		}
		i := 2 + r.IntN(len(w)-3)
		if w[i] == w[i+1] {
			continue
		}
		w[i], w[i+1] = w[i+1], w[i]
		words[k] = string(w)
		return strings.Join(words, " ")
	}
}

func title(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// BenchmarkScreen20k screens payments against a generated 20,000-entry
// SDN list: each payment names a debtor, a creditor and both agents; one
// in fifty debtors is a listed person's name with two letters swapped. It
// reports payments/s, the share held, and the share of the planted names
// held (recall at this size).
func BenchmarkScreen20k(b *testing.B) {
	dir := b.TempDir()
	people := writeOFAC(b, dir, 20_000, 7)
	s, err := compliance.New(compliance.Config{Sources: []compliance.Source{{List: compliance.ListOFAC, Location: dir}}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	lists, err := s.Reload(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d entries in %s", lists[0].Entries, time.Since(start).Round(time.Millisecond))
	r := rand.New(rand.NewPCG(99, 2))
	const batch = 1000
	amount := fx.MustCurrency("EUR").FromMinor(12_345)
	// Every batch names new debtors and merchants: only the two banks
	// recur, as they do in real traffic, and are screened from the cache.
	payments := func() ([]compliance.Payment, map[int]bool) {
		ps := make([]compliance.Payment, batch)
		planted := map[int]bool{}
		for i := range ps {
			debtor := title(word(r, 2) + " " + word(r, 3))
			if i%50 == 0 {
				debtor, planted[i] = title(typo(r, people[r.IntN(len(people))])), true
			}
			ps[i] = compliance.Payment{ID: fmt.Sprint(i), At: time.Now(), Amount: amount, Parties: []compliance.Party{
				{Role: compliance.Debtor, Name: debtor, Country: "SG", Account: "SG" + fmt.Sprint(r.IntN(1e9))},
				{Role: compliance.Creditor, Name: title(word(r, 3)) + " Books GmbH", Country: "DE", Account: "DE89370400440532013000"},
				{Role: compliance.DebtorAgent, Name: "DBS Bank Ltd", Country: "SG", ID: "DBSSSGSG"},
				{Role: compliance.CreditorAgent, Name: "Deutsche Bank AG", Country: "DE", ID: "DEUTDEFF"},
			}}
		}
		return ps, planted
	}
	held, caught, plantedN := 0, 0, 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		ps, planted := payments()
		plantedN += len(planted)
		b.StartTimer()
		before := processCPU()
		ds, err := s.Screen(context.Background(), ps, nil, nil)
		cpu += processCPU() - before
		if err != nil {
			b.Fatal(err)
		}
		for i, d := range ds {
			if d.Outcome != compliance.Pass {
				held++
				if planted[i] {
					caught++
				}
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "payments/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batch), "cpu-µs/payment")
	b.ReportMetric(float64(held)/float64(b.N*batch), "held/payment")
	b.ReportMetric(float64(caught)/float64(plantedN), "planted-held")
}

// processCPU is the CPU time this process has used (user and system, all
// threads): on a shared machine, where the wall clock counts other
// processes' turns, it is the steadier measure of the work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
