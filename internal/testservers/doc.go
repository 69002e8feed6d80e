// Package testservers starts the real servers Parley's tests talk to — redis-server,
// PostgreSQL and HAProxy — as child processes on 127.0.0.1, each on a free port with its files in a
// private temporary directory, and stops them (and removes the files) at t.Cleanup.
// Only _test.go files import it (architecture_test.go checks that no production package
// does).
//
// The binaries come from Debian's redis-server, postgresql and haproxy packages
// (scripts/ensure-test-deps.sh installs them). When a binary cannot be found the test is
// skipped with a message starting "SKIPPING"; with CI=true in the environment it fails
// instead, so a CI machine cannot pass by skipping.
//
// PostgreSQL refuses to run as root (initdb and postgres both exit). When the test runs
// as root, initdb and postgres run as the unprivileged user "nobody" through
// exec.Cmd's SysProcAttr.Credential (no sudo, setpriv or extra account needed), and the
// data directory is a fresh os.MkdirTemp directory owned by nobody, because t.TempDir's
// parent is private to root (docs/decisions.md D46).
//
// Ownership: each Start… call owns its process and directory; the helpers are safe to
// call from parallel tests. A server's output is kept in memory and printed only when the
// test failed.
package testservers
