// Package testhttp is the tests' one helper for a plain HTTP request: Do sends it (with an
// optional Content-Type, bearer token and headers), reads the whole answer and fails the
// test on a transport error, so each test asserts on the status, headers and body. The
// packages' own helpers (WHIP, the admin API) build on it instead of copying it.
// Only _test.go files import it (architecture_test.go checks that no production package
// does).
//
// Ownership: Do keeps no state; it is safe to call from parallel tests.
package testhttp
