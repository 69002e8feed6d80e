package records

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Drivers of records.driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config is the `records` section of the root configuration.
type Config struct {
	// Driver is "sqlite" (one node: a file) or "postgres" (a database every node of a
	// cluster shares).
	Driver string `mapstructure:"driver"`
	// SQLitePath is the database file of the sqlite driver; ":memory:" keeps the history
	// in memory (lost at exit). The directory must exist and be writable.
	SQLitePath string `mapstructure:"sqlite_path"`
	// PostgresDSN is the connection string of the postgres driver (a URL
	// postgres://user:password@host:5432/db?sslmode=verify-full or key=value pairs, as
	// libpq takes them; pgxpool's pool_max_conns is accepted too).
	PostgresDSN string `mapstructure:"postgres_dsn"`
	// RetryFor is how long a write the database refuses is retried (the wait doubling from
	// 1 s to 15 s) before its records are dropped, counted and logged (D225): a PostgreSQL
	// restart or failover takes seconds to a minute. Later records wait in the queue.
	RetryFor time.Duration `mapstructure:"retry_for"`
}

// DefaultConfig keeps the history in SQLite, ./parley.db.
func DefaultConfig() Config {
	return Config{Driver: DriverSQLite, SQLitePath: "parley.db", RetryFor: DefaultRetryFor}
}

// Validate checks the section; each error names its key. Only the chosen driver's key is
// checked. An error about the DSN never repeats it (it may hold a password).
func (c Config) Validate() error {
	switch c.Driver {
	case DriverSQLite:
		if strings.TrimSpace(c.SQLitePath) == "" {
			return errors.New("records.sqlite_path: must not be empty (use :memory: for no file)")
		}
		if strings.ContainsAny(c.SQLitePath, "?#") {
			return fmt.Errorf("records.sqlite_path: %q must be a plain path without ? or #", c.SQLitePath)
		}
	case DriverPostgres:
		if strings.TrimSpace(c.PostgresDSN) == "" {
			return errors.New("records.postgres_dsn: must be set with records.driver postgres")
		}
		if _, err := pgx.ParseConfig(c.PostgresDSN); err != nil {
			return errors.New("records.postgres_dsn: not a PostgreSQL connection string (URL or key=value pairs)")
		}
	default:
		return fmt.Errorf("records.driver: must be %q or %q, got %q", DriverSQLite, DriverPostgres, c.Driver)
	}
	if c.RetryFor < time.Second || c.RetryFor > 24*time.Hour {
		return fmt.Errorf("records.retry_for: must be 1s..24h, got %s", c.RetryFor)
	}
	return nil
}
