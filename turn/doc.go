// Package turn is Parley's embedded TURN server (RFC 8656 over UDP, TCP and TLS), built on
// pion/turn/v5. It stands alone: it imports no other Parley package.
//
// # What it owns
//
//   - Config (the `turn` section): listeners, relay address and port range, the TURN REST
//     API secret, credential TTL, per-user quota, allocation lifetime, peer allow/deny lists.
//   - Server: New (validates, starts nothing), SetServerMediaAddresses (before Start),
//     Start (opens the listeners and starts pion's server), Close (idempotent; cuts client
//     connections, ends allocations and waits for pion's goroutines to let go), Addrs, Stats.
//   - Credentials / ICEServers: TURN REST API credentials as coturn's use-auth-secret
//     understands them: username "<expiry unix time>:<userId>", password
//     base64(HMAC-SHA1(secret, username)). Signaling puts ICEServers into the login result,
//     with "<SDKAppID>:<userId>" as the userId, so the quota counts a user of an app.
//
// # Credentials
//
// A request is authenticated when its username parses as "<expiry>:<userId>" (userId
// non-empty, may contain ':'), the expiry is in the future and MESSAGE-INTEGRITY matches the
// key derived from the password above and the configured realm (compared by pion in
// constant time). Expired credentials can neither allocate nor refresh, so credential_ttl
// (default 12h: longer than any call, shorter than coturn's customary day) also bounds a
// relayed session; signaling should hand out fresh credentials at each login. static_users
// adds fixed user/password pairs for tests. An empty secret is replaced by a random one at
// New (logged as ephemeral: credentials then die with the process and differ per node).
//
// # Relay safety
//
// The relay is a path to the SFU, not into the server's host. A client may relay only to
// allowed peers (checked on CreatePermission, ChannelBind and TCP Connect): deny_cidrs
// always refuse; the IPs of server_media_addresses (the server's own addresses, each entry
// "ip:port/udp", "ip:port/tcp" or "ip:port" for both; a port is required) are reachable
// only on their listed ports, per transport: every UDP datagram to or from them is checked
// against the /udp ports, every TCP Connect and incoming peer connection against the /tcp
// ports, whatever allow_cidrs says, so the HTTP port, /metrics, TURN's own ports and any
// other service on those IPs stay out of reach; allow_cidrs allow other peers; otherwise
// loopback, RFC 1918, CGNAT 100.64/10, link-local, multicast, unspecified, documentation,
// benchmarking, reserved, unique-local fc00::/7 and the IPv4-embedding IPv6 transition
// prefixes are refused. SetServerMediaAddresses replaces the list before Start (for media
// ports known only once the SFU has bound them).
//
// # Quotas
//
// Each userId holds at most allocation_quota_per_user allocations and the clients of one
// address (an IPv4 address, an IPv6 /64) at most allocation_quota_per_ip, whatever their
// userIds (486 Allocation Quota Reached, refusals "quota" and "ip_quota"); when no port of
// the relay range can be bound the answer is 508 Insufficient Capacity ("capacity"). The
// user ID authenticate hands pion is "<address bucket>|<userId>" (quota.go), so the relay
// generator takes and gives back both slots with the relay socket, exactly, however many
// connections of one address allocate at once; an allocation's slots return when it is
// deleted (Refresh with lifetime 0) or expires. max_allocation_lifetime is the lifetime
// granted when a client asks for none (pion caps requested lifetimes at one hour). An
// allocation holds permissions for at most MaxPermissionsPerAllocation peer IPs
// (permissions.go, refusal "permissions", D270), and a TCP allocation at most
// MaxPeerConnsPerAllocation connections with peers, the allocations of one client address
// MaxPeerConnsPerIP (peerconns.go, refusal "peer_connections", D271), so neither its maps and
// timers nor its descriptors grow without bound. The TCP and TLS connections of one client
// address are capped at max_conns_per_ip and those of all at max_conns (listeners.go,
// refusals "ip_connections" and "connections", D272). The STUN requests one client address
// sends to the UDP listener and over its TCP and TLS connections are bounded by
// requests_per_second_per_ip and requests_burst_per_ip: one over them is dropped before
// pion reads it (requestrate.go, refusal "request_rate", D316; in a stream skipped whole,
// streamrequests.go, D332); ChannelData and indications are never counted. Garbage on
// the listening ports is dropped by pion's STUN parser; the server keeps serving.
//
// # Ports (defaults)
//
//	3478/udp, 3478/tcp  TURN              (udp_port, tcp_port)
//	5349/tcp            TURN over TLS     (tls_port, 0 disables; self-signed unless cert_file/key_file)
//	49152-65535/udp     relay addresses   (relay_port_min..relay_port_max, advertised as relay_ip)
//
// # Goroutines and state
//
// pion runs one read loop per UDP socket, one accept loop per TCP/TLS listener, one read
// loop per client connection and one relay loop per allocation; they call back into
// authenticate, quotaHandler, permissionHandler, onAuth and the relayGenerator concurrently.
// Everything those callbacks touch is either fixed before Start (Config, secret, static
// users, peerPolicy), atomic (counters behind Stats) or behind its own mutex (allocationQuota,
// permissionCount, logThrottle, closeTracker). Server.mu guards only the lifecycle fields (started, closed,
// pion server, addresses). TLS handshakes run in a goroutine per connection
// (tlsHandshakeListener) with a 10 s bound, so a stalled client blocks nobody.
//
// Refusals (malformed or expired username, bad credentials, quota, forbidden peer) are
// counted by reason and logged at most 5 times per reason per 10 s; pion's own log lines go
// through the same throttle at debug (its Info is per packet) or warn level.
package turn
