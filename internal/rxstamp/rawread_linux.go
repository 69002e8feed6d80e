//go:build linux

package rxstamp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reader reads a UDP socket's datagrams with their arrival times by calling recvmsg as a
// raw system call (unix.RawSyscall6) from a callback of the socket's syscall.RawConn,
// instead of through the net package's ReadMsgUDPAddrPort, which goes through
// syscall.Syscall: a raw call does not tell the scheduler it entered a system call (the
// socket is non-blocking, recvmsg returns at once), so it wakes no sysmon thread and hands
// no P over. When nothing is waiting (EAGAIN), Read calls Idle, if set: true makes Read
// return ErrIdle at once (the caller has something to do before it waits), false waits in
// the netpoller as a read of the net package does. The callback, the message header and the
// buffers are built once: a Read allocates nothing.
//
// One goroutine reads at a time: a Read that finds another under way reads through the net
// package instead (the same datagrams and stamps, without Idle).
type Reader struct {
	conn   *net.UDPConn
	rc     syscall.RawConn
	kernel bool
	// Idle is called by Read's goroutine when no datagram is waiting; set it before the
	// first Read.
	Idle func() bool

	mu    sync.Mutex // held by the Read under way
	fn    func(fd uintptr) bool
	msg   unix.Msghdr
	iov   unix.Iovec
	from  unix.RawSockaddrAny
	oob   [OOBSize]byte
	n     int
	errno syscall.Errno
	idle  bool
}

// ErrIdle is Read's answer when no datagram was waiting and Idle returned true.
var ErrIdle = errors.New("rxstamp: no datagram waiting")

// NewReader returns a Reader of conn; kernel says SO_TIMESTAMPNS is on (Enable). Nil when
// the socket gives no RawConn.
func NewReader(conn *net.UDPConn, kernel bool) *Reader {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Reader{conn: conn, rc: rc, kernel: kernel}
	r.msg.Name = (*byte)(unsafe.Pointer(&r.from))
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	if kernel {
		r.msg.Control = &r.oob[0]
	}
	r.fn = r.recv
	return r
}

// Read reads one datagram into b with its arrival time (UnixNano): the kernel's receive
// time when kernel and the datagram carries one, else the time of the read. ErrIdle when
// nothing was waiting and Idle said so. No allocation (errors aside).
func (r *Reader) Read(b []byte) (int, netip.AddrPort, int64, error) {
	if !r.mu.TryLock() {
		return Read(r.conn, r.kernel, b)
	}
	defer r.mu.Unlock()
	if len(b) == 0 {
		return Read(r.conn, r.kernel, b)
	}
	r.iov.Base = &b[0]
	r.iov.SetLen(len(b))
	r.idle, r.errno = false, 0
	err := r.rc.Read(r.fn)
	r.iov.Base = nil // the caller's buffer is not kept
	switch {
	case err != nil:
		return 0, netip.AddrPort{}, 0, err
	case r.idle:
		return 0, netip.AddrPort{}, 0, ErrIdle
	case r.errno != 0:
		return 0, netip.AddrPort{}, 0, &net.OpError{Op: "read", Net: "udp", Source: r.conn.LocalAddr(), Err: os.NewSyscallError("recvmsg", r.errno)}
	}
	at := int64(0)
	if r.kernel {
		at = Time(r.oob[:r.msg.Controllen])
	}
	if at == 0 {
		at = time.Now().UnixNano()
	}
	return r.n, r.addr(), at, nil
}

// recv is the RawConn callback: one recvmsg; false (the netpoller waits) when nothing is
// waiting and Idle has nothing to do.
func (r *Reader) recv(fd uintptr) bool {
	for {
		r.msg.Namelen = unix.SizeofSockaddrAny
		if r.kernel {
			r.msg.SetControllen(len(r.oob))
		}
		r.msg.Flags = 0
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0, 0, 0, 0)
		switch e {
		case 0:
			r.n = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if r.Idle != nil && r.Idle() {
				r.idle = true
				return true
			}
			return false
		default:
			r.errno = e
			return true
		}
	}
}

// addr is the sender's address of the datagram just read, as the net package gives it
// (IPv4 for an AF_INET socket, IPv6 — v4-mapped for IPv4 peers — for an AF_INET6 one).
func (r *Reader) addr() netip.AddrPort {
	switch r.from.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.from))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.from))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(zoneName(int(sa.Scope_id)))
		}
		return netip.AddrPortFrom(a, uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// zoneName is the interface name of index i, or i in decimal (as the net package names
// zones). Link-local peers only.
func zoneName(i int) string {
	if ifi, err := net.InterfaceByIndex(i); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(i)
}
