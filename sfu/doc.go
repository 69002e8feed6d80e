// Package sfu is Parley's media plane: it terminates WebRTC PeerConnections and forwards
// RTP from publishers to subscribers without decoding.
//
// It owns:
//
//   - Engine: the webrtc.API (codecs Opus, VP8, VP9, H.264, AV1; header extensions mid,
//     rid, repaired-rid, ssrc-audio-level, abs-send-time, transport-wide-cc; an explicit
//     interceptor registry: transport-wide feedback toward publishers (twcc.go), NACKs
//     and receiver reports toward publishers (Parley's own, nackreporter.go, nackgen.go,
//     receiverreport.go, D113: sequence numbers read in place into a preallocated ring per
//     stream, no allocation per packet; one goroutine per PeerConnection sends them every
//     100 ms / 1 s, all streams' reports and NACKs in one compound write, D175), the TWCC
//     header extension
//     (Parley's own numbering into a buffer per stream, twccseq.go, which on a
//     subscriber's PeerConnection also records each packet in the Peer's send history,
//     congestion.go), outermost — no NACK responder, no pion congestion controller, no
//     sender-report interceptor: a subscriber's Sender writes its sender reports,
//     senderreport.go, D174) and
//     the one UDP socket all PeerConnections share
//     through the ICE UDP mux (reads stamped with their arrival time, twcc.go; writes
//     queued per destination and sent several per sendmmsg with rtc.batch_writes,
//     batchwrite.go, runs to one destination coalesced with UDP GSO, batchgso.go; the flush
//     restamps a Subscriber's packets in its send history with the time of the write,
//     D140). NewEngine opens nothing; Start opens the socket; Close is idempotent.
//   - The DTLS certificate (certificate.go): one ECDSA P-256 certificate per process,
//     made by Start with pion's webrtc.GenerateCertificate and given to every
//     PeerConnection (webrtc.Configuration.Certificates), so every Peer presents the
//     same fingerprint and a PeerConnection costs no key generation. DTLS still derives
//     fresh keys per connection (ECDHE). The certificate is valid for about a month;
//     NewPublisher and NewSubscriber replace it when it expires within 7 days (Peers
//     already made keep theirs) and build the PeerConnection without the Engine's lock.
//   - Peers (D85): a participant's two PeerConnections are two types over one transport
//     (transport.go: the PeerConnection, the candidate policy, trickle ICE in trickle.go,
//     connection state, close). Publisher (publisher.go): the client offers its tracks,
//     the server answers and makes a Receiver per track (OnTrack). Subscriber
//     (subscriber.go): the server offers DownTracks and the client answers, or a viewer
//     offers and the server answers (AnswerViewer, viewer.go); it owns the Sender, the
//     RTCP reader and the bandwidth goroutine. Neither has methods of the other's role.
//     Remote candidates pass the Engine's policy (candidates.go) before they reach ICE:
//     addresses in rtc.deny_candidate_cidrs are refused when trickled and removed from
//     descriptions; at most rtc.max_pending_candidates wait for the remote description
//     and rtc.max_remote_candidates are taken per ICE generation.
//   - Receiver: one published track; its packet buffer (a seqlock per slot,
//     packetbuffer.go) is where subscribers' Senders read forwarded packets from and
//     NACKs are answered from.
//   - DownTrack: one (subscriber, track); rewrites SSRC, payload type, sequence numbers and
//     timestamps; answers NACKs; forwards PLI/FIR to the publisher (throttled per track).
//   - One forwarder (forwarder.go, D80): every DownTrack, of a single-layer or a simulcast
//     track, has one forwarder (layer choice, keyframe waits, drop policy, fast first
//     frame) and one munger (munger.go: sequence numbers, timestamps, VP8 picture ID and
//     TL0PICIDX). A single-layer track is a one-layer simulcast track: its Receiver has
//     one layer (Receiver.one) and its read goroutine calls the same DownTrack.forward as
//     the simulcast layers' goroutines; the decision is the pure decideForward.
//   - Sender: the single writer of one subscriber Peer, with a bounded queue of
//     references into the Receivers' packet buffers (buffer, input sequence number, new
//     numbering), never copies of payloads. A Subscriber allocates the queue's slots
//     (rtc.sender_queue_size references of 32 bytes each) and starts its Sender and
//     bandwidth goroutines with its first
//     DownTrack (AddDownTrack, never on the packet path): a subscriber that receives
//     nothing costs neither. SubscriberOptions.PreConnect makes a subscriber negotiate at once
//     (preconnect.go), so ICE and DTLS are up before its first DownTrack: with one
//     receive-only audio section that never carries media (the first DownTrack then costs
//     one renegotiation, no handshake), or with a send section per SubscriberOptions.Reserve
//     entry (an expected publisher's stream ID and kind, a placeholder track that sends
//     nothing); the first DownTrack of that stream and kind takes its section
//     (RTPSender.ReplaceTrack) and forwards at once, without renegotiation (D104).
//   - Simulcast (simulcast*.go, downtrack_layers.go, layerselect.go, videoheader.go,
//     h264sps.go): a publisher's rid layers of one video track form ONE Receiver with up to four layers, each with its
//     own SSRC, packet buffer, PLI throttle, size (from VP8/VP9 keyframe headers and H.264
//     SPS) and measured bitrate. A DownTrack of such a Receiver forwards one layer: the
//     smallest that covers the subscriber's wanted size (SetWantedSize), a pinned one
//     (SetTargetLayer), no larger than the layer its downlink allows (the bandwidth
//     goroutine's cap). A layer without packets for 1 s is inactive; one the publisher
//     stopped on its own while wanted is chosen again only after it has sent for 4 s
//     (layerSettle); not after a pause of the whole track, when no other layer sent
//     through its silence (D123). A DownTrack switches only at a keyframe of the target layer and
//     forwards its current layer until then (which stays wanted, so it is not paused);
//     sequence numbers, timestamps, VP8 picture ID and TL0PICIDX stay continuous (the
//     descriptor is renumbered in the Sender slot's copy).
//
// Keyframe requests (PLI) are throttled per layer (rtc.pli_throttle) and repeated every
// pli_throttle while the keyframe waited for does not come. A request for a new need —
// a switch to another layer, or the first packet a new DownTrack can send — goes out at
// once even within the throttle when a keyframe of that layer arrived after the last
// request: that keyframe passed before this DownTrack could use it (the one asked for
// when a DownTrack is bound arrives before the subscriber's DTLS is up).
//
// Bandwidth (allocator.go, bandwidth.go, congestion.go, gcc.go, twccfeedback.go): a
// subscriber Peer runs its own send-side congestion control (decision D90): the
// transport-wide numbering interceptor records each sent packet's number, size and send
// time in the Peer's preallocated ring (sendHistory, 16 KiB, made when its first stream
// is bound); the socket's read goroutine (D336) or its RTCP goroutine reads the
// transport-wide feedback in place (no
// allocation) and runs a GCC-style estimator (delay trend with adaptive threshold and
// AIMD, loss-based bound); the bandwidth goroutine reads its estimate (an atomic) while
// feedback arrives, and the subscriber's REMB (the lower wins). A
// per-subscriber-Peer goroutine ticks every 200 ms while the Peer has a simulcast video
// (none for an audio-only subscriber, whose DownlinkEstimate is read on demand, D335),
// and at once when a wish changes or such a video is added:
// the pure bandwidthAllocator reserves audio, fits a new or changed wish at once to the
// estimate, steps video down when the estimate stays under 80 % of the use for 400 ms,
// up one rank at a time when the estimate has covered the step for 3 s without a break
// (with 15 % headroom, ≥ 3 s after the last change; or as a probe with backoff), holds
// the levels while the feedback stops, and caps each DownTrack at the layer of its rank.
//
// Feedback toward publishers (twcc.go): transport-wide congestion control feedback
// reports each packet's arrival as the kernel received it on the UDP socket
// (SO_TIMESTAMPNS on Linux, internal/rxstamp; elsewhere when the ICE UDP mux's read
// goroutine read it), not as read by the track's goroutine; the mux's read goroutine
// also records the transport-wide numbers of routed streams in arrival order
// (twccroute.go), so a late track goroutine never makes a packet look lost. The
// feedback is Parley's own (internal/twccfb, shared with the Go client: arrivals in a
// preallocated ring, packets of ≤ 1200 bytes written into a reusable buffer; no allocation
// per packet or feedback).
// Layer pausing (simulcast_pause.go): a simulcast Receiver reports through
// OnWantedLayers which layers some DownTrack's wish needs (the lowest always).
// Fast first frame (fastfirst.go): a new video DownTrack (single-layer or simulcast) starts
// from the layer's buffered last keyframe when it is recent and complete, or on a smaller layer whose keyframe is at
// hand when its target's is not. Subscriber.HoldNegotiation (negotiationhold.go) lets the
// room add several DownTracks to one offer.
// Timeline (timeline.go): a Peer reports its ICE and DTLS connected (OnConnectStep) and a
// DownTrack its first packet queued (OnFirstPacketSent, once, on a goroutine of its own:
// the packet path pays one atomic load), for the room's "early media timeline" log.
//
// Goroutines and the state they own:
//
//   - Receiver read goroutine (one per published track): parses packets, writes the
//     Receiver's packet buffer (its only writer: each slot a seqlock), and runs every
//     DownTrack's forwarder (munger, keyframe waits, seq history writes) without a lock:
//     it is the forwarder's only goroutine — until the stream is bound to the own read
//     path (rtc.own_srtp_inbound, rtpin.go, D255): then the UDP mux's read goroutine
//     (below) does all of this for the stream's packets, and the read goroutine only
//     processes what pion still delivers, holding the stream's route mutex, which the
//     mux goroutine holds (TryLock, never waiting) while it processes one: one writer
//     at a time. The
//     DownTrack list is copy-on-write behind an atomic.Pointer; adding or removing a
//     DownTrack takes the Receiver's mutex, forwarding never does.
//   - UDP mux read goroutine (pion's, one per Engine; it calls stampingConn.ReadFromAddrPort):
//     stamps arrivals and records socket-read transport-wide numbers (twcc.go,
//     twccroute.go); with rtc.own_srtp_inbound it also decrypts the packets of bound
//     publisher streams with each stream's own SRTP context (its only user), writes the
//     stream's NACK log and reception statistics (under the stream's mutex, as the track
//     goroutine did) and runs the Receiver's or layer's writePacket (buffer, statistics,
//     fan-out to DownTracks) under the route's mutex; it never blocks and never writes to
//     a socket: the Senders' enqueue does not block, keyframe requests of such a
//     Receiver go to the Publisher's RTCP goroutine (asyncRTCP, one per publisher
//     PeerConnection from its first bound stream), OnFirstPacketSent runs on a goroutine
//     of its own. A track goroutine whose track ends unbinds the route (takes its mutex
//     once) before the Receiver counts it stopped, so after Publisher.Close no goroutine
//     touches the Receiver.
//   - Receiver RTCP goroutine (one per published track): drains the publisher's RTCP so
//     the report interceptors see it (nackreporter.go notes its sender reports there).
//   - Publisher feedback goroutine (one per publisher PeerConnection, from its first
//     remote stream, so none on a subscriber's, D176; tickloop.go): every 100 ms it sends
//     the transport-wide feedback (twcc.go, also at once when the sender pokes it) and
//     the NACKs plus receiver reports (nackreporter.go), one wake-up for both (D334);
//     each sender keeps its own mutex. The NACK reporter shares each stream's nackLog and receptionStats with
//     the Receiver read goroutine, which writes them per packet under the stream's own
//     mutex.
//   - Subscriber RTCP goroutine (one per subscriber Peer, from its first DownTrack,
//     whatever the number of its tracks; rtcpreader.go): pion's SRTCP session goroutine
//     writes every RTCP packet the subscriber sends, tagged with the SSRC it is addressed
//     to, into the Peer's one bounded queue (the subscriber's PeerConnection is built with
//     its own SettingEngine.BufferFactory) — with rtc.own_srtp_inbound the UDP mux read
//     goroutine does, for the SRTCP from the subscriber's selected UDP address, with the
//     route's own context, scratch buffers and mutex (rtcpin.go, D325), and it feeds
//     that SRTCP's transport-wide feedback to the congestion controller itself instead of
//     queueing it (D336); the Subscriber's
//     pair changes and Close move or end the route (Subscriber.remoteMu); this goroutine reads it, feeds transport-wide
//     feedback that came through pion to the Subscriber's congestion controller (the
//     estimator is under the controller's own mutex, one per Subscriber, as two goroutines
//     feed it; the send history's slots are atomics the Sender writes) and hands each packet to the DownTrack bound
//     to its SSRC (a copy-on-write list, Subscriber.rtcpTracks). It owns every DownTrack's NACK
//     responder and RTT estimate; reads the seq history (atomics) and checks the Receiver
//     buffer (lock-free); enqueues resends on the Sender.
//   - Simulcast layer read goroutines (two per attached layer: RTP and RTCP): each writes
//     its layer's buffer and statistics (atomics) and offers every packet to the
//     Receiver's DownTracks. A DownTrack whose current and target layer differ from the
//     packet's returns after two atomic loads; otherwise it takes its own mutex
//     (forwarder.mu, never shared between DownTracks; taken only for simulcast tracks),
//     which guards its munger, history writes and keyframe waits — two layers' goroutines
//     meet there only around a switch. Wishes (size, pin, budget) and the target layer are atomics any goroutine
//     sets; the last layer goroutine to end finishes the Receiver.
//   - Sender writer goroutine (one per subscriber Peer, from its first DownTrack): owns the slots it took from the
//     queue until it frees them, the reused rtp.Header and the payload scratch it copies
//     each packet into from the Receiver's buffer (lock-free; readers write nothing
//     shared, so subscribers never contend) at write time. Enqueue (any goroutine)
//     stores a reference in a free slot under the Sender's own mutex and never blocks: a
//     full queue drops, and so does the writer when the buffer slot was overwritten
//     before it got there (DownTrack.overwritten); a video DownTrack then waits for the
//     next keyframe after a throttled PLI, so a slow subscriber never delays the
//     publisher or other subscribers. It also owns each DownTrack's sender-report counts
//     (DownTrack.sr: packets, octets, the newest frame's timestamp and write time) and,
//     after a run, once a second, writes the sender reports of all the Subscriber's
//     DownTracks as one compound RTCP packet (senderreport.go, D174). It owns the
//     Subscriber's own write path (rtpout.go, D235: its path decision, SRTP context and
//     sealing buffers); the keys come from pion's DTLS goroutine through dtlsKeys (an
//     atomic pointer), the destination from pion's ICE goroutine (Subscriber.remote,
//     or on an ICE-TCP pair rtpOut.tcp: the connection the Engine's TCP mux, tcpConns in
//     icetcpconns.go, gave the ICE agent, D250; the mux's record has its own mutex, taken
//     by pion's goroutines and at a pair change, never per packet).
//     With rtc.writers (writerpool.go, D290) no goroutine per subscriber: the Engine's
//     pool writers (rtc.writers goroutines) write for the Senders, each Sender assigned to
//     one writer for its life, so the writer is its one owning goroutine and owns all of
//     the above; the writer also owns its batch (outBatch), which holds the sealed
//     datagrams of several of its Senders until it writes them (before it parks, or when
//     full). Enqueue pushes an idle Sender (Sender.inPool, under the Sender's mutex) onto
//     its writer's ready list (lock-free: a CAS on its head; the writer takes the whole
//     list with one swap, owns what it took, and parks only after setting its parked
//     flag and looking at the list again) and wakes the writer only when it is parked. A Sender on pion's path or an ICE-TCP pair is handed over, under its
//     mutex, to a writer goroutine of its own (the one above) for the rest of its life,
//     at the first write that finds its path there (Sender.send; D305);
//     Subscriber.Close waits until the writer let go of a Sender it had queued or that
//     left datagrams in the writer's batch (written and counted before the Subscriber's
//     counters fold into the Engine's totals).
//     With rtc.reader_turns as well (and rtc.own_srtp_inbound; readerwrites.go, D300) a
//     parked writer that the UDP mux read goroutine's fan-out makes ready is not woken
//     at once: its wake-up is owed to the read goroutine, which wakes it when its next
//     read finds a datagram waiting, or else (EAGAIN, before it waits) runs the writer's
//     turns itself, bounded, and leaves it parked. While the wake-up is owed the writer
//     goroutine stays blocked, so the read goroutine is then the writer's one owning
//     goroutine (its ready list, turns, batch) and the Senders still have exactly one.
//   - Batch flush goroutine (one per Engine, rtc.batch_writes; batchwrite.go): writes
//     every non-empty write queue batchFlushInterval after one became non-empty. Each
//     queue (one of 64, chosen by destination address) has its own mutex: a writer holds
//     it to copy a datagram in, and to write the queue when full; a subscriber's Sender
//     writes its destination's queue after each run of writes (Subscriber.flushWrites), so
//     subscribers share a queue only when their addresses hash alike. A queue's map of
//     watched addresses (a Subscriber's remote address → its send history) is written by
//     pion's ICE goroutine and Close (watch, unwatch) and read by writers, under the
//     queue's mutex; the flush restamps send-history slots with atomic stores (D140).
//   - Bandwidth goroutine (one per subscriber Peer, from its first DownTrack; it ticks only
//     while the Peer has a simulcast video, D335): owns the allocator and the levels;
//     reads the estimate and the feedback atomics the subscriber RTCP goroutine writes, and
//     the DownTrack set under the Peer's mutex.
//   - Publisher and Subscriber: the mutex of their transport (one per PeerConnection)
//     guards signaling state: pending candidates and callbacks (transport), a
//     Publisher's Receiver set and last offer's ICE credentials, a Subscriber's offer
//     state and DownTrack set. Callbacks run outside the lock: candidates and
//     connection state on pion's goroutines, OnTrack on pion's track goroutine,
//     OnNegotiationNeeded on a short-lived goroutine per coalesced request (a
//     Subscriber's WaitGroup, with its Sender, RTCP and bandwidth goroutines).
//
// Link statistics (linkstats.go): each Receiver (each simulcast layer) counts on its read
// goroutine the packets, bytes, sequence numbers (quality.SequenceTracker), RFC 3550
// jitter and the RFC 6464 audio level (audiolevel.Meter, extension ID from the
// publisher's negotiated parameters), all published as atomics; the subscriber's RTCP
// goroutine records for each DownTrack the subscriber's receiver reports (loss, jitter, RTT = now - LSR -
// DLSR), NACKed packets and PLI/FIR. Receiver.Stats/Volume/SetMuted and
// Subscriber.DownlinkStats read them lock-free for the room's tickers.
//
// Totals (totals.go): Engine.MediaTotals sums the counters of open Peers and what ended
// ones counted: an ended Receiver or removed DownTrack folds into its Peer (under the
// Peer's mutex), a closed Peer into the Engine (under the Engine's mutex, after the
// Peer's goroutines stopped).
//
// Nothing here logs per packet or allocates per packet in steady state; time-dependent
// logic takes now as a parameter.
package sfu
