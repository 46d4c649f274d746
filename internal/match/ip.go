package match

import (
	"net/netip"
)

// Private and non-global ranges, as Python's ipaddress module (3.11, the
// version Panther's Python runtime uses) defines is_private. IsIPAddressPublic
// mirrors is_global: not private and, for IPv4, not in 100.64.0.0/10.
var (
	privateV4 = mustPrefixes(
		"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24",
		"192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"240.0.0.0/4", "255.255.255.255/32",
	)
	privateV6 = mustPrefixes(
		"::1/128", "::/128", "::ffff:0:0/96", "100::/64", "2001::/23",
		"2001:2::/48", "2001:db8::/32", "2001:10::/28", "fc00::/7", "fe80::/10",
	)
	sharedV4 = netip.MustParsePrefix("100.64.0.0/10")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// parseIP reads an event value as an IP address. Zones are dropped and
// IPv4-mapped IPv6 addresses become IPv4.
func parseIP(v any) (netip.Addr, bool) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// parsePrefix reads a CIDR block ("10.0.0.0/8"); a bare address is a
// single-address block.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func isPrivateIP(a netip.Addr) bool {
	ranges := privateV6
	if a.Is4() {
		ranges = privateV4
	}
	for _, p := range ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func isPublicIP(a netip.Addr) bool {
	if isPrivateIP(a) {
		return false
	}
	return !(a.Is4() && sharedV4.Contains(a))
}
