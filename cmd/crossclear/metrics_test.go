package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/clearing/store/storetest"
	"github.com/crossclear/crossclear/regulator/cosignature"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// TestQueueMetrics: the collector reads the pool and the queues from the
// database at each scrape, per regulator endpoint.
func TestQueueMetrics(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := storetest.Open(t, engine, store.Options{})
			ob := push.NewOutbox(s.DB(), merklelog.New(s.DB()))
			ep, err := ob.AddEndpoint(context.Background(), "SG", "https://mas.example/reports", operatorCLI, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			wv, _ := cosignature.NewVerifierFromKey("witness.test/sg", pub)
			wits := &witnessing.Registry{DB: s.DB()}
			if _, err := wits.Add(context.Background(), wv.String(), "http://127.0.0.1:7380", operatorCLI); err != nil {
				t.Fatal(err)
			}
			q := newQueueCollector()
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(q)
			gather := func() map[string]float64 {
				t.Helper()
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]float64{}
				for _, mf := range mfs {
					for _, m := range mf.GetMetric() {
						key := mf.GetName()
						for _, l := range m.GetLabel() {
							key += "," + l.GetName() + "=" + l.GetValue()
						}
						got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
					}
				}
				return got
			}
			if got := gather(); len(got) != 0 {
				t.Fatalf("metrics before watch: %v", got)
			}
			q.watch(s, ob, wits)
			got := gather()
			for _, key := range []string{"crossclear_db_connections_open", "crossclear_db_connections_in_use", "crossclear_db_connection_waits_total",
				"crossclear_review_queue_depth", "crossclear_regulator_push_backlog,endpoint=" + ep.ID + ",jurisdiction=SG",
				"crossclear_regulator_witness_lag_leaves,witness=witness.test/sg"} {
				if _, ok := got[key]; !ok {
					t.Errorf("%s missing from %v", key, got)
				}
			}
			if got["crossclear_review_queue_depth"] != 0 || got["crossclear_db_connections_open"] < 1 {
				t.Errorf("values: %v", got)
			}
		})
	}
}
