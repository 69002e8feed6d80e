package testservers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRedisAnswersAndGoesAway: the server answers PING on the returned URL, Stop and
// Restart take it away and back on the same address, and after the cleanup nothing is
// left listening.
func TestRedisAnswersAndGoesAway(t *testing.T) {
	var addr string
	t.Run("run", func(t *testing.T) {
		r := RunRedis(t)
		addr = r.Addr
		if !strings.HasPrefix(r.URL, "redis://127.0.0.1:") || !strings.HasSuffix(r.URL, "/0") {
			t.Fatalf("URL %q", r.URL)
		}
		if err := ping(addr); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		if err := ping(addr); err == nil {
			t.Fatal("PING answered after Stop")
		}
		r.Restart(t)
		if err := ping(addr); err != nil {
			t.Fatalf("after Restart: %v", err)
		}
	})
	if err := ping(addr); err == nil {
		t.Fatal("redis-server still answers after the test's cleanup")
	}
}

// TestPostgresAnswersAndGoesAway: the DSN reaches a fresh database as a superuser, two
// NewDatabase calls give separate databases, and after the cleanup the server is gone and
// its directory removed.
func TestPostgresAnswersAndGoesAway(t *testing.T) {
	ctx := context.Background()
	var dsn, dataDir string
	t.Run("run", func(t *testing.T) {
		pg := RunPostgres(t)
		dsn = pg.NewDatabase(t)
		other := pg.NewDatabase(t)
		if dsn == other {
			t.Fatalf("NewDatabase gave %q twice", dsn)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
			t.Fatal(err)
		}
		conn2, err := pgx.Connect(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		defer conn2.Close(ctx)
		var n int
		if err := conn2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the other database sees table t: n=%d err=%v", n, err)
		}
	})
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("postgres still accepts connections after the test's cleanup")
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory %s left behind: %v", dataDir, err)
	}
}

// TestPostgresBinariesMatch: initdb and postgres come from one directory (one version),
// even when PATH holds a link to another one.
func TestPostgresBinariesMatch(t *testing.T) {
	initdb, postgres := postgresBinaries()
	if initdb == "" {
		missing(t, "PostgreSQL (initdb and postgres)")
	}
	if filepath.Dir(initdb) != filepath.Dir(postgres) {
		t.Fatalf("initdb %s and postgres %s from different directories", initdb, postgres)
	}
	out, err := exec.Command(postgres, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v %s", postgres, err, out)
	}
	if v := pgVersion(filepath.Dir(initdb)); v > 0 && !strings.Contains(string(out), " "+strconv.Itoa(v)+".") {
		t.Fatalf("postgres --version %q, directory says %d", out, v)
	}
}

// TestMissingSkipsOrFailsInCI: without a binary the test is skipped, with CI=true it fails.
func TestMissingSkipsOrFailsInCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			rec := &recorder{TB: t}
			func() {
				defer func() { _ = recover() }() // recorder's Skip/Fatal stop here
				missing(rec, "redis-server")
			}()
			if ci == "true" && (!rec.failed || rec.skipped) {
				t.Fatalf("CI=true: failed=%v skipped=%v", rec.failed, rec.skipped)
			}
			if ci == "" && (!rec.skipped || rec.failed) {
				t.Fatalf("no CI: failed=%v skipped=%v", rec.failed, rec.skipped)
			}
			if !strings.HasPrefix(rec.msg, "SKIPPING: redis-server not found") {
				t.Fatalf("message %q", rec.msg)
			}
		})
	}
}

// recorder records Skip and Fatal instead of ending the test.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, args[0].(string)
	panic(r)
}

func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, args[0].(string)
	panic(r)
}

// TestHAProxyForwardsAndGoesAway: haproxy on the configuration the test wrote forwards its
// port to a listener of the test, logs the connection, and after the cleanup its port is
// closed.
func TestHAProxyForwardsAndGoesAway(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	var addr string
	t.Run("run", func(t *testing.T) {
		h := RunHAProxy(t, func(port int) string {
			return fmt.Sprintf("global\n  log stdout format raw local0 info\ndefaults\n  mode tcp\n  log global\n  option tcplog\n"+
				"  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"+
				"frontend f\n  bind 127.0.0.1:%d\n  default_backend b\nbackend b\n  server s1 %s\n", port, backend.Addr())
		})
		addr = h.Addr
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "hello\n" {
			t.Fatalf("through haproxy: %q %v", line, err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(h.Log(), " f b/s1 ") {
			if time.Now().After(deadline) {
				t.Fatalf("no log line of the connection:\n%s", h.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("haproxy still accepts connections after the test's cleanup")
	}
}
