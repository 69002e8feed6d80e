// Package recording records rooms (docs/whip.md, "Record a call"; D69): each published
// track is written to its own file as it arrives — VP8 and AV1 into IVF, Opus into Ogg,
// H.264 as an Annex-B stream — with a manifest (who, which file, when it started relative
// to the recording) so the files can be combined later with ffmpeg.
//
// A recorder is a subscriber like any other: for each publisher it opens a viewer Peer
// (room.Manager.NewViewerPeer, sfu.Subscriber.AnswerViewer) and an in-process pion
// PeerConnection that receives it over loopback, so it reads from the same buffer a
// subscriber reads through the same bounded Sender queue (a slow recorder drops its own
// packets, never the call's). Between that PeerConnection and the disk each track has its
// own bounded queue (recording.queue_packets): a slow disk drops recorded packets (video
// until the next keyframe), counted in the manifest.
//
// Ownership: Recorder.mu guards the table of recordings; a recording's mu guards its
// tracks and viewers. Per track one goroutine reads RTP into the queue and one writes the
// file; Stop and Close wait for them. Room events (TrackPublished, RoomClosed) arrive on
// the rooms' event goroutines and only hand work to a goroutine the Recorder waits for.
//
// In a cluster a Recorder records the rooms of its node only (D122): the admin API starts
// a recording where the room's media are. Call hooks (CallBegan, CallEnded), RoomPlaced
// and an owner's requests (RecordCall) are queued in order on one goroutine (calls.go):
// on the app's owner a call whose room is placed on a media node (Elsewhere) is recorded
// there through Remote, and a call recording started here before the placement moves
// there (D124); on the media node RecordCall starts and stops the room's recording as the
// hooks do on one node. A recording's id ends in "@" and Node (D125). A running
// recording's manifest is on disk from its start (StoppedAt 0), so a killed node leaves
// one naming its files.
package recording
