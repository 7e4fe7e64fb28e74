package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/regulator/push"
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
	}}
}

// watch points the collector at serve's store and push outbox.
func (q *queueCollector) watch(st *store.Store, ob *push.Outbox) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st, q.push = st, ob
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range q.descs {
		ch <- d
	}
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	st, ob := q.st, q.push
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
