// Package configs gathers Parley's configuration: the root Config composed of each
// package's own Config (rtc from sfu, room, auth and signaling from signaling, call from
// signaling/call, turn), plus the server's own http and log sections, and loads it with
// viper from, later wins: built-in defaults, a YAML file, PARLEY_* environment variables
// and command-line flags. Unknown keys in the file are an error naming the key.
//
// It holds no state and starts nothing: Load returns a validated value.
package configs
