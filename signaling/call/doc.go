// Package call is Parley's call state machine: the pure rules of the call life cycle
// (signaling/PROTOCOL.md §4.2, §5.2) and the product decisions D4, D6–D18 and D22
// (docs/decisions.md), with no I/O, no goroutines and no timers.
//
// Every input (Call, Accept, Reject, Ignore, Hangup, Disconnect, InviteUser, Join,
// JoinInGroupCall, SwitchMediaType, Tick) takes the current time and returns an Output: the
// events to send (in order, each addressed to a user and optionally to one session or all
// but one session of that user), the room joins and leaves to perform, the call records of
// calls that ended, and summaries of calls that began or ended (for webhooks and metrics).
// An input that returns an error changed nothing. The session layer carries out the Output;
// it also arms one timer for NextDeadline and calls Tick when it fires, and before any
// other input once that time has passed, so that no input finds an expired invitation
// still ringing (D215).
//
// Ownership: a Machine owns all call state and all per-user call state (which call a user
// is in and in what state, the ringing deadlines, the accepting session). It is not safe for
// concurrent use: exactly one goroutine at a time may call it, so the caller serialises
// access (one owning goroutine, or a mutex around every call). A Machine never calls out
// except to its IDSource, synchronously, from within Call.
//
// Rules the machine settles beyond the spec's text (documented on the methods):
//   - a user is in at most one call (DIALING, RINGING or IN_CALL), and such a user is busy;
//   - hangup while RINGING rejects; Disconnect acts as hangup, cancel or reject by state;
//   - inviteUser in a 1v1 call turns it into a group call (Scene group, groupId unchanged);
//   - a group call in which nobody is IN_CALL any more goes on while an invitee rings; an
//     answer that leaves one user IN_CALL and nobody ringing ends it at once (D216);
//   - after ignore the caller's onCallCancelled says "busy", so ignore and busy look the same
//     to the caller (D11);
//   - after a user called, accepted or joined on a session, that user's call events go to
//     that session only (its other sessions are not in the call).
package call
