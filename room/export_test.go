package room

// The media plane interfaces (media.go) under names the fakes in package room_test can
// implement, and a Manager built on a fake peerFactory.
type (
	UpTrack        = upTrack
	DownTrack      = downTrack
	PublisherPeer  = publisherPeer
	SubscriberPeer = subscriberPeer
	PeerFactory    = peerFactory
)

// NewManagerWith is NewManager with Peers from peers instead of an sfu.Engine.
var NewManagerWith = newManagerWith
