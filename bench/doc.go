// Package bench is Parley's load harness (cmd/parley-bench): it connects simulated
// users to a Parley server by URL (or to several, Config.Nodes: rooms and calls go to
// the nodes in turn, every member of a room and both parties of a call on one node, since
// independent nodes share no users; docs/decisions.md D37; with Config.Cluster the nodes are
// one cluster and the members of a call or room go to different nodes in turn, after a
// check of every node's parley_cluster_nodes, cluster.go, D56), each with its own WebSocket (client.Conn), its own
// publisher PeerConnection (client.Publisher: synthetic Opus with the audio-level
// extension, 80-byte payloads every 20 ms, and synthetic VP8 or H.264 video — Scenario.Codec,
// --codec — optionally as three simulcast layers 320×180@15, 640×360@20, 1280×720@30 fps at
// 150 kbit/s, 500 kbit/s, 1.7 Mbit/s) and its own measuring subscriber PeerConnection, which
// finds each packet's synthetic block by the track's negotiated codec, and reports what the
// load cost the server. With Scenario.VideoFile / AudioFile (--video-file, --audio-file)
// publishers send a VP8 IVF / Opus Ogg file instead (client.LoadIVF, LoadOgg: loaded and
// checked once per run, before any load, and shared); receivers tell file tracks from
// synthetic ones by their first packets (client.ClassifyBlock) and measure them without
// latency, which the report shows as n/a. Every PeerConnection negotiates transport-wide
// congestion control as browsers do (client.PeerConfig.TransportCC; off with
// Scenario.NoTransportCC), so the server's congestion control is part of what is measured
// (D35).
//
// Scenarios (Scenario, scenario.go): room (N rooms × P video publishers + A audio
// publishers + S subscribers that view given videos at given sizes), calls (N concurrent
// 1v1 calls through the call layer: call → accept → media → hangup, at a call rate with a
// hold time; with Scenario.EarlyMedia both sides prepareCall, publish and view each other
// while the call rings, before the accept; with Scenario.SignalingOnly N pairs without
// media or PeerConnections repeat call → accept → onCallBegin → hangup → onCallEnd),
// churn (users joining and leaving at a rate, to expose leaks), and the named
// reference loads a1, a2, b, c (Reference; 60 s measurement windows by default).
//
// Measures (Report, report.go): join time (socket open → media flowing), time to first
// frame (startRemoteView → first keyframe), call setup time and failures by cause, call
// setups per second in the window, accept → first media (the callee's accept sent → the
// first packet of the other party's audio, video and first keyframe at each side;
// arrivals.go), the calls' timeline (timeline.go, D136: per step p50/p95/max from the
// accept, the client steps measured here, the server's from its parley_call_timeline_seconds
// on /metrics), received bitrate, loss (from RTP sequence numbers), end-to-end latency
// (from the send time in every synthetic payload) and RFC 3550 interarrival jitter (from
// the RTP timestamps), and for a server whose pid is known its CPU seconds, RSS and
// threads from /proc, goroutines and forwarded packets from /metrics when it serves them. Forwarded packets fall back to what the
// subscribers received plus what they lost. The derived figures are server CPU-seconds
// per 1000 forwarded packets and forwarded packets per second per core; with several nodes
// the server figures are the nodes' sums and Report.Nodes has each node's (nodes.go). A
// report holds only what its run measured (D36). Config.WindowStart and WindowEnd run
// as the window starts and ends (cmd/parley-bench uses them to profile the server).
//
// Goroutines and state:
//   - Run's goroutine owns the scenario: it paces joins (one goroutine per joining
//     participant, joined before the next phase), the measurement window and the leave.
//   - The recorder's sampling goroutine (recorder.go) samples the server and the meter
//     once a second for the series and the progress line; its mutex guards the phase and
//     the window snapshots the scenario goroutine sets.
//   - Per participant: the client.Conn's goroutines (its handler goroutine applies the
//     server's offers and candidates for the bench's PeerConnections), the Publisher's
//     send loops, and one pion OnTrack goroutine per received track that alone owns its
//     trackReader and adds to the meter's atomic counters and lock-free histograms.
//   - Calls: one goroutine per call slot (calls.go, callsignal.go); with early media the
//     caller's preparation runs in one more goroutine while the slot's goroutine waits
//     for the invitation and prepares the callee; it is waited for before the accept.
//   - runner.mu guards the join/failure/call counters. Every goroutine a run starts has
//     ended when Run returns.
package bench
