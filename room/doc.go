// Package room owns rooms and their participants: the room ID (a tagged union of an
// integer and a string room), the Manager that opens a room on its first join and closes
// it after room.empty_timeout empty, and the forwarding rules between participants.
//
// Each Participant has two sfu Peers: a publisher Peer (the client offers) and a
// subscriber Peer (the server offers). Audio of every publisher is forwarded to everyone
// else in the room; video only to the participants that called StartRemoteView for that
// publisher (remembered before the publisher joins or publishes, applied when it does).
// A participant never receives its own tracks.
//
// Locks and goroutines:
//   - Manager.mu guards the room map; Room.mu guards membership, published tracks, mute
//     state, view requests and DownTrack bookkeeping of every participant of that room.
//     Order: Manager.mu, then Room.mu, then the sfu's own locks. Neither is ever taken on
//     the packet path (the sfu forwards without them). Peers and Receivers are closed
//     without Room.mu held, because their close runs callbacks that take it.
//   - Callbacks from the sfu (OnTrack, Receiver.OnClose, connection state) run on sfu and
//     pion goroutines and take Room.mu briefly. OnNegotiationNeeded runs on the sfu's
//     negotiation goroutine, which calls Signaller.SendSubscriberOffer; local candidates
//     go to Signaller.SendCandidate from pion's goroutines. Neither holds a room lock.
//   - Each room has one event goroutine (started with the room, ended after RoomClosed)
//     that delivers Listener calls one at a time in the order the changes happened; events
//     are queued under Room.mu, delivered without it.
//   - The empty timeout is a time.AfterFunc armed when the last participant leaves and
//     disarmed (by generation) when someone joins.
package room
