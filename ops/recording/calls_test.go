package recording

import (
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// remoteAsk is one request of an owner's Recorder to a media node (Recorder.Remote).
type remoteAsk struct {
	node, call string
	room       room.ID
	on         bool
}

// clusterRecorder is a Recorder of node node in dir whose Remote requests are kept in
// asks and whose Elsewhere answers placed[room].
type clusterRecorder struct {
	*Recorder
	dir    string
	mu     sync.Mutex
	asks   []remoteAsk
	placed map[room.ID]string
}

func newClusterRecorder(t *testing.T, node string) *clusterRecorder {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir, cfg.Calls = t.TempDir(), true
	r, err := New(cfg, room.NewManager(room.DefaultConfig(), nil, nil, nil), func() *net.UDPAddr { return nil }, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	c := &clusterRecorder{Recorder: r, dir: cfg.Dir, placed: map[room.ID]string{}}
	r.Node = node
	r.Elsewhere = func(id room.ID) string {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.placed[id]
	}
	r.Remote = func(node, callID string, id room.ID, on bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.asks = append(c.asks, remoteAsk{node, callID, id, on})
	}
	return c
}

// place makes Elsewhere name node for id and tells the Recorder (as the owner's
// placement does: the map first, then RoomPlaced).
func (c *clusterRecorder) place(id room.ID, node string) {
	c.mu.Lock()
	c.placed[id] = node
	c.mu.Unlock()
	c.RoomPlaced(id, node)
}

// settle waits for the work the hooks queued before it.
func (c *clusterRecorder) settle() {
	done := make(chan struct{})
	c.inOrder(func() { close(done) })
	<-done
}

func (c *clusterRecorder) remoteAsks() []remoteAsk {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.asks)
}

// TestCallRecordingFollowsPlacedRoom (D124): an owner's recording.calls of a call whose
// room is on a media node asks that node to record it and to stop at the call's end,
// whether the room was placed before the begin's hook ran or after (the empty recording
// started here then leaves no trace); a recording the admin API started here still stops
// at placement (D122); a media node asked by an owner records the room under an id
// naming it, with a manifest on disk while it runs.
func TestCallRecordingFollowsPlacedRoom(t *testing.T) {
	id, _ := room.NewIntID(42)
	id = id.InApp(1400000001)
	c := call.CallSummary{SDKAppID: 1400000001, CallID: "call-1", RoomID: protocol.IntRoom(42), BeganAt: time.Now()}
	want := []remoteAsk{{"m", "call-1", id, true}, {"m", "call-1", id, false}}
	tests := []struct {
		name string
		run  func(t *testing.T, r *clusterRecorder)
		asks []remoteAsk
	}{
		{"placed before the begin", func(t *testing.T, r *clusterRecorder) {
			r.place(id, "m")
			r.CallBegan(c)
			r.settle()
			if list := r.List(); len(list) != 0 {
				t.Fatalf("the owner records %+v itself", list)
			}
			r.CallEnded(c)
		}, want},
		{"placed after the begin", func(t *testing.T, r *clusterRecorder) {
			r.CallBegan(c)
			r.settle()
			list := r.List()
			if len(list) != 1 {
				t.Fatalf("before placement: %+v, want the call's recording here", list)
			}
			r.place(id, "m")
			r.CallEnded(c)
			r.settle()
			if list := r.List(); len(list) != 0 {
				t.Fatalf("after placement the owner still lists %+v", list)
			}
			if _, err := os.Stat(filepath.Join(r.dir, list[0].ID)); !os.IsNotExist(err) {
				t.Fatalf("the handed-over recording's directory: %v, want it removed", err)
			}
		}, want},
		{"API recording placed", func(t *testing.T, r *clusterRecorder) {
			if _, err := r.Start(id); err != nil {
				t.Fatal(err)
			}
			r.place(id, "m")
			r.settle()
			if list := r.List(); len(list) != 1 || list[0].StoppedAt == 0 {
				t.Fatalf("the admin API's recording: %+v, want it stopped (D122)", list)
			}
		}, nil},
		{"media node asked by the owner", func(t *testing.T, r *clusterRecorder) {
			r.RecordCall("a", "call-1", id, true)
			r.settle()
			list := r.List()
			if len(list) != 1 || !strings.HasSuffix(list[0].ID, "@n1") || list[0].StoppedAt != 0 {
				t.Fatalf("recordings %+v, want one running with an id naming n1", list)
			}
			var running Info
			body, err := os.ReadFile(filepath.Join(r.dir, list[0].ID, ManifestFile))
			if err != nil || json.Unmarshal(body, &running) != nil || running.ID != list[0].ID || running.StoppedAt != 0 {
				t.Fatalf("the running manifest: %s %v", body, err)
			}
			r.RecordCall("a", "call-1", id, false)
			r.settle()
			if list := r.List(); len(list) != 1 || list[0].StoppedAt == 0 {
				t.Fatalf("after the owner's stop: %+v", list)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClusterRecorder(t, "n1")
			tt.run(t, r)
			r.settle()
			if got := r.remoteAsks(); !slices.Equal(got, tt.asks) {
				t.Fatalf("requests to media nodes %+v, want %+v", got, tt.asks)
			}
		})
	}
}
