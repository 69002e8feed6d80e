//go:build race

package sfu

// raceEnabled: the race detector is on (sync.Pool then drops items at random, so pooled
// buffers allocate).
const raceEnabled = true
