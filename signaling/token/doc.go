// Package token makes the two HS256 JWTs an app's server signs with the app's secret: the
// userSig a user logs in with (spec D1) and the room grant that lets a user into a room
// outside calls (D27, signaling/PROTOCOL.md §4.3). It holds their claim types, so the
// server's verifier (package signaling) reads exactly what this package writes, and it
// imports only signaling/protocol and the JWT library: the CLI, the bench harness and app
// servers written in Go mint tokens without linking the server.
//
// Everything here is immutable and safe for concurrent use.
package token
