package metrics

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/testwait"
)

// fakeClock is the rate's clock in the tests (the handler reads it on the server's
// goroutines).
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// serveLimited serves m's /metrics within lim on a real 127.0.0.1 listener; the clock of
// its rate is clock, and loopback is exempt only when exemptLoopback.
func serveLimited(t *testing.T, m *Metrics, lim Limits, exemptLoopback bool, clock *fakeClock) string {
	t.Helper()
	h := m.Handler(lim)
	if lh, ok := h.(*limitedHandler); ok {
		lh.exemptLoopback = exemptLoopback
		lh.now = clock.now
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// TestScrapeRatePerClient: a client gets ScrapesBurst scrapes, then 429 with the
// Retry-After its bucket needs, while another address (another key) scrapes; a refill
// lets it scrape again; the refusals are counted.
func TestScrapeRatePerClient(t *testing.T) {
	m := New()
	clock := newFakeClock()
	url := serveLimited(t, m, Limits{ScrapesPerMinute: 2, ScrapesBurst: 3}, false, clock)
	for i := range 3 {
		if status, _, _ := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil); status != http.StatusOK {
			t.Fatalf("scrape %d: %d, want 200", i+1, status)
		}
	}
	status, header, body := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil)
	if status != http.StatusTooManyRequests {
		t.Fatalf("scrape 4: %d, want 429", status)
	}
	if ra, err := strconv.Atoi(header.Get("Retry-After")); err != nil || ra != 30 {
		t.Errorf("Retry-After %q, want 30 (one token at 2 a minute)", header.Get("Retry-After"))
	}
	t.Logf("429: %s", body)
	if status, _, _ := testhttp.DoFrom(t, "127.0.0.2", "GET", url, "", "", "", nil); status != http.StatusOK {
		t.Errorf("another address: %d, want 200", status)
	}
	clock.advance(30 * time.Second)
	if status, _, _ := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil); status != http.StatusOK {
		t.Errorf("after the refill: %d, want 200", status)
	}
	if status, _, _ := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil); status != http.StatusTooManyRequests {
		t.Errorf("after the one refilled token: %d, want 429", status)
	}
	if got := m.scrapesRefused.Load(); got != 2 {
		t.Errorf("parley_metrics_scrapes_refused_total %d, want 2", got)
	}
}

// TestScrapeLoopbackExempt: parley-bench's probe (a scrape a second from 127.0.0.1, and
// more) is never refused with the defaults, however many scrapes it makes.
func TestScrapeLoopbackExempt(t *testing.T) {
	url := serveLimited(t, New(), Limits{ScrapesPerMinute: 120, ScrapesBurst: 10, MaxInFlight: 4}, true, newFakeClock())
	for i := range 40 {
		if status, _, _ := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil); status != http.StatusOK {
			t.Fatalf("loopback scrape %d: %d, want 200", i+1, status)
		}
	}
}

// TestScrapeDefaultRateFitsAProbe: without the loopback exemption, the default rate lets a
// client scrape once a second (parley-bench's probe from another host, or a Prometheus
// every 5 s) for ever: 10 minutes of a clock advanced a second per scrape, none refused.
func TestScrapeDefaultRateFitsAProbe(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := New()
	h := m.Handler(Limits{ScrapesPerMinute: 120, ScrapesBurst: 10}).(*limitedHandler)
	h.exemptLoopback = false
	h.now = func() time.Time { return now }
	for i := range 600 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("scrape %d at 1/s: %d", i+1, rec.Code)
		}
		now = now.Add(time.Second)
	}
}

// blockingCollector holds every Collect until release is closed.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
	desc    *prometheus.Desc
}

func (c *blockingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *blockingCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case c.entered <- struct{}{}:
	default: // the scrapes after the release
	}
	<-c.release
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}

// TestScrapesInFlight: beyond MaxInFlight scrapes at once (loopback included), one more
// gets 503 at once; when they finish, scrapes are served again.
func TestScrapesInFlight(t *testing.T) {
	m := New()
	bc := &blockingCollector{entered: make(chan struct{}, 2), release: make(chan struct{}),
		desc: prometheus.NewDesc("test_slow", "a collector that waits", nil, nil)}
	m.Registry().MustRegister(bc)
	url := serveLimited(t, m, Limits{ScrapesPerMinute: 120, ScrapesBurst: 10, MaxInFlight: 2}, true, newFakeClock())
	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			status, _, _ := testhttp.Do(t, "GET", url, "", "", "", nil)
			statuses <- status
		})
	}
	for range 2 {
		<-bc.entered
	}
	status, _, body := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil)
	close(bc.release)
	wg.Wait()
	close(statuses)
	if status != http.StatusServiceUnavailable {
		t.Errorf("a third scrape at once: %d %q, want 503", status, body)
	}
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("a scrape in flight: %d, want 200", s)
		}
	}
	testwait.For(t, 10*time.Second, "a scrape served after the others finished", func() bool {
		status, _, _ := testhttp.DoFrom(t, "127.0.0.1", "GET", url, "", "", "", nil)
		return status == http.StatusOK
	})
}
