package records_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/ops/records"
)

func TestConfigValidateNamesTheKey(t *testing.T) {
	const password = "s3cret-pw"
	tests := []struct {
		name string
		cfg  records.Config
		key  string // "" = valid
	}{
		{"default", records.DefaultConfig(), ""},
		{"empty path", records.Config{Driver: "sqlite"}, "records.sqlite_path"},
		{"blank path", records.Config{Driver: "sqlite", SQLitePath: "  "}, "records.sqlite_path"},
		{"path with query", records.Config{Driver: "sqlite", SQLitePath: "a.db?mode=ro"}, "records.sqlite_path"},
		{"unknown driver", records.Config{Driver: "mysql", SQLitePath: "a.db"}, "records.driver"},
		{"no driver", records.Config{SQLitePath: "a.db"}, "records.driver"},
		{"postgres without dsn", records.Config{Driver: "postgres", SQLitePath: "a.db"}, "records.postgres_dsn"},
		{"postgres bad dsn", records.Config{Driver: "postgres", PostgresDSN: "postgres://u:" + password + "@h:99999999/db"}, "records.postgres_dsn"},
		{"postgres url", records.Config{Driver: "postgres", PostgresDSN: "postgres://parley:pw@db:5432/parley?sslmode=verify-full", RetryFor: time.Minute}, ""},
		{"postgres key=value, no sqlite path", records.Config{Driver: "postgres", PostgresDSN: "host=db dbname=parley", RetryFor: time.Minute}, ""},
		{"no retry time", records.Config{Driver: "sqlite", SQLitePath: "a.db"}, "records.retry_for"},
		{"retry time too long", records.Config{Driver: "sqlite", SQLitePath: "a.db", RetryFor: 25 * time.Hour}, "records.retry_for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("err = %v, want one naming %s", err, tt.key)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the error shows the DSN's password: %v", err)
			}
		})
	}
}
