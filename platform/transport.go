package platform

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress refuses a connection to an address inside the hub's own network: loopback,
// private, link-local, carrier-grade NAT, multicast or unspecified.
var ErrPrivateAddress = errors.New("refused: the address is inside the hub's network")

// Transport is the HTTP transport towards addresses tenants choose: messaging APIs' base URLs
// and subscriptions' URLs. Unless allowPrivate, its dialer refuses addresses inside the hub's
// network, checked on the address actually dialled (after DNS, on every redirect too), so a name
// that resolves inward is refused as well; and it uses no proxy from the environment, which would
// dial on its behalf unchecked.
func Transport(allowPrivate bool, maxIdleConnsPerHost int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	if !allowPrivate {
		dialer.Control = refusePrivate
		t.Proxy = nil
	}
	t.DialContext = dialer.DialContext
	return t
}

// inward are further ranges that lead inside a network: carrier-grade NAT, IETF protocol
// assignments, benchmarking, reserved, IPv4-compatible and NAT64 IPv6, site-local IPv6.
var inward = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"), netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("fec0::/10"),
}

// refusePrivate is a net.Dialer Control: it runs after resolution, before the connection.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return fmt.Errorf("%w (%s)", ErrPrivateAddress, ip)
	}
	for _, p := range inward {
		if p.Contains(ip) {
			return fmt.Errorf("%w (%s)", ErrPrivateAddress, ip)
		}
	}
	return nil
}
