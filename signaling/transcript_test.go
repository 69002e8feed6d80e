package signaling_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// recorder is a WebSocket proxy between one client and the server that logs every message
// in both directions, in order.
type recorder struct {
	mu    sync.Mutex
	lines []string
	conns []*websocket.Conn
	wg    sync.WaitGroup
}

func (r *recorder) log(who, dir string, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf("%s %s %s", who, dir, abbreviate(msg)))
}

// sdpPattern shortens SDP bodies and ICE candidates so the transcript stays readable.
var (
	sdpPattern       = regexp.MustCompile(`"sdp":"v=0[^"]*"`)
	candidatePattern = regexp.MustCompile(`"candidate":"candidate:[^"]*"`)
	sigPattern       = regexp.MustCompile(`"(userSig|resumeToken|callId)":"[^"]{12}[^"]*"`)
)

func abbreviate(msg []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, msg) != nil {
		buf.Write(msg)
	}
	s := buf.String()
	s = sdpPattern.ReplaceAllString(s, `"sdp":"v=0\r\no=- … (SDP elided) …"`)
	s = candidatePattern.ReplaceAllString(s, `"candidate":"candidate:… udp … 127.0.0.1 … typ host"`)
	s = sigPattern.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.Index(m, `":"`)
		return m[:i+3] + m[i+3:i+3+8] + `…"`
	})
	return s
}

// proxy returns a ws:// URL that relays to upstream and records as who.
func (r *recorder) proxy(t *testing.T, upstream, who string) string {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		clientWS, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		serverWS, _, err := websocket.DefaultDialer.Dial(upstream, nil)
		if err != nil {
			clientWS.Close()
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, clientWS, serverWS)
		r.mu.Unlock()
		pipe := func(from, to *websocket.Conn, dir string) {
			defer r.wg.Done()
			defer from.Close()
			defer to.Close()
			for {
				kind, msg, err := from.ReadMessage()
				if err != nil {
					return
				}
				r.log(who, dir, msg)
				if to.WriteMessage(kind, msg) != nil {
					return
				}
			}
		}
		r.wg.Add(2)
		go pipe(clientWS, serverWS, "→")
		go pipe(serverWS, clientWS, "←")
	}))
	t.Cleanup(func() {
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
		srv.Close()
		r.wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestProtocolTranscript runs a 1v1 video call through recording proxies. With
// PARLEY_WRITE_TRANSCRIPT=FILE it writes the transcript that PROTOCOL.md §8 shows.
func TestProtocolTranscript(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	rec := &recorder{}
	dial := func(who string) *client.Conn {
		c, err := client.Dial(ctx, rec.proxy(t, st.url, who), client.Options{Peer: client.PeerConfig{Loopback: true}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := c.Login(ctx, protocolDevApp, who, sig(t, who, time.Hour)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, alice, protocol.EventCallBegin, nil)
	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.StartRemoteView(ctx, "bob", protocol.VideoQuality{Resolution: protocol.Resolution640x360}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitRemoteTrack(ctx, "bob", 2 /* video */, 30); err != nil {
		t.Fatal(err)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
	time.Sleep(200 * time.Millisecond)

	rec.mu.Lock()
	lines := append([]string(nil), rec.lines...)
	rec.mu.Unlock()
	for _, must := range []string{`"method":"login"`, `"method":"onSdkReady"`, `"method":"call"`, `"method":"onCallReceived"`,
		`"method":"accept"`, `"method":"onCallBegin"`, `"method":"offer"`, `"method":"answer"`, `"method":"trickle"`,
		`"method":"startRemoteView"`, `"method":"hangup"`, `"method":"onCallEnd"`} {
		if !strings.Contains(strings.Join(lines, "\n"), must) {
			t.Errorf("transcript lacks %s", must)
		}
	}
	if path := os.Getenv("PARLEY_WRITE_TRANSCRIPT"); path != "" {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
