package sfu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// The Engine's DTLS certificate: one per process, shared by every PeerConnection it makes
// (webrtc.Configuration.Certificates), so a PeerConnection costs no key generation. Every
// Peer of the process therefore presents the same fingerprint; the DTLS handshake still
// derives fresh keys per connection (ECDHE), so sharing the certificate shares no session
// keys. pion's webrtc.GenerateCertificate makes it valid for about a month and pion
// refuses an expired one, so a certificate that expires within certificateRenewal is
// replaced for the PeerConnections made from then on (those already up keep theirs).

// certificateRenewal: a certificate closer than this to its expiry is replaced.
const certificateRenewal = 7 * 24 * time.Hour

// newCertificate makes an ECDSA P-256 certificate with pion's GenerateCertificate.
func newCertificate() (webrtc.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls certificate key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls certificate: %w", err)
	}
	return *cert, nil
}

// certificateLocked returns the shared certificate, made at Start and replaced when it
// expires within certificateRenewal of now. Caller holds e.mu.
func (e *Engine) certificateLocked(now time.Time) (webrtc.Certificate, error) {
	if e.cert.Expires().Sub(now) > certificateRenewal {
		return e.cert, nil
	}
	cert, err := newCertificate()
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("renew %w", err)
	}
	e.cert = cert
	e.logger.Info("dtls certificate renewed", "expires", cert.Expires())
	return cert, nil
}
