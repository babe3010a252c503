package jobmanager

import (
	"net"
	"strings"

	"github.com/runnel-io/runnel/internal/httpserve"
)

// advertise is the address a server bound to bound is reached at: host
// (a configured address such as jobmanager.rpc.address) and the bound
// port; the bound address, with loopback for all interfaces, if host is
// empty or itself an address of all interfaces.
func advertise(host, bound string) string {
	_, port, err := net.SplitHostPort(bound)
	if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
		return httpserve.Reachable(bound)
	}
	return net.JoinHostPort(host, port)
}

// advertiseURL is the URL of a server whose own URL is url and bound
// address bound: url itself if the server is bound to one address (which
// url names), else, for a server bound to all interfaces, url with host
// (rest.address or jobmanager.rpc.address), which other hosts reach.
func advertiseURL(url, host, bound string) string {
	if scope(bound) != scopeAll {
		return url
	}
	scheme, _, _ := strings.Cut(url, "://")
	return scheme + "://" + advertise(host, bound)
}

// The scopes of a bound address.
const (
	scopeOne      = iota // one address of a network interface
	scopeLoopback        // loopback
	scopeAll             // every interface
)

func scope(bound string) int {
	host, _, err := net.SplitHostPort(bound)
	ip := net.ParseIP(host)
	switch {
	case err != nil || ip == nil:
		return scopeOne
	case ip.IsUnspecified():
		return scopeAll
	case ip.IsLoopback():
		return scopeLoopback
	}
	return scopeOne
}
