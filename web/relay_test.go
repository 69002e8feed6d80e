package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/turn"
)

// relayServer is startTestServer's whole server plus the embedded TURN server, whose
// UDP/TCP credentials every login result carries.
type relayServer struct {
	URL  string
	turn *turn.Server
}

func startRelayTestServer(t *testing.T) *relayServer {
	t.Helper()
	logger := testLogger()
	rtc := teststack.MediaConfig()
	engine := teststack.Engine(t, rtc, logger)

	tcfg := turn.DefaultConfig()
	port := freeLoopbackPort(t)
	tcfg.UDPPort, tcfg.TCPPort = port, port
	tcfg.TLSPort = 0 // Chromium accepts no self-signed certificate for turns:
	tcfg.RelayIP = "127.0.0.1"
	// A wide relay range: other suites on the machine may hold some of these ports.
	tcfg.RelayPortMin, tcfg.RelayPortMax = 44000, 44999
	// The relay may reach the SFU's media port, and no other port of its IP.
	tcfg.ServerMediaAddresses = []string{fmt.Sprintf("%s:%d/udp", rtc.NodeIP, engine.UDPAddr().Port)}
	turnServer, err := turn.New(tcfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := turnServer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := turnServer.Close(); err != nil {
			t.Errorf("turn close: %v", err)
		}
	})

	cfg := teststack.ServiceConfig()
	cfg.Auth.DevMode = true
	iceServers := func(userID string, now time.Time) []protocol.ICEServer {
		var out []protocol.ICEServer
		for _, s := range turnServer.ICEServers(userID, now, "") {
			out = append(out, protocol.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
		}
		return out
	}
	svc, err := signaling.NewService(cfg, signaling.Deps{Engine: engine, ICEServers: iceServers, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", svc.Handler())
	mux.Handle("/", Handler(Options{Logger: logger}))
	srv := httptest.NewServer(mux) // binds 127.0.0.1
	t.Cleanup(func() {
		// Runs before the TURN and engine cleanups (registered earlier).
		if err := svc.Close(); err != nil {
			t.Errorf("signaling close: %v", err)
		}
		srv.Close()
	})
	return &relayServer{URL: srv.URL, turn: turnServer}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	return testservers.FreePort(t)
}

// relayEngineJS creates, on the page, an engine with iceTransportPolicy 'relay' that
// accepts calls, opens the microphone and camera when a call begins and shows remote
// video in a <video> element; it logs userId in. window.relayTest keeps it and its errors.
const relayEngineJS = `(async () => {
  const { ParleyCallEngine } = await import('/sdk/parley.js');
  const engine = ParleyCallEngine.createInstance({ url: 'ws://' + location.host + '/ws', iceTransportPolicy: 'relay' });
  const t = { engine, began: false, errors: [] };
  window.relayTest = t;
  const fail = (err) => t.errors.push(String(err && err.message ? err.message : err));
  const video = document.createElement('video');
  video.autoplay = true; video.muted = true; video.playsInline = true;
  document.body.appendChild(video);
  engine.on('onError', (e) => fail(e.code + ' ' + e.message));
  engine.on('onCallReceived', () => engine.accept().catch(fail));
  engine.on('onCallBegin', async () => {
    t.began = true;
    try { await engine.openMicrophone(); await engine.openCamera(); } catch (err) { fail(err); }
  });
  engine.on('onUserVideoAvailable', (e) => {
    if (e.isVideoAvailable) engine.startRemoteView({ userId: e.userId, element: video }).catch(fail);
  });
  await engine.login({ sdkAppId: %d, userId: %q, userSig: %q });
  return true;
})()`

// relayStatsJS reports decoded remote video and, per PeerConnection, the selected
// candidate pair (from the transport's selectedCandidatePairId).
const relayStatsJS = `(async () => {
  const s = await window.relayTest.engine.getStats();
  const out = { framesDecoded: 0, frameWidth: 0, errors: window.relayTest.errors, paths: {} };
  if (!s) return out;
  s.subscriber.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      out.framesDecoded += r.framesDecoded || 0;
      out.frameWidth = Math.max(out.frameWidth, r.frameWidth || 0);
    }
  });
  for (const [name, report] of [['publisher', s.publisher], ['subscriber', s.subscriber]]) {
    let pairId = '';
    report.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
    const pair = pairId ? report.get(pairId) : null;
    const local = pair ? report.get(pair.localCandidateId) : null;
    const remote = pair ? report.get(pair.remoteCandidateId) : null;
    out.paths[name] = {
      localType: local ? local.candidateType : '',
      relayProtocol: local ? (local.relayProtocol || '') : '',
      localAddress: local ? local.address + ':' + local.port : '',
      remoteType: remote ? remote.candidateType : '',
      remoteAddress: remote ? remote.address + ':' + remote.port : '',
    };
  }
  return out;
})()`

type relayPath struct {
	LocalType     string `json:"localType"`
	RelayProtocol string `json:"relayProtocol"`
	LocalAddress  string `json:"localAddress"`
	RemoteType    string `json:"remoteType"`
	RemoteAddress string `json:"remoteAddress"`
}

type relayStats struct {
	FramesDecoded int                  `json:"framesDecoded"`
	FrameWidth    int                  `json:"frameWidth"`
	Errors        []string             `json:"errors"`
	Paths         map[string]relayPath `json:"paths"`
}

// TestBrowserRelayOnlyCall: two headless Chromium users whose SDK engines use
// iceTransportPolicy 'relay' call each other; both decode the other's video, and each of
// their PeerConnections has selected a local relay candidate (TURN over UDP or TCP).
func TestBrowserRelayOnlyCall(t *testing.T) {
	srv := startRelayTestServer(t)
	wav := filepath.Join(t.TempDir(), "sine-440hz-20dbfs.wav")
	if err := writeSineWAV(wav, 10); err != nil {
		t.Fatal(err)
	}
	users := []string{"alice", "bob"}
	browsers := make([]*browser, len(users))
	for i, user := range users {
		b := newBrowser(t, user, wav)
		browsers[i] = b
		sig, err := signaling.MintUserSig(signaling.DevSDKAppID, []byte(signaling.DevSecret), user, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.Navigate(srv.URL+labPath), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
		if !eval[bool](b, fmt.Sprintf(relayEngineJS, signaling.DevSDKAppID, user, sig)) {
			t.Fatalf("%s: login failed", user)
		}
	}
	alice, bob := browsers[0], browsers[1]
	if !eval[bool](alice, `(async () => {
	  const { ParleyCallEngine } = await import('/sdk/parley.js');
	  try { ParleyCallEngine.createInstance({ url: 'ws://127.0.0.1:1/ws', iceTransportPolicy: 'none' }); } catch (err) { return err.code !== undefined; }
	  return false;
	})()`) {
		t.Error("createInstance accepted iceTransportPolicy 'none'")
	}
	eval[bool](alice, `window.relayTest.engine.call({ userId: 'bob', mediaType: 2 }).then(() => true)`)
	for _, b := range browsers {
		waitFor[bool](b, "onCallBegin", `window.relayTest.began`, 20*time.Second)
	}
	for _, b := range []*browser{alice, bob} {
		waitFor[bool](b, "decoded remote video through the relay", `(async () => {
		  const s = await (`+relayStatsJS+`);
		  return s.framesDecoded > 30 && s.paths.publisher.localType !== '' && s.paths.subscriber.localType !== '';
		})()`, 60*time.Second)
		st := eval[relayStats](b, relayStatsJS)
		t.Logf("%s: %d frames decoded (%d wide), paths %+v", b.name, st.FramesDecoded, st.FrameWidth, st.Paths)
		if len(st.Errors) > 0 {
			t.Errorf("%s: page errors %v", b.name, st.Errors)
		}
		for _, name := range []string{"publisher", "subscriber"} {
			p := st.Paths[name]
			// The login result offers TURN over UDP and over TCP; Chromium picks either.
			if p.LocalType != "relay" || (p.RelayProtocol != "udp" && p.RelayProtocol != "tcp") {
				b.dumpOutput()
				t.Errorf("%s %s: selected local candidate %+v, want a relay (over udp or tcp)", b.name, name, p)
			}
		}
	}
	stats := srv.turn.Stats()
	if stats.AllocationsActive < 4 || stats.RelayedBytesToPeers == 0 || stats.RelayedBytesFromPeers == 0 {
		t.Errorf("TURN stats %+v: want >= 4 live allocations relaying both ways", stats)
	}
	eval[bool](alice, `window.relayTest.engine.hangup().then(() => true)`)
	for _, b := range browsers {
		eval[bool](b, `(async () => { window.relayTest.engine.destroyInstance(); return true; })()`)
	}
}
