package sfu

import (
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's warnings and errors to the injected slog.Logger at
// debug and warn level (pion's own warnings are routine for a server); pion's info,
// debug and trace output is dropped.
type pionLoggerFactory struct{ logger *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{logger: f.logger.With("pion", scope)}
}

type pionLogger struct{ logger *slog.Logger }

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}
func (l pionLogger) Warn(msg string)     { l.logger.Debug(msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	l.logger.Debug(fmt.Sprintf(format, args...))
}
func (l pionLogger) Error(msg string) { l.logger.Warn(msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.logger.Warn(fmt.Sprintf(format, args...))
}
