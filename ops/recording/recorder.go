package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Errors of Start, Stop and File.
var (
	ErrDisabled         = errors.New("recording is disabled (recording.dir is empty)")
	ErrAlreadyRecording = errors.New("the room is being recorded already")
	ErrTooMany          = errors.New("recording.max_recordings recordings are running")
	ErrUnknown          = errors.New("no such recording or file")
	ErrClosed           = errors.New("the recorder is closed")
)

// Info describes a recording; once stopped it is the manifest (manifest.json in its
// directory).
type Info struct {
	ID        string          `json:"id"`
	SDKAppID  int             `json:"sdkAppId"`
	RoomID    protocol.RoomID `json:"roomId"`
	StartedAt int64           `json:"startedAt"`           // unix milliseconds
	StoppedAt int64           `json:"stoppedAt,omitempty"` // unix milliseconds, 0 while running
	Tracks    []TrackFile     `json:"tracks"`
}

// ManifestFile is the name of a stopped recording's manifest.
const ManifestFile = "manifest.json"

// MaxStoppedKept is how many stopped recordings the Recorder remembers (List, File): with
// recording.calls every call makes one, so a table of all of them would grow for as long
// as the process runs. Older ones leave the table (their directories stay in
// recording.dir; the API answers 404 for them).
const MaxStoppedKept = 1000

// Recorder records rooms on request (Start, Stop) and hears of their new tracks as a
// room.Listener (TrackPublished, RoomClosed: a closed room's recording stops).
type Recorder struct {
	room.NopListener
	cfg        Config
	rooms      *room.Manager
	mediaAddr  func() *net.UDPAddr
	onFinished func(Info)
	log        *slog.Logger

	mu     sync.Mutex
	recs   map[string]*recording // the running and the last MaxStoppedKept stopped recordings, by id
	active map[room.ID]*recording
	done   []string // ids of the stopped recordings in recs, oldest first
	closed bool
	wg     sync.WaitGroup // attach and stop goroutines started by room events and call hooks

	queue    []func() // call hooks' work, in order (calls.go)
	draining bool     // a goroutine runs queue

	// Cluster fields, set before the first Start or call hook (D122, D124, D125):
	//
	// Node is this node's cluster id ("" alone): a recording's id is then its random part,
	// "@" and Node, so any node's admin API knows where it runs.
	Node string
	// Elsewhere (may be nil) names the node whose media hold a room when it is not this
	// one: with cluster.room_placement load a call's room may be on a media node.
	Elsewhere func(room.ID) string
	// Remote (may be nil) asks media node node to start (on) or stop recording room id
	// for call callID (recording.calls of a placed room, D124); it only queues.
	Remote func(node, callID string, id room.ID, on bool)
	remote map[room.ID]string // owner: rooms recorded for a call on a media node (calls.go)
}

// New builds a Recorder of the rooms of rooms; mediaAddr is the media engine's UDP
// address (sfu.Engine.UDPAddr), which its loopback PeerConnections reach; onFinished
// (may be nil) gets each stopped recording's manifest (the recording_finished webhook).
// It starts nothing.
func New(cfg Config, rooms *room.Manager, mediaAddr func() *net.UDPAddr, onFinished func(Info), logger *slog.Logger) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if onFinished == nil {
		onFinished = func(Info) {}
	}
	return &Recorder{
		cfg: cfg, rooms: rooms, mediaAddr: mediaAddr, onFinished: onFinished, log: logger,
		recs: make(map[string]*recording), active: make(map[room.ID]*recording),
	}, nil
}

// recording is one room's recording.
type recording struct {
	id, dir string
	room    room.ID
	started time.Time
	call    string // the call whose begin started it (recording.calls), "" by the API

	attachMu sync.Mutex // one attach at a time
	seen     map[*sfu.Receiver]bool

	mu      sync.Mutex
	stopped bool
	final   Info
	viewers []viewerPair
	tracks  []*trackRecorder
	counts  map[string]int // files per userId and kind
	wg      sync.WaitGroup // each track's reader and writer
}

// viewerPair is one viewer: the server's Peer and the recorder's PeerConnection.
type viewerPair struct {
	server *sfu.Subscriber
	client *webrtc.PeerConnection
}

// Start records room id from now: every track published there now and later, until
// Stop or the room closes.
func (r *Recorder) Start(id room.ID) (Info, error) { return r.start(id, "") }

// start is Start for call callID ("" by the API).
func (r *Recorder) start(id room.ID, callID string) (Info, error) {
	if r.cfg.Dir == "" {
		return Info{}, ErrDisabled
	}
	recID := randomID()
	if r.Node != "" {
		recID += "@" + r.Node
	}
	rec := &recording{id: recID, room: id, call: callID, started: time.Now(), seen: map[*sfu.Receiver]bool{}, counts: map[string]int{}}
	rec.dir = filepath.Join(r.cfg.Dir, rec.id)
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return Info{}, ErrClosed
	case r.active[id] != nil:
		r.mu.Unlock()
		return Info{}, fmt.Errorf("room %s: %w", id, ErrAlreadyRecording)
	case len(r.active) >= r.cfg.MaxRecordings:
		r.mu.Unlock()
		return Info{}, ErrTooMany
	}
	r.recs[rec.id], r.active[id] = rec, rec
	r.mu.Unlock()
	if err := os.MkdirAll(rec.dir, 0o750); err != nil {
		r.mu.Lock()
		delete(r.recs, rec.id)
		delete(r.active, id)
		r.mu.Unlock()
		return Info{}, fmt.Errorf("recording directory: %w", err)
	}
	rec.mu.Lock()
	rec.writeRunningManifest()
	rec.mu.Unlock()
	r.later(func() { r.attach(rec) })
	r.log.Info("recording started", "recording", rec.id, "room", id.String())
	return rec.info(), nil
}

// later runs fn on a goroutine Close waits for, unless the Recorder closed.
func (r *Recorder) later(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn()
	}()
}

// TrackPublished records the new track of a room being recorded (room.Listener; on
// the room's event goroutine, so the work goes elsewhere).
func (r *Recorder) TrackPublished(id room.ID, _ string, _ room.TrackKind) {
	r.mu.Lock()
	rec := r.active[id]
	r.mu.Unlock()
	if rec != nil {
		r.later(func() { r.attach(rec) })
	}
}

// RoomClosed stops the room's recording (room.Listener).
func (r *Recorder) RoomClosed(id room.ID) {
	r.mu.Lock()
	rec := r.active[id]
	r.mu.Unlock()
	if rec != nil {
		r.later(func() { _, _ = r.Stop(rec.id) })
	}
}

// attach opens a viewer for every publisher of the room with tracks not recorded yet.
func (r *Recorder) attach(rec *recording) {
	rec.attachMu.Lock()
	defer rec.attachMu.Unlock()
	rm, ok := r.rooms.Room(rec.room)
	if !ok {
		return
	}
	for _, p := range rm.Participants() {
		if p.Early {
			continue
		}
		tracks, err := r.rooms.PublishedTracks(rec.room, p.UserID)
		if err != nil {
			continue
		}
		tracks = slices.DeleteFunc(tracks, func(t *sfu.Receiver) bool { return rec.seen[t] })
		if len(tracks) == 0 {
			continue
		}
		for _, t := range tracks {
			rec.seen[t] = true
		}
		if err := r.view(rec, p.UserID, tracks); err != nil {
			r.log.Warn("recording: tracks not recorded", "recording", rec.id, "user", p.UserID, "error", err)
		}
	}
}

// view receives tracks of userID on a viewer Peer over loopback and records them.
func (r *Recorder) view(rec *recording, userID string, tracks []*sfu.Receiver) error {
	server, err := r.rooms.NewViewerPeer("recorder")
	if err != nil {
		return err
	}
	client, err := r.loopbackPeerConnection()
	if err != nil {
		return errors.Join(err, server.Close())
	}
	pair := viewerPair{server: server, client: client}
	fail := func(err error) error { return errors.Join(err, client.Close(), server.Close()) }
	for _, t := range tracks {
		if _, err := client.AddTransceiverFromKind(t.Kind(), webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail(err)
		}
	}
	client.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { rec.record(r.cfg.QueuePackets, userID, track) })
	offer, err := client.CreateOffer(nil)
	if err != nil {
		return fail(err)
	}
	if err := client.SetLocalDescription(offer); err != nil {
		return fail(err)
	}
	if _, _, err := server.AnswerViewer(offer, tracks); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answer, err := server.GatheredLocalDescription(ctx)
	if err != nil {
		return fail(err)
	}
	if err := client.SetRemoteDescription(answer); err != nil {
		return fail(err)
	}
	// The engine's socket itself, whatever addresses it advertises (rtc.nat_1to1_ips).
	if addr := r.mediaAddr(); addr != nil {
		ip := addr.IP
		if ip.IsUnspecified() {
			ip = net.IPv4(127, 0, 0, 1)
		}
		zero := uint16(0)
		cand := fmt.Sprintf("candidate:1 1 udp 2130706431 %s %d typ host", ip, addr.Port)
		if err := client.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand, SDPMLineIndex: &zero}); err != nil {
			return fail(err)
		}
	}
	rec.mu.Lock()
	stopped := rec.stopped
	if !stopped {
		rec.viewers = append(rec.viewers, pair)
	}
	rec.mu.Unlock()
	if stopped {
		return fail(nil)
	}
	return nil
}

// loopbackPeerConnection is the recorder's receiving PeerConnection: default codecs and
// interceptors (NACKs, receiver reports), host candidates on loopback only.
func (r *Recorder) loopbackPeerConnection() (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
}

// record starts writing a received track (pion's goroutine), unless the recording stopped.
func (rec *recording) record(queue int, userID string, track *webrtc.TrackRemote) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.stopped {
		return
	}
	key := userID + "-" + track.Kind().String()
	rec.counts[key]++
	t, err := newTrackRecorder(rec.dir, userID, rec.counts[key], track, queue, rec.started)
	if err != nil {
		return // the manifest lists what is recorded; the codec or the disk refused this one
	}
	rec.tracks = append(rec.tracks, t)
	rec.writeRunningManifest()
	rec.wg.Add(2)
	go func() {
		defer rec.wg.Done()
		t.read(func() (*rtp.Packet, error) {
			pkt, _, err := track.ReadRTP()
			return pkt, err
		})
	}()
	go func() {
		defer rec.wg.Done()
		t.write()
	}()
}

// Stop ends recording recID: the viewers close, the files are completed, the manifest is
// written and handed to onFinished. Stopping a stopped recording returns its manifest.
func (r *Recorder) Stop(recID string) (Info, error) {
	r.mu.Lock()
	rec := r.recs[recID]
	if rec != nil && r.active[rec.room] == rec {
		delete(r.active, rec.room)
	}
	r.mu.Unlock()
	if rec == nil {
		return Info{}, ErrUnknown
	}
	rec.attachMu.Lock() // no attach in flight
	defer rec.attachMu.Unlock()
	rec.mu.Lock()
	if rec.stopped {
		final := rec.final
		rec.mu.Unlock()
		return final, nil
	}
	rec.stopped = true
	viewers := rec.viewers
	rec.mu.Unlock()
	for _, v := range viewers {
		_ = v.client.Close() // the readers see the tracks end, the writers complete the files
		_ = v.server.Close()
	}
	rec.wg.Wait()
	info := rec.info()
	info.StoppedAt = time.Now().UnixMilli()
	for _, t := range rec.tracks {
		info.Tracks = append(info.Tracks, t.manifestEntry())
	}
	err := writeManifest(rec.dir, info)
	rec.mu.Lock()
	rec.final = info
	rec.mu.Unlock()
	r.forgetOld(rec.id)
	r.log.Info("recording stopped", "recording", rec.id, "room", rec.room.String(), "tracks", len(info.Tracks))
	r.onFinished(info)
	if err != nil {
		return info, fmt.Errorf("write manifest: %w", err)
	}
	return info, nil
}

// writeRunningManifest writes the manifest of a running recording (StoppedAt 0), at its
// start and as each track starts (rec.mu held): a node killed before Stop leaves a
// manifest naming the files, each readable up to its last packet written (D125). A track's
// StartOffsetMs is then when its first packet reached the recorder (pion's OnTrack).
func (rec *recording) writeRunningManifest() {
	info := rec.info()
	for _, t := range rec.tracks {
		e := t.manifestEntry()
		if e.StartOffsetMs < 0 {
			e.StartOffsetMs = time.Since(rec.started).Milliseconds()
		}
		info.Tracks = append(info.Tracks, e)
	}
	_ = writeManifest(rec.dir, info) // best effort: the final one reports a disk that fails
}

// writeManifest replaces dir's manifest with info at once (a new file renamed over it).
func writeManifest(dir string, info Info) error {
	body, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+ManifestFile)
	if err := os.WriteFile(tmp, body, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}

// forgetOld notes the recording recID stopped and drops the oldest stopped recordings
// beyond MaxStoppedKept from the table.
func (r *Recorder) forgetOld(recID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, recID)
	for len(r.done) > MaxStoppedKept {
		delete(r.recs, r.done[0])
		r.done = slices.Delete(r.done, 0, 1)
	}
}

// info is the recording's identity (no tracks).
func (rec *recording) info() Info {
	wire := protocol.StrRoom(rec.room.Str())
	if rec.room.IsInt() {
		wire = protocol.IntRoom(rec.room.Int())
	}
	return Info{ID: rec.id, SDKAppID: rec.room.App(), RoomID: wire, StartedAt: rec.started.UnixMilli()}
}

// List returns the recordings of this process, oldest first: running ones without
// tracks, the last MaxStoppedKept stopped ones with their manifest.
func (r *Recorder) List() []Info {
	r.mu.Lock()
	recs := make([]*recording, 0, len(r.recs))
	for _, rec := range r.recs {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	out := make([]Info, 0, len(recs))
	for _, rec := range recs {
		rec.mu.Lock()
		if rec.final.ID != "" {
			out = append(out, rec.final)
		} else {
			out = append(out, rec.info())
		}
		rec.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Info) int { return int(a.StartedAt - b.StartedAt) })
	return out
}

// File returns the path of a stopped recording's file: the manifest or one it lists.
func (r *Recorder) File(recID, name string) (string, error) {
	r.mu.Lock()
	rec := r.recs[recID]
	r.mu.Unlock()
	if rec == nil {
		return "", ErrUnknown
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.final.ID == "" {
		return "", fmt.Errorf("recording %s is running: %w", recID, ErrUnknown)
	}
	if name == ManifestFile || slices.ContainsFunc(rec.final.Tracks, func(t TrackFile) bool { return t.File == name }) {
		return filepath.Join(rec.dir, name), nil
	}
	return "", ErrUnknown
}

// Close stops every running recording. Idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	var ids []string
	for _, rec := range r.active {
		ids = append(ids, rec.id)
	}
	r.mu.Unlock()
	r.wg.Wait()
	var errs []error
	for _, id := range ids {
		if _, err := r.Stop(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
