package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/ops/webhooks"
)

// webhookDropsCollector shows the webhook events dropped per app (D287): a full per-URL
// queue drops the events of the app that holds the most, so an operator sees which tenant
// floods. The apps are the configured ones, so the label's values are few.
type webhookDropsCollector struct{ d *webhooks.Dispatcher }

var webhookDroppedByApp = prometheus.NewDesc("parley_webhooks_app_dropped_total",
	"Webhook events dropped by a full per-URL queue (webhooks.queue_size) or at shutdown, by app (SDKAppID).", []string{"app"}, nil)

func (c webhookDropsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- webhookDroppedByApp }

func (c webhookDropsCollector) Collect(ch chan<- prometheus.Metric) {
	for app, n := range c.d.Stats().DroppedByApp {
		ch <- prometheus.MustNewConstMetric(webhookDroppedByApp, prometheus.CounterValue, float64(n), strconv.Itoa(app))
	}
}
