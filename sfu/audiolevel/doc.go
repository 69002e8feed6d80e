// Package audiolevel turns the RFC 6464 client-to-mixer audio-level header
// extension of received Opus packets into the 0..100 per-user voice volume of
// onUserVoiceVolumeChanged (spec D20, event E19) and ranks active speakers.
//
// What it owns:
//
//   - Parse and FromHeader: zero-allocation parsers of the one-byte extension
//     payload (voice-activity bit + level 0..127 in -dBov).
//   - Meter: the volume state of one published audio track.
//   - Rank: orders users by volume for active-speaker selection.
//
// Goroutines: a Meter has exactly one writer, the packet goroutine of its
// Receiver, which calls Observe for every audio packet; and one reader, the
// room's volume ticker, which calls Volume every volume interval (300 ms by
// default). Every field of a Meter is an atomic, so Observe takes no lock and
// allocates nothing, and SetMuted and Reset may be called from any goroutine.
// The smoothing state is advanced by Volume, so Volume must be called from one
// goroutine at a time (the ticker); concurrent calls are race-free but make the
// smoothing depend on their interleaving.
//
// Rank is a pure function for the ticker goroutine; it allocates its result.
package audiolevel
