// Package webhooks POSTs signed JSON events about calls and rooms to operator URLs.
//
// Events: call_began, call_ended (with result, totalTime and the per-user call records
// of spec D22), invitee_offline (spec D9: an invitation to a user with no session, with
// the caller's profile, mediaType, userData and offlinePushInfo), room_started (its first
// participant's media connected), room_finished (the room closed) and recording_finished
// (a stopped recording's manifest, ops/recording). Each request carries
// X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body with webhooks.secret>.
//
// Ownership: the Hooks and room.Listener methods run on the caller's goroutine (the
// signaling Service with its lock held, or a room's event goroutine); they only marshal
// the event and offer it to each URL's bounded queue, never blocking (a full queue drops
// the newest event of the app holding the most, and counts it per app; queue.go, D287).
// One worker goroutine per URL owns that URL's deliveries: it takes the apps in turn,
// sends each app's events in order and retries an event with exponential backoff, so a
// failing receiver delays only its own later events. Start starts the workers; Close
// stops accepting and lets them flush until its context ends.
package webhooks
