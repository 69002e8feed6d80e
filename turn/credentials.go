package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST API scheme (coturn use-auth-secret) is HMAC-SHA1.
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Credential errors; the auth handler counts refusals by these.
var (
	// ErrMalformedUsername: the username is not "<expiry unix time>:<userId>".
	ErrMalformedUsername = errors.New("malformed TURN REST username")
	// ErrExpiredCredential: the username's expiry time has passed.
	ErrExpiredCredential = errors.New("expired TURN credential")
)

// maxUsernameLength is STUN's USERNAME limit (RFC 8489 §14.3: < 513 bytes).
const maxUsernameLength = 512

// maxExpiryDigits keeps the expiry inside int64 without overflow checks elsewhere.
const maxExpiryDigits = 18

// ICEServer is one entry of a WebRTC iceServers list (RTCIceServer), the shape signaling
// puts into the login result.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// restUsername formats a TURN REST API username.
func restUsername(userID string, expires time.Time) string {
	return strconv.FormatInt(expires.Unix(), 10) + ":" + userID
}

// restPassword is base64(HMAC-SHA1(secret, username)), coturn's use-auth-secret password.
func restPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username)) // hash.Hash.Write never fails
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseRESTUsername splits "<expiry unix seconds>:<userId>". The userId is everything after
// the first colon and may itself contain colons; it must not be empty (the allocation quota
// is kept per userId).
func parseRESTUsername(username string) (expires time.Time, userID string, err error) {
	if len(username) > maxUsernameLength {
		return time.Time{}, "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedUsername, maxUsernameLength)
	}
	stamp, userID, found := strings.Cut(username, ":")
	if !found {
		return time.Time{}, "", fmt.Errorf("%w: no ':' between expiry and userId", ErrMalformedUsername)
	}
	if stamp == "" || len(stamp) > maxExpiryDigits {
		return time.Time{}, "", fmt.Errorf("%w: expiry must be 1..%d digits", ErrMalformedUsername, maxExpiryDigits)
	}
	for i := 0; i < len(stamp); i++ {
		if stamp[i] < '0' || stamp[i] > '9' {
			return time.Time{}, "", fmt.Errorf("%w: expiry is not a decimal number", ErrMalformedUsername)
		}
	}
	if userID == "" {
		return time.Time{}, "", fmt.Errorf("%w: empty userId", ErrMalformedUsername)
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: %v", ErrMalformedUsername, err)
	}
	return time.Unix(secs, 0), userID, nil
}

// checkRESTUsername parses username and refuses it when expired at now.
func checkRESTUsername(username string, now time.Time) (userID string, err error) {
	expires, userID, err := parseRESTUsername(username)
	if err != nil {
		return "", err
	}
	if !now.Before(expires) {
		return "", fmt.Errorf("%w: expired %s", ErrExpiredCredential, expires.UTC().Format(time.RFC3339))
	}
	return userID, nil
}

// Credentials returns TURN REST API credentials for userID, valid for credential_ttl from
// now: username "<expiry unix time>:<userID>", password base64(HMAC-SHA1(secret, username)).
// Any coturn-compatible TURN server sharing the secret accepts them too.
func (s *Server) Credentials(userID string, now time.Time) (username, password string, expires time.Time) {
	expires = now.Add(s.cfg.CredentialTTL).Truncate(time.Second)
	username = restUsername(userID, expires)
	return username, restPassword(s.secret, username), expires
}

// ICEServers returns the iceServers entries for userID: TURN over UDP and TCP, and TURNS
// (TLS) when tls_port is enabled, all with fresh credentials. host is the name or IP
// clients reach this server at; empty means relay_ip. The ports are the bound ones once
// Start has run, the configured ones before. A disabled server returns nil.
func (s *Server) ICEServers(userID string, now time.Time, host string) []ICEServer {
	if !s.cfg.Enabled {
		return nil
	}
	if host == "" {
		host = s.cfg.RelayIP
	}
	udpPort, tcpPort, tlsPort := s.cfg.UDPPort, s.cfg.TCPPort, s.cfg.TLSPort
	if a := s.Addrs(); a.UDP != nil {
		udpPort, tcpPort = portOf(a.UDP), portOf(a.TCP)
		if a.TLS != nil {
			tlsPort = portOf(a.TLS)
		}
	}
	urls := []string{
		"turn:" + net.JoinHostPort(host, strconv.Itoa(udpPort)) + "?transport=udp",
		"turn:" + net.JoinHostPort(host, strconv.Itoa(tcpPort)) + "?transport=tcp",
	}
	if s.cfg.TLSPort != 0 {
		urls = append(urls, "turns:"+net.JoinHostPort(host, strconv.Itoa(tlsPort))+"?transport=tcp")
	}
	username, password, _ := s.Credentials(userID, now)
	return []ICEServer{{URLs: urls, Username: username, Credential: password}}
}

func portOf(a net.Addr) int {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.Port
	case *net.TCPAddr:
		return v.Port
	}
	return 0
}
