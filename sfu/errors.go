package sfu

import "errors"

// Sentinel errors; returned wrapped with context, test with errors.Is.
var (
	// ErrNotStarted: the Engine has no socket yet (call Start) or is closed.
	ErrNotStarted = errors.New("sfu: engine not started")
	// ErrEngineClosed: the Engine was closed.
	ErrEngineClosed = errors.New("sfu: engine closed")
	// ErrPeerClosed: the Peer was closed.
	ErrPeerClosed = errors.New("sfu: peer closed")
	// ErrOfferPending: CreateOffer was called while the previous offer awaits its answer.
	ErrOfferPending = errors.New("sfu: offer awaits its answer")
	// ErrNoOfferPending: HandleAnswer without an outstanding offer.
	ErrNoOfferPending = errors.New("sfu: no offer awaits an answer")
	// ErrReceiverClosed: the published track has ended.
	ErrReceiverClosed = errors.New("sfu: receiver closed")
	// ErrCodecNotNegotiated: the subscriber does not accept the published track's codec.
	ErrCodecNotNegotiated = errors.New("sfu: codec not negotiated")
	// ErrTooManyCandidates: a remote ICE candidate beyond rtc.max_pending_candidates
	// (queued before the remote description) or rtc.max_remote_candidates.
	ErrTooManyCandidates = errors.New("sfu: too many ICE candidates")
	// ErrTooManyTracks: a publisher's offer with more sections than MaxOfferSections,
	// more sending audio/video sections than MaxPublishSections or more simulcast rids in
	// a section than its layers (offerlimits.go, D205).
	ErrTooManyTracks = errors.New("sfu: too many media sections")
	// ErrCandidateDenied: a remote ICE candidate's address is in rtc.deny_candidate_cidrs.
	ErrCandidateDenied = errors.New("sfu: ICE candidate address denied")
	// ErrInvalidReserve: SubscriberOptions.Reserve has more than MaxReservedSections entries or
	// a kind other than audio or video (preconnect.go).
	ErrInvalidReserve = errors.New("sfu: invalid reserved sections")
	// ErrMalformedRTP: a packet could not be parsed as RTP.
	ErrMalformedRTP = errors.New("sfu: malformed RTP packet")
)
