// Package configs gathers Parley's configuration: the root Config composed of each
// package's own Config (rtc from sfu, room, auth and signaling from signaling, call from
// signaling/call, turn), plus the server's own http, metrics, log and admin sections, and
// loads it with viper from, later wins: built-in defaults, a YAML file, PARLEY_*
// environment variables and command-line flags. Unknown keys in the file are an error
// naming the key. Rules that tie sections together (dev mode only on a loopback
// listener, no sample secrets) and the list of development conveniences that are on are
// in safety.go.
//
// It holds no state and starts nothing: Load returns a validated value.
package configs
