package sfu

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestConfigTCPPort(t *testing.T) {
	tests := []struct {
		name    string
		tcpPort int
		wantErr bool
	}{
		{"disabled", -1, false},
		{"follows udp_port", 0, false},
		{"explicit", 7883, false},
		{"below -1", -2, true},
		{"above 65535", 65536, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TCPPort = tt.tcpPort
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "rtc.tcp_port") {
				t.Fatalf("error %q does not name rtc.tcp_port", err)
			}
		})
	}
}

// TestEngineICETCPListener: the TCP listener follows udp_port, binds bind_address, takes an
// explicit port, is absent with -1, and is closed by Close.
func TestEngineICETCPListener(t *testing.T) {
	explicit := freeTCPPort(t)
	tests := []struct {
		name     string
		udpPort  int
		tcpPort  int
		wantPort func(e *Engine) int // -1: no listener
	}{
		{"ephemeral when udp_port is 0", 0, 0, func(*Engine) int { return 0 }},
		{"explicit port", 0, explicit, func(*Engine) int { return explicit }},
		{"same number as an explicit udp_port", explicit, 0, func(*Engine) int { return explicit }},
		{"disabled", 0, -1, func(*Engine) int { return -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.UDPPort, cfg.TCPPort = tt.udpPort, tt.tcpPort
			e, err := NewEngine(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.TCPAddr() != nil {
				t.Fatal("NewEngine opened a TCP listener")
			}
			if err := e.Start(); err != nil {
				t.Fatal(err)
			}
			addr := e.TCPAddr()
			want := tt.wantPort(e)
			switch {
			case want == -1:
				if addr != nil {
					t.Fatalf("ICE-TCP disabled but listening on %s", addr)
				}
			case addr == nil:
				t.Fatal("no ICE-TCP listener")
			case !addr.IP.Equal(net.ParseIP(cfg.BindAddress)) || addr.Port == 0 || (want != 0 && addr.Port != want):
				t.Fatalf("listening on %s, want %s port %d (0 = any)", addr, cfg.BindAddress, want)
			}
			if addr != nil {
				conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
				if err != nil {
					t.Fatalf("dial the ICE-TCP listener: %v", err)
				}
				conn.Close()
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if addr != nil {
				if conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second); err == nil {
					conn.Close()
					t.Fatal("the ICE-TCP listener is still open after Close")
				}
			}
		})
	}
}

// freeTCPPort finds a port free for TCP and UDP on 127.0.0.1 (it may be taken again by
// the time it is used; the test fails loudly then).
func freeTCPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		ln.Close()
		if err == nil {
			udp.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}
