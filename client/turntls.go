package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// turnTLSDialTimeout bounds the TCP connect and TLS handshake to one turns: server.
const turnTLSDialTimeout = 10 * time.Second

// turnTLSDialer is the ICE proxy dialer PeerConfig.TURNTLSConfig installs. pion's ICE agent
// dials every TCP TURN server through it: the addresses of turns: URLs get TLS with the
// configured verification, the others (turn:...?transport=tcp) a plain TCP connection.
type turnTLSDialer struct {
	config map[string]*tls.Config // "host:port" of a turns: URL → its TLS configuration
}

// newTURNTLSDialer prepares the dialer for the turns: URLs among servers.
func newTURNTLSDialer(servers []webrtc.ICEServer, base *tls.Config) (*turnTLSDialer, error) {
	d := &turnTLSDialer{config: make(map[string]*tls.Config)}
	for _, s := range servers {
		for _, raw := range s.URLs {
			u, err := stun.ParseURI(raw)
			if err != nil {
				return nil, fmt.Errorf("client: ICE server URL %q: %v: %w", raw, err, ErrInvalidConfig)
			}
			if u.Scheme != stun.SchemeTypeTURNS {
				continue
			}
			conf := base.Clone()
			if conf.ServerName == "" {
				conf.ServerName = u.Host
			}
			d.config[net.JoinHostPort(u.Host, strconv.Itoa(u.Port))] = conf
		}
	}
	return d, nil
}

// Dial is proxy.Dialer's method: pion calls it with the TURN server's "host:port".
func (d *turnTLSDialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), turnTLSDialTimeout)
	defer cancel()
	conf, ok := d.config[addr]
	if !ok {
		var dialer net.Dialer
		return dialer.DialContext(ctx, network, addr)
	}
	dialer := tls.Dialer{Config: conf}
	conn, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("client: turns %s: %w", addr, err)
	}
	return conn, nil
}
