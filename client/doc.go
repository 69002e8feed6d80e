// Package client is the smallest Go SDK for Parley that tests and the bench need: a
// signaling Conn (Dial: JSON-RPC 2.0 over WebSocket, a typed method per protocol method,
// an ordered event log with waiters and On handlers, StartMedia/StopMedia that negotiate
// both PeerConnections and RestartICE that renews their ICE as after a network change), a Publisher that offers and sends synthetic Opus and VP8 or H.264
// tracks (single stream or simulcast layers, each layer on its own frame rate) or the
// frames of a VP8 IVF and an Opus Ogg file, and a
// Subscriber that answers the server's offers and checks every packet it receives
// (sequence continuity, duplicates, payload integrity, latency, track end).
//
// It imports nothing of the server but signaling/protocol (wire types), so it can talk to
// any deployment the way a real SDK would. The Publisher and Subscriber can also be used
// with another signaling transport: they expose SDP and ICE candidates; both hold back
// local candidates until the caller says the local description was sent and queue remote
// candidates until the remote description is set (the two trickle races).
//
// Goroutines and state:
//   - Conn (conn.go, envelope.go, events.go, media.go, mediastate.go): the reader goroutine owns socket reads
//     (one reused buffer; the envelope the server writes is read without encoding/json,
//     D201), completes pending requests (map by id under pendingMu) and appends
//     notifications to the event log (a wait starts after the events its name already
//     consumed, D200); the handler goroutine runs On handlers in order; the media worker
//     goroutine applies the server's offer/trickle notifications one at a time and owns
//     answering them, and carries out a switch of the call's media type in the same order
//     (mediaswitch.go: to audio the camera closes and the remote views stop, D241). Writes
//     are serialised by a mutex. Dial starts the three, Close ends them (and the media)
//     and is idempotent.
//   - Publisher: one send goroutine per track (started by Start, ended by Stop/Close) owns
//     that track's RTP sequence, timestamp, synthetic counters and file position (the simulcast one owns
//     every layer's, and sends each layer's frame when the layer's own clock is due); one RTCP reader per
//     sender (ended when the PeerConnection closes) flags keyframe requests through an
//     atomic. Counters read by Stats are atomics.
//   - Subscriber: pion's OnTrack goroutine becomes that track's read loop; it alone writes
//     the track's counters, under a per-track mutex that Tracks takes to snapshot them.
//     Like a decoder, it sends a PLI while a video track has not yet had a keyframe.
//   - Close waits for every goroutine the value started; it is idempotent.
//
// Synthetic media (payload.go, packetize.go, h264.go): every RTP packet carries one
// verifiable block (send time, sequence, frame, flags, filler, CRC) after the codec's
// framing. One packetizer splits a frame into payloads of at most MaxPayloadSize bytes and
// asks a small frameCodec for the framing: VP8 (payload descriptor, frame header) or H.264
// (RFC 6184: a keyframe's STAP-A of SPS with the layer's size, PPS and an SEI holding a
// block; the slice as one NAL unit or FU-A fragments). The Subscriber parses by the track's
// negotiated mime type (ParseVideoPayload).
//
// Media files (ivffile.go, oggfile.go, fileplayer.go): instead of synthetic media a
// Publisher can send a VP8 IVF file (LoadIVF: pion's ivfreader, frame headers checked, the
// first frame a keyframe) and an Opus Ogg file (LoadOgg: pion's oggreader for the pages,
// split into packets by their lacing values, each packet's duration from its TOC byte).
// Loaded files are immutable and shared by any number of Publishers. A send loop paces
// the frames at the file's own times (filePlayer), looping with RTP timestamps and
// sequence numbers that keep increasing; VP8 frames go through the same packetizer as
// synthetic ones (their bytes instead of blocks), and a keyframe request skips to the
// file's next keyframe. SampleIVF and SampleOgg write small valid files without an
// encoder. Receivers decide per track from its first packets whether it is synthetic
// (ClassifyBlock: the block's CRC must verify) or real media, which is measured without
// latency (TrackStats.Source, Latencies) and whose packets all count as PayloadErrors (so
// a synthetic stream damaged from its first packet still fails integrity checks); jitter
// (RFC 3550, Jitter) comes from the RTP timestamps for both.
//
// Every PeerConnection gets its own webrtc.API (NewAPI): Opus, VP8 and H.264, the mid and
// ssrc-audio-level header extensions, and an explicit interceptor chain (optional loss
// simulator, NACK generator and responder, RTCP receiver and sender reports; with
// PeerConfig.TransportCC also transport-wide congestion control as browsers negotiate it:
// the transport-wide-cc extension numbering what it sends and TWCC feedback on what it
// receives; on loopback the PeerConnection owns its UDP socket and the feedback reports
// the kernel's receive times, feedback.go, docs/decisions.md D116; the feedback is
// written without allocating by the server's writer, internal/twccfb, D153). The loss
// simulator drops after SRTP decryption, so it turns off SRTP replay protection (the
// repairs reuse sequence numbers SRTP has already seen); it only drops packets of streams
// that negotiated NACK, since other losses could never be repaired.
package client
