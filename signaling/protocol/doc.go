// Package protocol is Parley's wire protocol: JSON-RPC 2.0 envelopes (Request, Response,
// Notification, Error), the method names and their params/result structs, the event names
// and payloads, the error codes, and the validators of user-supplied values (userId,
// nickname, avatar, media type, invitee lists).
//
// It is a leaf package (standard library only) shared by the server (package signaling)
// and the Go client; signaling/PROTOCOL.md is its prose description.
//
// Files: envelope.go (envelopes and decoding), errors.go (codes), methods.go (method
// names), session_params.go, call_params.go, media_params.go (params and results),
// events.go (session and media events), call_events.go (call events, RoomID, MediaType and
// call records), room_grant.go (room grant rights and size limit), validate.go (value
// checks).
//
// Every params struct with constraints has a Validate method returning a *Error whose
// message names the offending field. The package holds no state and starts no goroutines;
// all values are plain data, safe to copy and share once built.
package protocol
