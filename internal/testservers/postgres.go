package testservers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server child process on 127.0.0.1 with superuser "parley"
// (trust authentication on loopback, no Unix socket) and durability off (fsync,
// synchronous_commit, full_page_writes): a crash of the test machine may lose its data,
// a clean stop does not.
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	dbs atomic.Int64 // databases made by NewDatabase
}

// StartPostgres starts a PostgreSQL server for the test and returns the DSN of a fresh
// database on it; the server is stopped and its files removed at t.Cleanup.
func StartPostgres(t testing.TB) string {
	t.Helper()
	return RunPostgres(t).NewDatabase(t)
}

// RunPostgres starts a PostgreSQL server for the test (initdb into a private directory,
// then postgres); it is stopped and its files removed at t.Cleanup.
func RunPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb, postgres := postgresBinaries()
	if initdb == "" {
		missing(t, "PostgreSQL (initdb and postgres)")
	}
	cred, dir := postgresUser(t)
	data := filepath.Join(dir, "data")
	out := &SyncBuffer{}
	cmd := command(cred, out, initdb, "-D", data, "-U", "parley", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir // the test's working directory may be closed to the server's user
	if err := cmd.Run(); err != nil {
		t.Fatalf("testservers: initdb: %v\n%s", err, out.String())
	}
	p, port := startRetrying(t, func(port int) (*process, error) {
		out := &SyncBuffer{}
		cmd := command(cred, out, postgres, "-D", data, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=16MB", "-c", "max_connections=50")
		cmd.Dir = dir
		return start("postgres", cmd, out, func() error { return postmasterReady(data) })
	})
	t.Cleanup(func() {
		p.stop(syscall.SIGINT) // fast shutdown: ends the sessions, writes a checkpoint
		if t.Failed() {
			t.Logf("postgres output:\n%s", p.out.String())
		}
	})
	return &Postgres{Port: port}
}

// DSN is the connection string of the named database.
func (pg *Postgres) DSN(database string) string {
	return fmt.Sprintf("postgres://parley@127.0.0.1:%d/%s?sslmode=disable", pg.Port, database)
}

// NewDatabase creates an empty database on the server and returns its DSN, so tests (or
// table cases) sharing one server do not see each other's tables.
func (pg *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("parley_%d", pg.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		t.Fatalf("testservers: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testservers: create database: %v", err)
	}
	return pg.DSN(name)
}

// postgresBinaries finds initdb and postgres of one PostgreSQL version: Debian's newest
// /usr/lib/postgresql/<version>/bin first, else the directory of the initdb on PATH
// (symlinks resolved, so a /usr/local/bin link leads to its version's postgres). It
// returns empty strings when there is none.
func postgresBinaries() (initdb, postgres string) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	if found, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(found); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExecutable(i) && isExecutable(p) {
			return i, p
		}
	}
	return "", ""
}

// pgVersion reads the major version from /usr/lib/postgresql/<version>/bin.
func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// postgresUser returns the credential the servers run as and the directory for their
// files. As root that is user nobody and a directory it owns (PostgreSQL refuses root;
// t.TempDir's parent is closed to other users); otherwise the test's own user and
// t.TempDir.
func postgresUser(t testing.TB) (*syscall.Credential, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, t.TempDir()
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("testservers: running as root and there is no user nobody to run PostgreSQL as: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("testservers: user nobody has uid %q gid %q", u.Uid, u.Gid)
	}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatalf("testservers: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) }) // runs after the server stopped (LIFO)
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatalf("testservers: %v", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, dir
}

// postmasterReady reports whether postmaster.pid says the server accepts connections
// (the file's 8th line, the status pg_ctl -w waits for).
func postmasterReady(data string) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" {
		return fmt.Errorf("postmaster.pid: not ready yet")
	}
	return nil
}
