package metrics

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/internal/keyedrate"
	"github.com/parley-rtc/parley/signaling"
)

// Limits bound what scrapers of /metrics cost (D331): each scrape gathers every collector
// and encodes the text on the media server.
type Limits struct {
	// ScrapesPerMinute refills each client's bucket (an IPv4 address, an IPv6 /64, from the
	// TCP connection: no proxy header is trusted); ScrapesBurst is its size. A scrape
	// without a token gets 429 with Retry-After. Loopback clients are exempt (parley-bench's
	// probe, a local agent). ScrapesPerMinute 0: no limit.
	ScrapesPerMinute, ScrapesBurst int
	// MaxInFlight caps the scrapes served at once, of all clients (loopback included);
	// one more gets promhttp's 503 at once. 0: no cap.
	MaxInFlight int
}

// limitedHandler answers 429 to a client over its scrape rate before next gathers
// anything.
type limitedHandler struct {
	next    http.Handler
	lim     Limits
	buckets *keyedrate.Buckets[string]
	// exemptLoopback spares loopback clients the rate (always, but in this package's
	// tests, whose clients are all on loopback).
	exemptLoopback bool
	now            func() time.Time
	refused        *atomic.Uint64
}

// Handler serves the metrics in the Prometheus text format within lim.
func (m *Metrics) Handler(lim Limits) http.Handler {
	next := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{MaxRequestsInFlight: lim.MaxInFlight})
	if lim.ScrapesPerMinute <= 0 {
		return next
	}
	return &limitedHandler{
		next:           next,
		lim:            lim,
		buckets:        keyedrate.New[string](rate.Limit(float64(lim.ScrapesPerMinute)/60), lim.ScrapesBurst),
		exemptLoopback: true,
		now:            time.Now,
		refused:        &m.scrapesRefused,
	}
}

func (h *limitedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.exemptLoopback && isLoopback(r.RemoteAddr) {
		h.next.ServeHTTP(w, r)
		return
	}
	now := h.now()
	res := h.buckets.Get(signaling.ClientKeyOf(r.RemoteAddr), now, true).ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 || !res.OK() {
		res.CancelAt(now)
		h.refused.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second))))
		http.Error(w, fmt.Sprintf("too many scrapes from this address (metrics.scrapes_per_minute %d, metrics.scrapes_burst %d)",
			h.lim.ScrapesPerMinute, h.lim.ScrapesBurst), http.StatusTooManyRequests)
		return
	}
	h.next.ServeHTTP(w, r)
}

// isLoopback reports whether remote ("ip:port") is a loopback address.
func isLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// scrapesRefusedCounter exposes the scrapes refused for the rate.
func (m *Metrics) scrapesRefusedCounter() prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_metrics_scrapes_refused_total",
		Help: "Scrapes of /metrics refused with 429 for metrics.scrapes_per_minute (D331).",
	}, func() float64 { return float64(m.scrapesRefused.Load()) })
}
