package logtypes

import (
	"bytes"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
)

// This file holds the indicator scanners (the values of a field's
// indicators key) and the per-event accumulator of p_any_* values.

// indKind is one p_any_* list; the constants are in the output order of the
// p_any_* fields (alphabetical).
type indKind uint8

const (
	kAWSAccountIDs indKind = iota
	kAWSARNs
	kAWSInstanceIDs
	kAWSTags
	kDomainNames
	kEmails
	kIPAddresses
	kMD5Hashes
	kSHA1Hashes
	kSHA256Hashes
	kTraceIDs
	kUsernames
	numIndKinds
)

// indFields are the p_any_* field names by kind, with the JSON key prefix
// the output writer needs.
var indFields = [numIndKinds]string{
	kAWSAccountIDs:  "p_any_aws_account_ids",
	kAWSARNs:        "p_any_aws_arns",
	kAWSInstanceIDs: "p_any_aws_instance_ids",
	kAWSTags:        "p_any_aws_tags",
	kDomainNames:    "p_any_domain_names",
	kEmails:         "p_any_emails",
	kIPAddresses:    "p_any_ip_addresses",
	kMD5Hashes:      "p_any_md5_hashes",
	kSHA1Hashes:     "p_any_sha1_hashes",
	kSHA256Hashes:   "p_any_sha256_hashes",
	kTraceIDs:       "p_any_trace_ids",
	kUsernames:      "p_any_usernames",
}

// IndicatorFields returns the names of the p_any_* fields, in output order.
func IndicatorFields() []string { return slices.Clone(indFields[:]) }

// scanner is an indicator named in schemas.
type scanner uint8

const (
	scanIP scanner = iota
	scanDomain
	scanHostname
	scanNetAddr
	scanURL
	scanEmail
	scanUsername
	scanMD5
	scanSHA1
	scanSHA256
	scanTraceID
	scanAWSARN
	scanAWSARNOnly
	scanAWSAccountID
	scanAWSInstanceID
	scanAWSTag
)

// scannerByName maps the indicator names of schemas to scanners. The names
// are Panther's.
var scannerByName = map[string]scanner{
	"ip":              scanIP,
	"domain":          scanDomain,
	"hostname":        scanHostname,
	"net_addr":        scanNetAddr,
	"url":             scanURL,
	"email":           scanEmail,
	"username":        scanUsername,
	"md5":             scanMD5,
	"sha1":            scanSHA1,
	"sha256":          scanSHA256,
	"trace_id":        scanTraceID,
	"aws_arn":         scanAWSARN,
	"aws_arn_only":    scanAWSARNOnly,
	"aws_account_id":  scanAWSAccountID,
	"aws_instance_id": scanAWSInstanceID,
	"aws_tag":         scanAWSTag,
}

// Indicators returns the indicator names a schema field may list, sorted.
func Indicators() []string {
	out := make([]string, 0, len(scannerByName))
	for k := range scannerByName {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// indMask is a set of scanners.
type indMask uint32

func maskOf(names []string) indMask {
	var m indMask
	for _, n := range names {
		if s, ok := scannerByName[n]; ok {
			m |= 1 << s
		}
	}
	return m
}

// indEntry is one indicator value stored in the accumulator's arena.
type indEntry struct {
	kind     indKind
	off, end int32
}

// indicators accumulates the indicator values of one event.
type indicators struct {
	arena   []byte
	entries []indEntry
}

func (a *indicators) reset() {
	a.arena = a.arena[:0]
	a.entries = a.entries[:0]
}

// add stores v under kind; fold lower-cases ASCII letters.
func (a *indicators) add(kind indKind, v []byte, fold bool) {
	if len(v) == 0 || len(a.arena)+len(v) > 1<<30 {
		return
	}
	off := len(a.arena)
	if fold {
		for _, c := range v {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			a.arena = append(a.arena, c)
		}
	} else {
		a.arena = append(a.arena, v...)
	}
	a.entries = append(a.entries, indEntry{kind: kind, off: int32(off), end: int32(len(a.arena))})
}

func (a *indicators) value(e indEntry) []byte { return a.arena[e.off:e.end] }

// compare orders entries by kind, then value.
func (a *indicators) compare(x, y indEntry) int {
	if x.kind != y.kind {
		return int(x.kind) - int(y.kind)
	}
	return bytes.Compare(a.value(x), a.value(y))
}

// sortDedup sorts the entries by kind then value and removes duplicates.
func (a *indicators) sortDedup() {
	es := a.entries
	if len(es) < 2 {
		return
	}
	if len(es) > 12 {
		slices.SortFunc(es, a.compare)
	} else {
		// An event has a handful: sort them in place, without the calls
		// through a func value that slices.SortFunc makes.
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && a.compare(es[j], es[j-1]) < 0; j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
	}
	out := es[:1]
	for _, e := range es[1:] {
		if a.compare(e, out[len(out)-1]) != 0 {
			out = append(out, e)
		}
	}
	a.entries = out
}

// scan applies the scanners in m to the value v. strict is set for values
// inside json fields: then only values that look like the indicator are
// kept even for free-form indicators (username, trace_id, aws_tag, domain).
func (a *indicators) scan(m indMask, v []byte, strict bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return
	}
	for m != 0 {
		s := scanner(bits.TrailingZeros32(uint32(m)))
		m &^= 1 << s
		switch s {
		case scanIP:
			a.addIP(v)
		case scanDomain:
			if looksLikeDomain(v, strict) {
				a.add(kDomainNames, v, true)
			}
		case scanHostname, scanNetAddr:
			a.addHost(v)
		case scanURL:
			a.addURL(v)
		case scanEmail:
			if looksLikeEmail(v) {
				a.add(kEmails, v, false)
			}
		case scanUsername:
			if !strict && printable(v) {
				a.add(kUsernames, v, false)
			}
		case scanMD5:
			if isHex(v, 32) {
				a.add(kMD5Hashes, v, true)
			}
		case scanSHA1:
			if isHex(v, 40) {
				a.add(kSHA1Hashes, v, true)
			}
		case scanSHA256:
			if isHex(v, 64) {
				a.add(kSHA256Hashes, v, true)
			}
		case scanTraceID:
			if !strict && printable(v) {
				a.add(kTraceIDs, v, false)
			}
		case scanAWSARN, scanAWSARNOnly:
			a.addARN(v, s == scanAWSARN)
		case scanAWSAccountID:
			if isDigits(v, 12) {
				a.add(kAWSAccountIDs, v, false)
			}
		case scanAWSInstanceID:
			if isInstanceID(v) {
				a.add(kAWSInstanceIDs, v, false)
			}
		case scanAWSTag:
			if !strict && printable(v) {
				a.add(kAWSTags, v, false)
			}
		}
	}
}

// addIP adds v if it is an IPv4 or IPv6 address, in canonical form.
func (a *indicators) addIP(v []byte) bool {
	if isIPv4(v) {
		a.add(kIPAddresses, v, false)
		return true
	}
	if bytes.IndexByte(v, ':') < 0 || len(v) > 64 {
		return false
	}
	ip, err := netip.ParseAddr(string(v))
	if err != nil {
		return false
	}
	var buf [64]byte
	a.add(kIPAddresses, ip.AppendTo(buf[:0]), false)
	return true
}

// addHost adds v to the IP addresses when it is one, else to the domain
// names when it looks like one.
func (a *indicators) addHost(v []byte) {
	if !a.addIP(v) && looksLikeDomain(v, false) {
		a.add(kDomainNames, v, true)
	}
}

// addURL adds the host of an absolute URL (scheme://[user@]host[:port]/…).
func (a *indicators) addURL(v []byte) {
	i := bytes.Index(v, []byte("://"))
	if i <= 0 || !isScheme(v[:i]) {
		return
	}
	rest := v[i+3:]
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := bytes.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if len(rest) > 0 && rest[0] == '[' {
		if j := bytes.IndexByte(rest, ']'); j > 0 {
			a.addIP(rest[1:j])
		}
		return
	}
	if j := bytes.LastIndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	a.addHost(rest)
}

// addARN adds an ARN (arn:partition:service:region:account:resource) and,
// when derived is set, its account ID and EC2 instance ID.
func (a *indicators) addARN(v []byte, derived bool) {
	if !bytes.HasPrefix(v, []byte("arn:")) || bytes.Count(v, []byte(":")) < 5 || !printable(v) {
		return
	}
	a.add(kAWSARNs, v, false)
	if !derived {
		return
	}
	parts := bytes.SplitN(v, []byte(":"), 6)
	if isDigits(parts[4], 12) {
		a.add(kAWSAccountIDs, parts[4], false)
	}
	if string(parts[2]) == "ec2" {
		if id, ok := bytes.CutPrefix(parts[5], []byte("instance/")); ok && isInstanceID(id) {
			a.add(kAWSInstanceIDs, id, false)
		}
	}
}

func isIPv4(v []byte) bool {
	if len(v) < 7 || len(v) > 15 {
		return false
	}
	parts, n, val := 0, 0, 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == '.' {
			if n == 0 || (n > 1 && v[i-n] == '0') || val > 255 {
				return false
			}
			parts++
			n, val = 0, 0
			continue
		}
		c := v[i]
		if c < '0' || c > '9' || n == 3 {
			return false
		}
		val = val*10 + int(c-'0')
		n++
	}
	return parts == 4
}

// looksLikeDomain accepts host names: letters, digits, hyphens,
// underscores and dots (and non-ASCII bytes for IDNs), at least one letter,
// at most 253 bytes. strict also requires a dot and a final label that is
// not all digits.
func looksLikeDomain(v []byte, strict bool) bool {
	if len(v) == 0 || len(v) > 253 || v[0] == '.' || v[0] == '-' {
		return false
	}
	letter := false
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= 0x80:
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	if !letter || bytes.Contains(v, []byte("..")) {
		return false
	}
	if strict {
		d := bytes.LastIndexByte(bytes.TrimSuffix(v, []byte(".")), '.')
		if d < 0 {
			return false
		}
		tld := bytes.TrimSuffix(v[d+1:], []byte("."))
		if len(tld) < 2 || isDigits(tld, len(tld)) {
			return false
		}
	}
	return true
}

// notInEmail marks the bytes looksLikeEmail rejects: those printable
// rejects and " \t<>\"(),;".
var notInEmail = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t[0x7f] = true
	for _, c := range []byte(" \t<>\"(),;") {
		t[c] = true
	}
	return t
}()

// looksLikeEmail accepts local@domain with a dotted domain and no spaces.
func looksLikeEmail(v []byte) bool {
	at := bytes.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || len(v) > 320 {
		return false
	}
	for _, c := range v {
		if notInEmail[c] {
			return false
		}
	}
	dom := v[at+1:]
	return bytes.IndexByte(dom, '.') > 0 && looksLikeDomain(dom, true)
}

func isScheme(v []byte) bool {
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return len(v) > 0
}

func isHex(v []byte, n int) bool {
	if len(v) != n {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(v []byte, n int) bool {
	if len(v) != n || n == 0 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isInstanceID accepts i- followed by 8 or 17 lower-case hex digits.
func isInstanceID(v []byte) bool {
	if len(v) != 10 && len(v) != 19 || v[0] != 'i' || v[1] != '-' {
		return false
	}
	for _, c := range v[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// printable rejects values with control characters and overly long ones.
func printable(v []byte) bool {
	if len(v) > 1024 {
		return false
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
