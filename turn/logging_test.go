package turn

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLogThrottle(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{now: time.Unix(1000, 0)}
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	th := newLogThrottle(logger, 10*time.Second, 2, clock.Now)

	for i := 0; i < 5; i++ {
		th.log("a", slog.LevelInfo, "line a")
	}
	th.log("b", slog.LevelInfo, "line b") // a separate key has its own budget
	th.log("a", slog.LevelDebug, "below level")
	if got := strings.Count(out.String(), "line a"); got != 2 {
		t.Fatalf("%d lines for key a in one interval, want 2:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "line b") || strings.Contains(out.String(), "below level") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}

	clock.Advance(10 * time.Second)
	out.Reset()
	th.log("a", slog.LevelInfo, "line a")
	if !strings.Contains(out.String(), "suppressed=3") {
		t.Fatalf("next line after the interval should report 3 suppressed, got:\n%s", out.String())
	}
	out.Reset()
	th.log("a", slog.LevelInfo, "line a")
	if strings.Contains(out.String(), "suppressed") {
		t.Fatalf("suppressed reported twice:\n%s", out.String())
	}
}

func TestPionLoggerLevels(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pl := pionLoggerFactory{throttle: newLogThrottle(logger, time.Minute, 100, time.Now)}.NewLogger("turn")
	pl.Tracef("trace %d", 1)
	pl.Debugf("debug %d", 1)
	pl.Infof("per-packet info %d", 1)
	pl.Warnf("warn %d", 1)
	pl.Errorf("error %d", 1)
	got := out.String()
	for _, hidden := range []string{"trace 1", "debug 1", "per-packet info 1"} {
		if strings.Contains(got, hidden) {
			t.Errorf("%q logged at info level:\n%s", hidden, got)
		}
	}
	for _, shown := range []string{"warn 1", "error 1"} {
		if !strings.Contains(got, shown) || !strings.Contains(got, "level=WARN") {
			t.Errorf("%q not logged at warn:\n%s", shown, got)
		}
	}
}
