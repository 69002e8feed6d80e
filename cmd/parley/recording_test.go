package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/ops/recording"
	"github.com/parley-rtc/parley/ops/webhooks"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// adminRequest sends an admin API request with the test key and decodes a JSON answer
// into out (when not nil); it returns the status and the raw body.
func adminRequest(t *testing.T, method, url string, body any, out any) (int, []byte) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	status, _, raw := testhttp.Do(t, method, url, "", testAdminKey, string(b), nil)
	if out != nil && status < 300 {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, raw, err)
		}
	}
	return status, []byte(raw)
}

// TestRecordACall: the admin API records a 1v1 call's room: four files (audio and video
// of both users) with a manifest, each readable (IVF frames, Ogg pages) and about as
// long as the recording; recording_finished carries the manifest; the API's errors.
func TestRecordACall(t *testing.T) {
	const secret = "cmd-webhook-secret-0123456789"
	var mu sync.Mutex
	var finished []webhooks.Envelope
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env webhooks.Envelope
		if json.Unmarshal(body, &env) == nil && env.Event == webhooks.EventRecordingFinished {
			mu.Lock()
			finished = append(finished, env)
			mu.Unlock()
		}
	}))
	defer rcv.Close()
	cfg := testConfig(t)
	cfg.Admin.APIKey = testAdminKey
	cfg.Recording.Dir = t.TempDir()
	cfg.Webhooks.URLs, cfg.Webhooks.Secret = []string{rcv.URL}, secret
	r := startServe(t, cfg)
	api := r.url("/api/v1/recordings")

	_, _, started, real := callWithMedia(t, r)

	var info recording.Info
	if code, body := adminRequest(t, http.MethodPost, api, map[string]any{"sdkAppId": signaling.DevSDKAppID, "roomId": started.RoomID}, &info); code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, body := adminRequest(t, http.MethodPost, api, map[string]any{"sdkAppId": signaling.DevSDKAppID, "roomId": started.RoomID}, nil); code != http.StatusConflict {
		t.Fatalf("second start: %d %s, want 409", code, body)
	}
	begin := time.Now()
	time.Sleep(4 * time.Second) // the length of the recorded call, not a wait for something
	var manifest recording.Info
	if code, body := adminRequest(t, http.MethodPost, api+"/"+info.ID+"/stop", nil, &manifest); code != http.StatusOK {
		t.Fatalf("stop: %d %s", code, body)
	}
	recorded := time.Since(begin)

	if len(manifest.Tracks) != 4 {
		t.Fatalf("manifest tracks %+v, want audio and video of alice and bob", manifest.Tracks)
	}
	for _, tr := range manifest.Tracks {
		if tr.Packets == 0 || tr.StartOffsetMs < 0 || (tr.UserID != "alice" && tr.UserID != "bob") {
			t.Fatalf("track %+v", tr)
		}
		code, body := adminRequest(t, http.MethodGet, api+"/"+info.ID+"/files/"+tr.File, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("download %s: %d", tr.File, code)
		}
		length := mediaLength(t, tr, body)
		want := recorded - time.Duration(tr.StartOffsetMs)*time.Millisecond
		if length < want-time.Second || length > want+time.Second {
			t.Errorf("%s lasts %s, the recording %s after its start offset: not within 1 s", tr.File, length, want)
		}
		if real { // encoded by ffmpeg: ffprobe and a decode must agree
			path := filepath.Join(cfg.Recording.Dir, info.ID, tr.File)
			if d := ffprobeLength(t, path, tr.Codec); d < want-time.Second || d > want+time.Second {
				t.Errorf("ffprobe: %s lasts %s, want %s within 1 s", tr.File, d, want)
			}
			if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) != 0 {
				t.Errorf("ffmpeg cannot decode %s: %s %v", tr.File, out, err)
			}
		}
	}
	var list struct{ Recordings []recording.Info }
	if code, _ := adminRequest(t, http.MethodGet, api, nil, &list); code != http.StatusOK || len(list.Recordings) != 1 || len(list.Recordings[0].Tracks) != 4 {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code, _ := adminRequest(t, http.MethodGet, api+"/"+info.ID+"/files/..%2Fparley.db", nil, nil); code != http.StatusNotFound {
		t.Fatalf("a file outside the manifest: %d, want 404", code)
	}
	if code, _ := adminRequest(t, http.MethodPost, api+"/nope/stop", nil, nil); code != http.StatusNotFound {
		t.Fatalf("stop of an unknown recording: %d, want 404", code)
	}
	eventually(t, 20*time.Second, "recording_finished", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(finished) == 1
	})
}

// TestRecordEveryCall: with recording.calls each call's room is recorded from its begin
// to its end, without the admin API starting it: after the hangup the list shows the
// stopped recording with both users' audio and video.
func TestRecordEveryCall(t *testing.T) {
	cfg := testConfig(t)
	cfg.Admin.APIKey = testAdminKey
	cfg.Recording.Dir = t.TempDir()
	cfg.Recording.Calls = true
	r := startServe(t, cfg)
	alice, _, started, _ := callWithMedia(t, r)
	time.Sleep(2 * time.Second) // the call's length, not a wait for something
	if err := alice.Hangup(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	var list struct{ Recordings []recording.Info }
	eventually(t, 30*time.Second, "the call's recording to stop", func() bool {
		code, _ := adminRequest(t, http.MethodGet, r.url("/api/v1/recordings"), nil, &list)
		return code == http.StatusOK && len(list.Recordings) == 1 && list.Recordings[0].StoppedAt != 0
	})
	got := list.Recordings[0]
	if got.RoomID != started.RoomID || got.SDKAppID != signaling.DevSDKAppID || len(got.Tracks) != 4 {
		t.Fatalf("recording %+v of the call in room %s", got, started.RoomID)
	}
	for _, tr := range got.Tracks {
		if tr.Packets == 0 {
			t.Fatalf("track %+v recorded nothing", tr)
		}
	}
}

// callWithMedia has alice call bob, both send audio and video (testMediaFiles) and hear
// each other; real says whether the media are encoded by ffmpeg.
func callWithMedia(t *testing.T, r *running) (alice, bob *client.Conn, started protocol.CallStartResult, real bool) {
	t.Helper()
	// The files first: encoding them (ffmpeg) took over a minute on a busy machine, and
	// inside the media's deadline it left StartMedia none ("answering the pending
	// subscriber offers: context deadline exceeded").
	audio, video, real := testMediaFiles(t)
	alice, bob = login(t, r.wsURL(), "alice"), login(t, r.wsURL(), "bob")
	started = startCall(t, alice, bob)
	ctx := ctxFor(t, 60*time.Second)
	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true, AudioFile: audio, VideoFile: video}); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
	}
	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		if _, err := pair[0].WaitRemoteTrack(ctx, pair[1].UserID(), webrtc.RTPCodecTypeAudio, 10); err != nil {
			t.Fatal(err)
		}
	}
	return alice, bob, started, real
}

// testMediaFiles are the users' media: VP8 and Opus encoded by ffmpeg (libvpx, libopus)
// when it is installed (real reports true: the recorded files must then decode), else
// client's sample files (valid containers and frame headers around filler).
func testMediaFiles(t *testing.T) (audio *client.OggOpus, video *client.IVFVideo, real bool) {
	t.Helper()
	dir := t.TempDir()
	a, v := filepath.Join(dir, "a.ogg"), filepath.Join(dir, "v.ivf")
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		for _, args := range [][]string{
			{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "10", "-c:v", "libvpx", "-g", "30", "-b:v", "300k", v},
			{"-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:a", "libopus", "-frame_duration", "20", a},
		} {
			if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg %v: %s %v", args, out, err)
			}
		}
		real = true
	} else {
		ogg, err := client.SampleOgg(500, 60)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(a, ogg, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(v, client.SampleIVF(320, 240, 300, 30, 300), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Log("ffmpeg is not installed: sample media, no ffprobe or decoding check (scripts/ensure-test-deps.sh installs it)")
	}
	audio, err := client.LoadOgg(a)
	if err != nil {
		t.Fatal(err)
	}
	video, err = client.LoadIVF(v)
	if err != nil {
		t.Fatal(err)
	}
	return audio, video, real
}

// ffprobeLength checks with ffprobe that path holds one stream of codec (a mime type)
// and returns the time between its first and last packet (IVF headers state no usable
// duration for a 1/90000 time base, so packets are read).
func ffprobeLength(t *testing.T, path, codec string) time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).CombinedOutput()
	if name := strings.TrimSpace(string(out)); err != nil || name == "" || !strings.Contains(strings.ToLower(codec), name) {
		t.Fatalf("ffprobe %s: %q %v, want codec %s", path, out, err, codec)
	}
	out, err = exec.Command("ffprobe", "-v", "error", "-select_streams", "0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	lines := strings.Fields(string(out))
	if err != nil || len(lines) < 2 {
		t.Fatalf("ffprobe packets of %s: %d lines, %v", path, len(lines), err)
	}
	first, err1 := time.ParseDuration(strings.Trim(lines[0], ",") + "s")
	last, err2 := time.ParseDuration(strings.Trim(lines[len(lines)-1], ",") + "s")
	if err1 != nil || err2 != nil {
		t.Fatalf("ffprobe packets of %s: %q .. %q", path, lines[0], lines[len(lines)-1])
	}
	return last - first
}

// mediaLength is how long a recorded file plays: IVF from its frame timestamps and time
// base, Ogg from its last granule position (48 kHz Opus).
func mediaLength(t *testing.T, tr recording.TrackFile, body []byte) time.Duration {
	t.Helper()
	switch {
	case strings.HasSuffix(tr.File, ".ivf"):
		rd, hdr, err := ivfreader.NewWith(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", tr.File, err)
		}
		if hdr.FourCC != "VP80" {
			t.Fatalf("%s: FourCC %q", tr.File, hdr.FourCC)
		}
		var first, last uint64
		frames := 0
		for {
			_, fh, err := rd.ParseNextFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s: frame %d: %v", tr.File, frames, err)
				}
				break
			}
			if frames == 0 {
				first = fh.Timestamp
			}
			last = fh.Timestamp
			frames++
		}
		if frames < 10 {
			t.Fatalf("%s: %d frames", tr.File, frames)
		}
		// ivfreader reports a frame's pts times den/num; the pts is in num/den seconds.
		num, den := uint64(hdr.TimebaseNumerator), uint64(hdr.TimebaseDenominator)
		pts := (last - first) * num / den
		return time.Duration(pts*num) * time.Second / time.Duration(den)
	case strings.HasSuffix(tr.File, ".ogg"):
		rd, _, err := oggreader.NewWith(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", tr.File, err)
		}
		var granule uint64
		pages := 0
		for {
			_, ph, err := rd.ParseNextPage()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s: page %d: %v", tr.File, pages, err)
				}
				break
			}
			granule = max(granule, ph.GranulePosition)
			pages++
		}
		return time.Duration(granule) * time.Second / 48000
	}
	t.Fatalf("unexpected file %s", tr.File)
	return 0
}

// TestClusterRecordPlacedRoom (D122, D125): with cluster.room_placement load a call's room
// is on the media node; a recording started through the owner's admin API is answered
// there (307, followed by the client) and records both users' audio; the media node,
// which hosts the room, serves a start itself (409: the room is being recorded). The
// recording's id names the media node: the owner's list shows it, a stop sent to the
// owner reaches the media node (307), and an id of a node not in the cluster answers 404.
func TestClusterRecordPlacedRoom(t *testing.T) {
	dir := t.TempDir()
	owner, media := placedPair(t, nil, func(cfg *configs.Config) {
		cfg.Admin.APIKey, cfg.Recording.Dir = testAdminKey, t.TempDir()
	}, "PARLEY_ADMIN_API_KEY="+testAdminKey, "PARLEY_RECORDING_DIR="+dir)
	_, _, started := callAcross(t, owner, owner.wsURL(), owner.wsURL(), owner.wsURL())
	start := map[string]any{"sdkAppId": signaling.DevSDKAppID, "roomId": started.RoomID}
	mediaAPI := "http://" + media.addr + "/api/v1/recordings"

	var info recording.Info
	if code, body := adminRequest(t, http.MethodPost, owner.url("/api/v1/recordings"), start, &info); code != http.StatusCreated {
		t.Fatalf("start on the owner: %d %s", code, body)
	}
	if code, body := adminRequest(t, http.MethodPost, mediaAPI, start, nil); code != http.StatusConflict {
		t.Fatalf("start on the media node: %d %s, want 409 (recorded there already)", code, body)
	}
	eventually(t, 30*time.Second, "the media node writes both users' audio", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, info.ID, "*"))
		grown := 0
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 4096 {
				grown++
			}
		}
		return grown == 2
	})
	var list recordingList
	if code, _ := adminRequest(t, http.MethodGet, owner.url("/api/v1/recordings"), nil, &list); code != http.StatusOK ||
		len(list.Recordings) != 1 || list.Recordings[0].ID != info.ID || !strings.HasSuffix(info.ID, "@m") {
		t.Fatalf("the owner's list: %d %+v, want recording %s of node m", code, list, info.ID)
	}
	var manifest recording.Info
	if code, body := adminRequest(t, http.MethodPost, owner.url("/api/v1/recordings/"+info.ID+"/stop"), nil, &manifest); code != http.StatusOK {
		t.Fatalf("stop through the owner: %d %s", code, body)
	}
	if len(manifest.Tracks) != 2 || manifest.Tracks[0].Packets == 0 || manifest.Tracks[1].Packets == 0 {
		t.Fatalf("manifest tracks %+v, want alice's and bob's audio", manifest.Tracks)
	}
	if code, body := adminRequest(t, http.MethodPost, owner.url("/api/v1/recordings/0123@gone/stop"), nil, nil); code != http.StatusNotFound {
		t.Fatalf("stop of a recording of a node not in the cluster: %d %s, want 404", code, body)
	}
}

// TestClusterRecordEveryPlacedCall (D124, D125): with recording.calls on the app's owner,
// a call whose room the owner placed on the media node is recorded there, from its begin
// to its end, as on one node: the owner's list shows the recording (its id names the
// media node) while it runs and once stopped, with alice's and bob's audio; the files,
// downloaded through the owner (307 to the media node), are Ogg Opus as long as the call;
// the media node sends recording_finished; the owner records nothing of its own.
func TestClusterRecordEveryPlacedCall(t *testing.T) {
	const secret = "cmd-webhook-secret-0123456789"
	var mu sync.Mutex
	var finished []recording.Info
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Event string         `json:"event"`
			Data  recording.Info `json:"data"`
		}
		if json.Unmarshal(body, &env) == nil && env.Event == webhooks.EventRecordingFinished {
			mu.Lock()
			finished = append(finished, env.Data)
			mu.Unlock()
		}
	}))
	defer rcv.Close()
	dir := t.TempDir()
	owner, _ := placedPair(t, nil, func(cfg *configs.Config) {
		cfg.Admin.APIKey, cfg.Recording.Dir, cfg.Recording.Calls = testAdminKey, t.TempDir(), true
	}, "PARLEY_ADMIN_API_KEY="+testAdminKey, "PARLEY_RECORDING_DIR="+dir,
		"PARLEY_WEBHOOKS_URLS="+rcv.URL, "PARLEY_WEBHOOKS_SECRET="+secret)
	api := owner.url("/api/v1/recordings")
	alice, _, started := callAcross(t, owner, owner.wsURL(), owner.wsURL(), owner.wsURL())
	var list recordingList
	eventually(t, 20*time.Second, "the owner's list shows the call's recording running on the media node", func() bool {
		code, _ := adminRequest(t, http.MethodGet, api, nil, &list)
		return code == http.StatusOK && len(list.Recordings) == 1 && list.Recordings[0].StoppedAt == 0
	})
	if rec := list.Recordings[0]; !strings.HasSuffix(rec.ID, "@m") || rec.RoomID != started.RoomID {
		t.Fatalf("recording %+v, want one of room %s on node m", rec, started.RoomID)
	}
	id := list.Recordings[0].ID
	eventually(t, 30*time.Second, "the media node writes both users' audio", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, id, "*.ogg"))
		grown := 0
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 8192 {
				grown++
			}
		}
		return grown == 2
	})
	time.Sleep(2 * time.Second) // more of the call, not a wait for something
	if err := alice.Hangup(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the recording stopped at the call's end", func() bool {
		code, _ := adminRequest(t, http.MethodGet, api, nil, &list)
		return code == http.StatusOK && len(list.Recordings) == 1 && list.Recordings[0].StoppedAt != 0
	})
	got := list.Recordings[0]
	if got.ID != id || got.SDKAppID != signaling.DevSDKAppID || len(got.Tracks) != 2 || len(list.Unreachable) != 0 {
		t.Fatalf("list %+v, want recording %s with two tracks", list, id)
	}
	users := map[string]bool{}
	for _, tr := range got.Tracks {
		users[tr.UserID] = true
		code, body := adminRequest(t, http.MethodGet, api+"/"+id+"/files/"+tr.File, nil, nil)
		if code != http.StatusOK || tr.Kind != "audio" || tr.Packets == 0 {
			t.Fatalf("track %+v: download through the owner %d", tr, code)
		}
		if length := mediaLength(t, tr, body); length < 2*time.Second {
			t.Fatalf("%s plays %s, want at least the 2 s of call after both were heard", tr.File, length)
		}
	}
	if !users["alice"] || !users["bob"] {
		t.Fatalf("tracks %+v, want alice's and bob's audio", got.Tracks)
	}
	eventually(t, 20*time.Second, "recording_finished from the media node", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(finished) == 1 && finished[0].ID == id && len(finished[0].Tracks) == 2
	})
	if own := owner.srv.recorder.List(); len(own) != 0 {
		t.Fatalf("the owner recorded %+v itself, want nothing", own)
	}
}

// TestClusterRecordingBeforePlacement (D122): a recording started on the owner before its
// room had a member (the owner serves it: no room is placed yet) stops, saying where the
// room is, when the owner places the room on the media node at the call's first media
// (D187).
func TestClusterRecordingBeforePlacement(t *testing.T) {
	var logs testservers.SyncBuffer
	owner, _ := placedPair(t, slog.New(slog.NewTextHandler(&logs, nil)), func(cfg *configs.Config) {
		cfg.Admin.APIKey, cfg.Recording.Dir = testAdminKey, t.TempDir()
	})
	api := owner.url("/api/v1/recordings")
	var info recording.Info
	if code, body := adminRequest(t, http.MethodPost, api, map[string]any{"sdkAppId": signaling.DevSDKAppID, "roomId": 4242}, &info); code != http.StatusCreated {
		t.Fatalf("start on the owner: %d %s", code, body)
	}
	alice, bob := login(t, owner.wsURL(), "alice"), login(t, owner.wsURL(), "bob")
	startCallWith(t, alice, bob, protocol.CallParams{RoomID: protocol.IntRoom(4242)})
	mediaFlows(t, alice, bob)
	eventually(t, 20*time.Second, "the owner's recording stopped, naming the media node", func() bool {
		var list struct{ Recordings []recording.Info }
		code, _ := adminRequest(t, http.MethodGet, api, nil, &list)
		return code == http.StatusOK && len(list.Recordings) == 1 && list.Recordings[0].ID == info.ID && list.Recordings[0].StoppedAt != 0 &&
			strings.Contains(logs.String(), "node=m")
	})
}

// TestClusterRecordingMediaNodeKilled (D124): the media node recording a placed call is
// killed (SIGKILL) mid-call: its recording's directory keeps a manifest naming both
// users' audio files (stoppedAt 0: it never stopped) and each file reads as Ogg Opus up
// to its last page written; the call ends for both users (D96) and the owner's list,
// which reaches only live nodes, shows nothing of the dead node.
func TestClusterRecordingMediaNodeKilled(t *testing.T) {
	dir := t.TempDir()
	owner, media := placedPair(t, nil, func(cfg *configs.Config) {
		cfg.Admin.APIKey, cfg.Recording.Dir, cfg.Recording.Calls = testAdminKey, t.TempDir(), true
	}, "PARLEY_RECORDING_DIR="+dir)
	alice, bob, started := callAcross(t, owner, owner.wsURL(), owner.wsURL(), owner.wsURL())
	var recDir string
	eventually(t, 30*time.Second, "the media node writes both users' audio", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*@m", "*.ogg"))
		grown := 0
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 8192 {
				grown++
				recDir = filepath.Dir(f)
			}
		}
		return grown == 2
	})
	media.kill()
	body, err := os.ReadFile(filepath.Join(recDir, recording.ManifestFile))
	var manifest recording.Info
	if err != nil || json.Unmarshal(body, &manifest) != nil {
		t.Fatalf("the killed node's manifest: %s %v", body, err)
	}
	if manifest.StoppedAt != 0 || manifest.RoomID != started.RoomID || len(manifest.Tracks) != 2 {
		t.Fatalf("manifest %+v, want the running recording of room %s with two tracks", manifest, started.RoomID)
	}
	for _, tr := range manifest.Tracks {
		data, err := os.ReadFile(filepath.Join(recDir, tr.File))
		if err != nil {
			t.Fatal(err)
		}
		if length := mediaLength(t, tr, data); length <= 0 {
			t.Fatalf("%s of %s plays %s", tr.File, tr.UserID, length)
		}
	}
	ctx := ctxFor(t, 20*time.Second)
	for _, c := range []*client.Conn{alice, bob} {
		if _, err := client.WaitFor(ctx, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID }); err != nil {
			t.Fatalf("%s: no onCallEnd after the media node was killed: %v", c.UserID(), err)
		}
	}
	var list recordingList
	if code, _ := adminRequest(t, http.MethodGet, owner.url("/api/v1/recordings"), nil, &list); code != http.StatusOK || len(list.Recordings) != 0 {
		t.Fatalf("the owner's list with the media node dead: %d %+v", code, list)
	}
}
