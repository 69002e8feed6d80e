package teststack

import (
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMediaConfig(t *testing.T) {
	cfg := MediaConfig(nil, func(c *sfu.Config) { c.UDPPort = 1 }, func(c *sfu.Config) { c.UDPPort++ })
	if cfg.UDPPort != 2 {
		t.Fatalf("UDP port %d: the options did not run in order", cfg.UDPPort)
	}
	if cfg := MediaConfig(); cfg.UDPPort != 0 || cfg.NodeIP != sfu.DefaultConfig().NodeIP {
		t.Fatalf("%+v, want the defaults on port 0", cfg)
	}
}

// TestEngineClosedAtCleanup: the engine listens while its test runs and is closed (its
// port free again, its goroutines gone: TestMain's goleak) when it ends.
func TestEngineClosedAtCleanup(t *testing.T) {
	var addr *net.UDPAddr
	t.Run("test", func(t *testing.T) {
		addr = Engine(t, MediaConfig(), nil).UDPAddr()
		if addr == nil || addr.Port == 0 {
			t.Fatalf("engine on %v", addr)
		}
	})
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		t.Fatalf("port still taken after the test: %v", err)
	}
	_ = conn.Close()
}

// TestServiceConfigIsValid: the call service starts with it.
func TestServiceConfigIsValid(t *testing.T) {
	svc, err := signaling.NewService(ServiceConfig(), signaling.Deps{Engine: Engine(t, MediaConfig(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
}
