package turn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

// logThrottle lets at most burst lines per key through in each interval, and reports how
// many it suppressed on the next line that passes. Remote peers trigger these lines
// (refusals, pion's per-packet complaints), so they must not be able to flood the log.
// Keys are a small fixed set (refusal reasons, pion scope+level). Safe for any goroutine.
type logThrottle struct {
	logger   *slog.Logger
	interval time.Duration
	burst    int
	now      func() time.Time

	mu    sync.Mutex
	state map[string]*throttleWindow
}

type throttleWindow struct {
	start      time.Time
	count      int
	suppressed int
}

func newLogThrottle(logger *slog.Logger, interval time.Duration, burst int, now func() time.Time) *logThrottle {
	return &logThrottle{logger: logger, interval: interval, burst: burst, now: now, state: map[string]*throttleWindow{}}
}

// allow reports whether a line for key may be written now, and how many lines were
// suppressed since the last one that was.
func (t *logThrottle) allow(key string) (ok bool, suppressed int) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.state[key]
	if w == nil {
		w = &throttleWindow{start: now}
		t.state[key] = w
	}
	if now.Sub(w.start) >= t.interval {
		w.start, w.count = now, 0
	}
	if w.count >= t.burst {
		w.suppressed++
		return false, 0
	}
	w.count++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}

// log writes msg at level unless key is over its budget.
func (t *logThrottle) log(key string, level slog.Level, msg string, attrs ...any) {
	if !t.logger.Enabled(context.Background(), level) {
		return
	}
	ok, suppressed := t.allow(key)
	if !ok {
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	t.logger.Log(context.Background(), level, msg, attrs...)
}

// pionLoggerFactory routes pion/turn's logging into slog through the throttle. pion logs
// some lines per packet (at Debug and Info), so Trace is dropped, Debug and Info go to
// slog Debug, Warn and Error go to slog Warn (a remote client provokes them, they are not
// Parley's errors), every scope and level throttled separately.
type pionLoggerFactory struct {
	throttle *logThrottle
}

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{throttle: f.throttle, scope: scope, debugKey: "pion:" + scope + ":debug", warnKey: "pion:" + scope + ":warn"}
}

type pionLogger struct {
	throttle          *logThrottle
	scope             string
	debugKey, warnKey string
}

func (l *pionLogger) emit(key string, level slog.Level, msg string) {
	l.throttle.log(key, level, msg, "component", "pion/turn", "scope", l.scope)
}

func (l *pionLogger) emitf(key string, level slog.Level, format string, args ...any) {
	if !l.throttle.logger.Enabled(context.Background(), level) {
		return
	}
	l.emit(key, level, fmt.Sprintf(format, args...))
}

func (l *pionLogger) Trace(string)          {}
func (l *pionLogger) Tracef(string, ...any) {}
func (l *pionLogger) Debug(msg string)      { l.emit(l.debugKey, slog.LevelDebug, msg) }
func (l *pionLogger) Debugf(format string, args ...any) {
	l.emitf(l.debugKey, slog.LevelDebug, format, args...)
}
func (l *pionLogger) Info(msg string) { l.emit(l.debugKey, slog.LevelDebug, msg) }
func (l *pionLogger) Infof(format string, args ...any) {
	l.emitf(l.debugKey, slog.LevelDebug, format, args...)
}
func (l *pionLogger) Warn(msg string) { l.emit(l.warnKey, slog.LevelWarn, msg) }
func (l *pionLogger) Warnf(format string, args ...any) {
	l.emitf(l.warnKey, slog.LevelWarn, format, args...)
}
func (l *pionLogger) Error(msg string) { l.emit(l.warnKey, slog.LevelWarn, msg) }
func (l *pionLogger) Errorf(format string, args ...any) {
	l.emitf(l.warnKey, slog.LevelWarn, format, args...)
}
