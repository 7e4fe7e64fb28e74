package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/merklelog"
	"github.com/crossclear/crossclear/regulator/push"
	"github.com/crossclear/crossclear/regulator/witnessing"
)

// queueCollector reports, at each scrape of /metrics, what can back up
// behind serve: the database connection pool, the compliance review queue
// and each regulator endpoint's undelivered reports. It reads them when
// asked rather than keeping gauges, so several serve processes on one
// database all report the same queues.
type queueCollector struct {
	mu    sync.Mutex
	st    *store.Store
	push  *push.Outbox
	wits  *witnessing.Registry
	descs map[string]*prometheus.Desc
}

var queues = newQueueCollector()

func init() { prometheus.MustRegister(queues) }

func newQueueCollector() *queueCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("crossclear_"+name, help, labels, nil)
	}
	return &queueCollector{descs: map[string]*prometheus.Desc{
		"open":     d("db_connections_open", "Database connections open."),
		"in_use":   d("db_connections_in_use", "Database connections in use (a keyed request holds one from claim to commit)."),
		"idle":     d("db_connections_idle", "Database connections idle."),
		"waits":    d("db_connection_waits_total", "Times a request waited for a connection because the pool was exhausted."),
		"waited":   d("db_connection_wait_seconds_total", "Time spent waiting for a connection."),
		"reviews":  d("review_queue_depth", "Screenings waiting for a compliance officer."),
		"review_s": d("review_queue_oldest_seconds", "How long the oldest screening in the review queue has waited."),
		"push":     d("regulator_push_backlog", "Reports not yet delivered to a regulator's endpoint.", "jurisdiction", "endpoint"),
		"wit_size": d("regulator_witness_lag_leaves", "Leaves of the regulator log's latest checkpoint a witness has not cosigned.", "witness"),
		"wit_age":  d("regulator_witness_cosignature_age_seconds", "Age of a witness's newest cosignature of the regulator log (absent before its first).", "witness"),
	}}
}

// watch points the collector at serve's store, push outbox and witnesses.
func (q *queueCollector) watch(st *store.Store, ob *push.Outbox, wits *witnessing.Registry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st, q.push, q.wits = st, ob, wits
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range q.descs {
		ch <- d
	}
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	st, ob, wits := q.st, q.push, q.wits
	q.mu.Unlock()
	if st == nil {
		return
	}
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(q.descs[name], prometheus.GaugeValue, v, labels...)
	}
	stats := st.DB().Stats()
	gauge("open", float64(stats.OpenConnections))
	gauge("in_use", float64(stats.InUse))
	gauge("idle", float64(stats.Idle))
	ch <- prometheus.MustNewConstMetric(q.descs["waits"], prometheus.CounterValue, float64(stats.WaitCount))
	ch <- prometheus.MustNewConstMetric(q.descs["waited"], prometheus.CounterValue, stats.WaitDuration.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, oldest, err := st.ReviewQueue(ctx); err == nil {
		gauge("reviews", float64(n))
		if n > 0 {
			gauge("review_s", time.Since(oldest).Seconds())
		} else {
			gauge("review_s", 0)
		}
	}
	if wits != nil {
		latest, _ := merklelog.New(st.DB()).LatestCheckpoint(ctx) // size 0 before the first
		if ws, err := wits.List(ctx, latest.Size); err == nil {
			for _, w := range ws {
				gauge("wit_size", float64(w.LagSize), w.Name)
				if !w.CosignedAt.IsZero() {
					gauge("wit_age", w.LagSeconds, w.Name)
				}
			}
		}
	}
	if ob == nil {
		return
	}
	if eps, err := ob.Endpoints(ctx); err == nil {
		for _, e := range eps {
			if e.RemovedAt.IsZero() {
				gauge("push", float64(e.Pending), e.Jurisdiction, e.ID)
			}
		}
	}
}
