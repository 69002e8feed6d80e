package teststack

import (
	"log/slog"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
)

// MediaConfig is sfu's default configuration with UDPPort 0 (a port the system picks),
// then changed by each of opts that is not nil, in order.
func MediaConfig(opts ...func(*sfu.Config)) sfu.Config {
	cfg := sfu.DefaultConfig()
	cfg.UDPPort = 0
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// Engine makes and starts an sfu.Engine of cfg logging to logger (nil as sfu.NewEngine
// takes it), and closes it at t's cleanup: after the cleanups registered later, such as
// the service and HTTP server built on it. Failing to make or start it fails t.
func Engine(t testing.TB, cfg sfu.Config, logger *slog.Logger) *sfu.Engine {
	t.Helper()
	engine, err := sfu.NewEngine(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := engine.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return engine
}

// ServiceConfig is the call service's configuration with every section at its defaults.
func ServiceConfig() signaling.ServiceConfig {
	return signaling.ServiceConfig{
		Signaling: signaling.DefaultConfig(),
		Auth:      signaling.DefaultAuthConfig(),
		Call:      call.DefaultConfig(),
		Room:      room.DefaultConfig(),
		Limits:    signaling.DefaultLimitsConfig(),
	}
}

// GatheredOffer makes pc's offer (with opts, nil for none), sets it and waits until its
// candidates are gathered, as a WHIP or WHEP client that does not trickle sends them in
// the offer; it returns the local description's SDP. An error fails t.
func GatheredOffer(t testing.TB, pc *webrtc.PeerConnection, opts *webrtc.OfferOptions) string {
	t.Helper()
	offer, err := pc.CreateOffer(opts)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}
