// Command parley is the Parley media server: a WebRTC SFU with a built-in call service.
//
//	parley [--config FILE] [--KEY=VALUE ...]      run the server (defaults serve 127.0.0.1:7880)
//	parley --cpuprofile FILE [--cpuprofile-signal] ...
//	                                              also write a CPU profile (to exit, or
//	                                              between two SIGUSR1: docs/decisions.md D36)
//	parley token --app ID --user ID [--ttl 1h]    print a userSig for development
//	parley token --user ID --room ROOM [--rights publish,subscribe]
//	                                              print a room grant for joinRoom
//	parley healthcheck [--url URL]                exit 0 when the server answers /healthz
//	parley help [COMMAND]                         print the usage (so does -h of each command)
//
// A bad flag or argument prints the error and the usage to stderr and exits 2; an unknown
// command is refused the same way instead of starting the server.
//
// Files: main.go (commands and usage), serve.go (runServe: configuration, signals),
// server.go (the server: assembly, start, shutdown), drain.go (the graceful drain and
// /readyz), cluster.go and clustergauges.go (joining a cluster, its gauges), connlimit.go
// (http.max_conns_per_ip), requestconns.go (http.max_request_conns[_per_ip], D247),
// fanout.go (hooks and room events to several observers),
// callsapi.go, presenceapi.go, recordingsapi.go (the admin HTTP APIs), turn_media.go (the
// TURN relay's media addresses), profile.go (--cpuprofile), token.go and healthcheck.go
// (the other commands).
//
// Goroutines and state: the main goroutine runs a command; for the server it loads the
// configuration, builds the server (newServer starts nothing), starts it and blocks until
// SIGINT/SIGTERM, then shuts it down (drain, then close, once: closeOnce). The server's
// fields are set by that goroutine (newServer, start) and only read by the others; the HTTP
// servers' goroutines (one per listener, serveHTTP) serve the handlers, and every part
// (sfu.Engine, signaling.Service, turn.Server, records.Writer, webhooks.Dispatcher,
// recording.Recorder, cluster.Cluster) owns its own goroutines and state as its package
// says. What several goroutines share here is guarded where it is declared: the
// perIPListener's and requestConnLimiter's counts (their mu), the CPU profile's file and state (cpuProfile.mu), the
// load probe the heartbeat goroutine reads (loadProbe.mu) and the refused-connection count
// (atomic).
package main
