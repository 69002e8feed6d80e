// Package teststack holds the pieces the tests' in-process servers share: MediaConfig and
// Engine start a media engine (sfu.Engine) on a port the system picks and close it when
// the test ends, ServiceConfig is the call service's configuration at its defaults. The
// harnesses of room, signaling, web and bench build on it (each adds its own options,
// deps and handlers) instead of each keeping a copy of the start-up and clean-up.
// GatheredOffer is the offer of the tests' WHIP and WHEP clients (signaling, web), which
// send their candidates in it.
// Only _test.go files import it (architecture_test.go checks that no production package
// does); sfu's own tests cannot (sfu would import itself).
//
// Ownership: no state; each Engine call owns its engine until the test's cleanup closes
// it. Safe from parallel tests.
package teststack
