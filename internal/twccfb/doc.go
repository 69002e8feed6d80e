// Package twccfb writes transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1; docs/decisions.md
// D153, D155–D157) without allocating: Recorder keeps the arrival time of every
// transport-wide sequence number in a preallocated ring and serializes the feedback into
// a reusable buffer of at most MaxFeedbackBytes (header, base sequence number, packet
// status count, reference time, feedback packet count, run-length and status-vector
// chunks, small and large receive deltas, padding); Packet hands those bytes to pion's
// RTCP writer without building an rtcp.Packet. It replaces pion's twcc.Recorder, which
// built 22–39 objects per feedback; Writer is the loop that hands the built packets to
// pion, one per Write, with the sender's lock released. The server's feedback toward
// publishers (sfu's feedbackSender) and the Go client's (client's feedbackSender) share
// them, since client may not import sfu; it imports nothing of the module.
//
// Goroutines and state: a Recorder is not safe for concurrent use. Its user guards the
// arrivals with a mutex (Record from the goroutines that read packets, Build from the
// feedback goroutine); the returned buffer is written only by Build, so the one
// goroutine that calls Build may write it to the network after unlocking, until its next
// Build. Packet holds no state of its own beyond the bytes and SSRC it was Set to. A
// Writer (its Packet) belongs to the feedback goroutine; WriteNext takes the sender's
// lock around Build and releases it before pion's write.
package twccfb
