// Command parley-bench loads a Parley server with simulated WebRTC users (package bench)
// and reports what it cost the server.
//
//	parley-bench --scenario a1 --codec h264 --start-server --out a1.json
//	parley-bench --url ws://host:7880/ws --secret S --scenario room --video-publishers 2 --subscribers 20
//	parley-bench --start-server --scenario a2 --video-file clip.ivf --audio-file speech.ogg
//	parley-bench --start-server --scenario calls --calls 6 --call-video --hold 3s --early-media
//	parley-bench --start-server --scenario calls --signaling-only --calls 32 --call-rate 50
//	parley-bench suite --doc docs/benchmarks.md      the standard suite (make bench)
//	parley-bench callsetup --duration 20s            call setup: early media off/on, signaling-only setups/s
//	parley-bench --start-server --scenario c --cpuprofile c.pprof   a CPU profile of the server's window
//	parley-bench --start-server --scenario calls --signaling-only --calls 8 --bench-cpuprofile b.pprof
//	                                                 a CPU profile of the bench's own clients (the Go SDK)
//	parley-bench --url ws://a:7880/ws --url ws://b:7880/ws --scenario calls --calls 20 --hold 3s
//	parley-bench --start-server --nodes 2 --scenario calls --calls 20 --hold 3s   per-node CPU
//	parley-bench --start-server --nodes 3 --cluster --scenario calls --signaling-only --calls 16
//	parley-bench --cluster --url ws://a:7880/ws --url ws://b:7880/ws --scenario calls --calls 20
//
// Publishers send synthetic media (every payload carries its send time, so latency is
// measured) unless --video-file (VP8 IVF) or --audio-file (Opus Ogg) is given: then they
// send the file's frames at its pace, looping, and the report shows that kind's latency as
// n/a (loss, jitter, bitrate, frames and first frame are still measured).
//
// Goroutines and state: the main goroutine parses the flags, starts the servers when
// asked (--start-server, --nodes, --cluster: parley and redis-server child processes on
// free loopback ports, server.go, nodes.go, redis.go) and runs the scenario with package
// bench, which owns the simulated users' goroutines and their measurements; the suite
// (suite.go) and callsetup (callsetup.go) commands run their scenarios one after the
// other on that goroutine, and markdown.go writes the reports. Each child process has one
// goroutine that waits for its exit and sends the result on its exited channel (its only
// state shared with the main goroutine); the main goroutine stops the children.
package main
