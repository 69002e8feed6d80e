package sfu

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantKey string // "" = valid
	}{
		{"default", func(*Config) {}, ""},
		{"ephemeral port", func(c *Config) { c.UDPPort = 0 }, ""},
		{"negative port", func(c *Config) { c.UDPPort = -1 }, "rtc.udp_port: must be 0..65535"},
		{"port too big", func(c *Config) { c.UDPPort = 65536 }, "rtc.udp_port"},
		{"bind not an IP", func(c *Config) { c.BindAddress = "localhost" }, "rtc.bind_address"},
		{"bind unspecified ok", func(c *Config) { c.BindAddress = "0.0.0.0" }, ""},
		{"node ip empty", func(c *Config) { c.NodeIP = "" }, "rtc.node_ip"},
		{"node ip unspecified", func(c *Config) { c.NodeIP = "0.0.0.0" }, "rtc.node_ip"},
		{"nat ips ok", func(c *Config) { c.NAT1To1IPs = []string{"203.0.113.7"} }, ""},
		{"nat ip bad", func(c *Config) { c.NAT1To1IPs = []string{"203.0.113.7", "x"} }, "rtc.nat_1to1_ips: entry 1"},
		{"pli throttle too small", func(c *Config) { c.PLIThrottle = 99 * time.Millisecond }, "rtc.pli_throttle"},
		{"pli throttle min", func(c *Config) { c.PLIThrottle = 100 * time.Millisecond }, ""},
		{"pli throttle too big", func(c *Config) { c.PLIThrottle = 11 * time.Second }, "rtc.pli_throttle"},
		{"queue too small", func(c *Config) { c.SenderQueueSize = 15 }, "rtc.sender_queue_size"},
		{"queue too big", func(c *Config) { c.SenderQueueSize = 16385 }, "rtc.sender_queue_size"},
		{"queue any size", func(c *Config) { c.SenderQueueSize = 1000 }, ""},
		{"video not power of two", func(c *Config) { c.VideoBufferPackets = 1000 }, "rtc.video_buffer_packets"},
		{"video too big", func(c *Config) { c.VideoBufferPackets = 65536 }, "rtc.video_buffer_packets"},
		{"audio zero", func(c *Config) { c.AudioBufferPackets = 0 }, "rtc.audio_buffer_packets"},
		{"audio 16", func(c *Config) { c.AudioBufferPackets = 16 }, ""},
		{"ice disconnected too small", func(c *Config) { c.ICEDisconnectedTimeout = 99 * time.Millisecond }, "rtc.ice_disconnected_timeout"},
		{"ice failed zero", func(c *Config) { c.ICEFailedTimeout = 0 }, "rtc.ice_failed_timeout"},
		{"ice failed too big", func(c *Config) { c.ICEFailedTimeout = 11 * time.Minute }, "rtc.ice_failed_timeout"},
		{"ice keepalive negative", func(c *Config) { c.ICEKeepaliveInterval = -time.Second }, "rtc.ice_keepalive_interval"},
		{"ice keepalive not below disconnected", func(c *Config) { c.ICEKeepaliveInterval = 5 * time.Second }, "rtc.ice_keepalive_interval: must be shorter"},
		{"pending candidates zero", func(c *Config) { c.MaxPendingCandidates = 0 }, "rtc.max_pending_candidates"},
		{"pending above total", func(c *Config) { c.MaxPendingCandidates = c.MaxRemoteCandidates + 1 }, "rtc.max_pending_candidates"},
		{"total candidates too big", func(c *Config) { c.MaxRemoteCandidates = 4097 }, "rtc.max_remote_candidates"},
		{"no send batch", func(c *Config) { c.SendBatch = 0 }, "rtc.send_batch"},
		{"send batch too big", func(c *Config) { c.SendBatch = 65 }, "rtc.send_batch"},
		{"deny cidr bad", func(c *Config) { c.DenyCandidateCIDRs = []string{"10.0.0.0/8", "10.0.0.0/33"} }, "rtc.deny_candidate_cidrs: entry 1"},
		{"deny cidr with zone", func(c *Config) { c.DenyCandidateCIDRs = []string{"fe80::1%eth0"} }, "rtc.deny_candidate_cidrs: entry 0"},
		{"deny single IPs and none", func(c *Config) { c.DenyCandidateCIDRs = []string{"127.0.0.1", "::1"} }, ""},
		{"deny nothing", func(c *Config) { c.DenyCandidateCIDRs = nil }, ""},
		{"ice short for tests", func(c *Config) {
			c.ICEDisconnectedTimeout, c.ICEFailedTimeout, c.ICEKeepaliveInterval = time.Second, time.Second, 200*time.Millisecond
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tt.wantKey)
			}
		})
	}
}

func TestDefaultConfigValues(t *testing.T) {
	c := DefaultConfig()
	if c.UDPPort != 7882 || c.BindAddress != "127.0.0.1" || c.NodeIP != "127.0.0.1" ||
		c.PLIThrottle != 500*time.Millisecond || c.SenderQueueSize != 1024 ||
		c.VideoBufferPackets != 1024 || c.AudioBufferPackets != 256 ||
		c.ICEDisconnectedTimeout != 5*time.Second || c.ICEFailedTimeout != 25*time.Second || c.ICEKeepaliveInterval != 2*time.Second {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
	// D306: the writer pool with a writer per GOMAXPROCS, and the own read path.
	if c.Writers != min(runtime.GOMAXPROCS(0), maxWriters) || !c.OwnSRTPInbound {
		t.Fatalf("writers %d (GOMAXPROCS %d), own_srtp_inbound %v", c.Writers, runtime.GOMAXPROCS(0), c.OwnSRTPInbound)
	}
}

// An Engine with the defaults writes through a pool of rtc.writers writers; writers 0
// gives each subscriber a goroutine of its own, as before D306.
func TestEngineWriterPoolByDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  func(*Config)
		want int
	}{
		{"defaults", func(*Config) {}, DefaultConfig().Writers},
		{"writers 0", func(c *Config) { c.Writers = 0 }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, tc.opt)
			got := 0
			if e.pool != nil {
				got = len(e.pool.writers)
			}
			if got != tc.want {
				t.Fatalf("%d pool writers, want %d", got, tc.want)
			}
		})
	}
}
