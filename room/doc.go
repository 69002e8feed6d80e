// Package room owns rooms and their participants: the room ID (a tagged union of an
// integer and a string room), the Manager that opens a room on its first join and closes
// it after room.empty_timeout empty (at once, for a room joined with
// JoinOptions.CloseWhenEmpty: a call's room ends with its call), and the forwarding rules
// between participants.
//
// Each Participant has up to two Peers: a publisher Peer (the client offers; an
// sfu.Publisher) and a subscriber Peer (the server offers; an sfu.Subscriber). The room
// reaches them, their tracks and down tracks only through interfaces it owns (media.go,
// D85: upTrack, downTrack, publisherPeer, subscriberPeer, built by a peerFactory); the
// sfu types satisfy them through two thin adapters, and room tests of these rules run on
// fakes without PeerConnections. Join builds neither (peers.go): the client's first
// publisher offer builds both, and a participant the room has something to send to
// (another's audio, a video it views) without a subscriber Peer gets one built in the
// background (clients that only receive never offer). Until then the participant's
// wishes are kept and what it should receive is derived from the room when its
// subscriber Peer is installed; a candidate or subscriber answer for a Peer that does
// not exist yet fails with ErrNotNegotiated. A user who never negotiates in a room where
// nobody publishes costs no PeerConnection.
//
// Early participants (JoinOptions.Early, early.go) negotiate (their subscriber Peer
// pre-connected: sfu SubscriberOptions.PreConnect, with a send section reserved for each
// expected user's audio and video, JoinOptions.Expect, so that their tracks forward
// without a renegotiation) but are not announced (no
// ParticipantJoined, no quality or volume report, no TrackMuted; Room.Participants
// flags them Early), their tracks are held and they receive nothing until
// Participant.Activate, which publishes the held tracks, subscribes them as their wishes
// say and reports ParticipantJoined when a PeerConnection is up.
//
// Each participant's media timeline (timeline.go) goes to the debug log "early media
// timeline", one line per step with a step attribute: ICE and DTLS connected of each
// PeerConnection, activated, each track published (first packet in) and the first packet
// out of each track sent to it, with the times since the join and since Activate. The same
// steps of a call's participant go, once each and timed from the call's accept
// (JoinOptions.AcceptedAt, Participant.ActivateAt), to the Manager's StepObserver
// (calltimeline.go: atomics only, from the goroutines that see the steps; D135).
//
// Audio of every publisher is forwarded to everyone
// else in the room; video only to the participants that called StartRemoteView for that
// publisher (remembered before the publisher joins or publishes, applied when it does;
// at most room.max_pending_remote_views such wishes for users not in the room, see
// remoteviews.go).
// A participant never receives its own tracks. A publisher offer from a new client
// PeerConnection (another SDP session: the client closed its pair and made new ones)
// replaces both Peers (Participant.buildPeers); a publisher ICE restart makes the
// subscriber Peer restart ICE with its next offer, and so does its own ICE failure.
//
// Locks and goroutines:
//   - Manager.mu guards the room map; Room.mu guards membership, each participant's
//     current Peers, early state, published and held tracks, mute state, view requests
//     and DownTrack bookkeeping of every participant of that room. A Peer's callbacks
//     tell the current Peer from a replaced one through Participant.activePub and
//     activeSub (activePeer: an atomic.Value, no lock). Order: Manager.mu, then Room.mu, then the sfu's own
//     locks. Neither is ever taken on the packet path (the sfu forwards without them).
//     Peers are built without either lock (built first, then installed under Room.mu
//     after re-checking that the participant has not left); Peers and Receivers are
//     closed without Room.mu held, because their close runs callbacks that take it.
//   - A subscriber Peer built in the background runs on a goroutine of its own
//     (Manager.builds; Manager.Close waits for them after every participant left).
//   - Callbacks from the sfu (OnTrack, Receiver.OnClose, connection state) run on sfu and
//     pion goroutines and take Room.mu briefly. OnNegotiationNeeded runs on the sfu's
//     negotiation goroutine, which calls Signaller.SendSubscriberOffer; local candidates
//     go to Signaller.SendCandidate from pion's goroutines. Neither holds a room lock.
//   - Each room has one event goroutine (started with the room, ended after RoomClosed)
//     that delivers Listener calls one at a time in the order the changes happened; events
//     are queued under Room.mu, delivered without it.
//   - The empty timeout is a time.AfterFunc armed when the last participant leaves and
//     disarmed (by generation) when someone joins. In a room that closes when empty, the
//     last Leave closes it itself (Manager.closeIfStillEmpty after releasing Room.mu,
//     by the same generation check).
//   - Each room has one ticker goroutine (tickers.go; started with the room, stopped when
//     it closes, awaited by Manager.Close) that owns the volume and quality state. It
//     copies the member list under Room.mu, reads the sfu's statistics through their
//     lock-free snapshots (upTrack Stats/Volume, subscriberPeer DownlinkStats), and queues its
//     Listener calls under Room.mu like every other event; it never touches the packet
//     path.
//
// Voice volume (D20): every room.volume_interval each participant that publishes audio
// gets the volume of its loudest audio track, from the RFC 6464 audio level of its
// packets as mapped by package sfu/audiolevel (0 dBov → 100, -20 dBov steady → 67,
// -30 dBov at 40 % activity → 40, -60 dBov and quieter, silence, no packet for 1 s, or
// muted → 0). The map goes to Listener.VoiceVolumes unless it equals the previous one and
// no participant joined since (then it goes again, for the newcomer's sake).
//
// Network quality (D21): every room.quality_interval each participant's quality is the
// quality.Estimator result (formula and thresholds in sfu/quality/score.go; 5 % audio
// loss → Poor, 20 % → Vbad; worse levels apply at once, better ones after two windows)
// over one window of samples (linkquality.go): per published track the packets expected
// and lost since the previous tick from its sequence numbers, and its jitter; per
// received track the subscriber's receiver reports since the previous tick (expected and
// lost from the extended highest sequence number and the cumulative loss; the first
// report's fraction lost), jitter and RTT. The uplink has no RTT of its own (see sfu's
// linkstats.go) and is scored with the user's downlink RTT. Down (6): connected, and no
// RTP and no RTCP from the user for more than 5 s (counted from its last packet, or from
// when it connected) — unless it publishes nothing, receives nothing and its
// PeerConnections are up, when nothing is expected from it. Unknown (0): not connected
// yet, or no window with enough data yet. Listener.NetworkQuality gets every participant,
// in join order, every interval; Down shows within 5 s plus one quality interval.
package room
