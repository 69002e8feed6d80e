// Package testwait is the tests' one helper for waiting on a condition: For polls it until
// it holds or a generous limit passes, Until until a context ends, Poll the same without
// failing (the caller reports what it saw). Tests assert what happens, never how fast, so
// the limits are wide and only a missing result fails. The
// packages' own wait helpers (waitFor, waitUntil, eventually) are one-line calls of it
// with their package's usual limit instead of copies of the loop.
// Only _test.go files import it (architecture_test.go checks that no production package
// does).
//
// Ownership: no state; safe from parallel tests.
package testwait
