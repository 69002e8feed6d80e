// Package twcctest is the tests' one reading of transport-wide congestion control
// feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1) by pion's
// rtcp.TransportLayerCC: PionStatuses turns a feedback packet into its reference time and
// one Status per reported packet, so the tests of the writer (internal/twccfb) and of the
// server's reader and senders (sfu) check what they write or read against pion the same
// way instead of each keeping a copy of the walk over pion's chunks and deltas.
// Only _test.go files import it (architecture_test.go checks that no production package
// does), and it imports nothing of the module, so internal/twccfb's own tests can use it.
//
// Ownership: no state; safe from parallel tests.
package twcctest
