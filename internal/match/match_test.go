package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parseYAML(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test YAML %q: %v", s, err)
	}
	return v
}

// exprList parses YAML holding a list of expressions, or one expression.
func exprList(t testing.TB, s string) any {
	v := parseYAML(t, s)
	if m, ok := v.(map[string]any); ok {
		return []any{m}
	}
	return v
}

func parseEvent(t testing.TB, s string, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	if useNumber {
		d.UseNumber()
	}
	var ev map[string]any
	if err := d.Decode(&ev); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return ev
}

// checkMatch compiles expr (YAML) and checks the result on event (JSON),
// decoded both with float64 and with json.Number numbers.
func checkMatch(t *testing.T, compile func(any) (*Matcher, error), expr, event string, want bool) {
	t.Helper()
	m, err := compile(exprList(t, expr))
	if err != nil {
		t.Errorf("compile %s: %v", expr, err)
		return
	}
	for _, useNumber := range []bool{false, true} {
		if got := m.Match(parseEvent(t, event, useNumber)); got != want {
			t.Errorf("expr %s\nevent %s (UseNumber=%v): got %v, want %v", expr, event, useNumber, got, want)
		}
	}
	checkReads(t, m, event, want)
	if want {
		checkAdmitted(t, m, event)
	}
}

const okta = `{
  "eventType": "user.session.start",
  "severity": "INFO",
  "displayMessage": "User login to Okta",
  "actor": {"id": "00u1", "type": "User", "alternateId": "Alice@Example.com", "displayName": "Alice"},
  "client": {"ipAddress": "203.0.113.9", "zone": null, "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X"}},
  "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
  "target": [
    {"id": "t1", "type": "AppInstance", "alternateId": "Salesforce"},
    {"id": "t2", "type": "AppUser", "alternateId": "alice"}
  ],
  "authenticationContext": {"authenticationStep": 0, "externalSessionId": ""},
  "securityContext": {"asNumber": 64496, "isProxy": false, "domain": "example.net"},
  "debugContext": {"debugData": {"risk": "{level=HIGH}", "threatSuspected": "true", "requestUri": "/api/v1/authn"}},
  "request": {"ipChain": [{"ip": "203.0.113.9"}, {"ip": "10.1.2.3"}]},
  "tags": ["mfa", "VPN"],
  "count": "42",
  "ratio": 0.5,
  "cidr": "192.0.2.0/24",
  "empty_list": [],
  "empty_map": {},
  "p_any_ip_addresses": ["203.0.113.9", "10.1.2.3"]
}`

func TestConditions(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	// Equals family.
	f(`{KeyPath: eventType, Condition: Equals, Value: user.session.start}`, true)
	f(`{KeyPath: eventType, Condition: Equals, Value: User.Session.Start}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotEqual, Value: user.session.start}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotEqual, Value: other}`, true)
	f(`{KeyPath: eventType, Condition: IEquals, Value: USER.SESSION.START}`, true)
	f(`{KeyPath: eventType, Condition: IEquals, Value: user.session}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotEqual, Value: USER.SESSION.START}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotEqual, Value: other}`, true)
	// Typed equality.
	f(`{KeyPath: securityContext.asNumber, Condition: Equals, Value: 64496}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: Equals, Value: 64496.0}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: Equals, Value: "64496"}`, false)
	f(`{KeyPath: ratio, Condition: Equals, Value: 0.5}`, true)
	f(`{KeyPath: securityContext.isProxy, Condition: Equals, Value: false}`, true)
	f(`{KeyPath: securityContext.isProxy, Condition: Equals, Value: "false"}`, false)
	f(`{KeyPath: client.zone, Condition: Equals, Value: null}`, true)
	f(`{KeyPath: client.zone, Condition: DoesNotEqual, Value: null}`, false)
	f(`{KeyPath: count, Condition: Equals, Value: 42}`, false)
	// StartsWith family.
	f(`{KeyPath: eventType, Condition: StartsWith, Value: user.}`, true)
	f(`{KeyPath: eventType, Condition: StartsWith, Value: User.}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotStartWith, Value: user.}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotStartWith, Value: app.}`, true)
	f(`{KeyPath: eventType, Condition: IStartsWith, Value: USER.}`, true)
	f(`{KeyPath: eventType, Condition: IStartsWith, Value: APP.}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotStartWith, Value: USER.}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotStartWith, Value: APP.}`, true)
	// EndsWith family.
	f(`{KeyPath: eventType, Condition: EndsWith, Value: .start}`, true)
	f(`{KeyPath: eventType, Condition: EndsWith, Value: .START}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotEndWith, Value: .start}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotEndWith, Value: .end}`, true)
	f(`{KeyPath: eventType, Condition: IEndsWith, Value: .START}`, true)
	f(`{KeyPath: eventType, Condition: IEndsWith, Value: .END}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotEndWith, Value: .START}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotEndWith, Value: .END}`, true)
	// Contains family: substrings, list membership, mapping keys.
	f(`{KeyPath: eventType, Condition: Contains, Value: session}`, true)
	f(`{KeyPath: eventType, Condition: Contains, Value: SESSION}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotContain, Value: session}`, false)
	f(`{KeyPath: eventType, Condition: DoesNotContain, Value: token}`, true)
	f(`{KeyPath: eventType, Condition: IContains, Value: SESSION}`, true)
	f(`{KeyPath: eventType, Condition: IContains, Value: TOKEN}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotContain, Value: SESSION}`, false)
	f(`{KeyPath: eventType, Condition: IDoesNotContain, Value: TOKEN}`, true)
	f(`{KeyPath: tags, Condition: Contains, Value: mfa}`, true)
	f(`{KeyPath: tags, Condition: Contains, Value: vpn}`, false)
	f(`{KeyPath: tags, Condition: IContains, Value: vpn}`, true)
	f(`{KeyPath: tags, Condition: DoesNotContain, Value: sso}`, true)
	f(`{KeyPath: debugContext.debugData, Condition: Contains, Value: risk}`, true)
	f(`{KeyPath: debugContext.debugData, Condition: Contains, Value: RISK}`, false)
	f(`{KeyPath: debugContext.debugData, Condition: IContains, Value: RISK}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: Contains, Value: "644"}`, false)
	// Non-ASCII case folding.
	checkMatch(t, Compile, `{Key: s, Condition: IContains, Value: "ÜBER"}`, `{"s": "grüße über alles"}`, true)
	checkMatch(t, Compile, `{Key: s, Condition: IStartsWith, Value: "GRÜ"}`, `{"s": "grüße"}`, true)
	checkMatch(t, Compile, `{Key: s, Condition: IEndsWith, Value: "SSE"}`, `{"s": "grüsse"}`, true)
	// Numeric comparisons, including numeric strings in the event.
	f(`{KeyPath: securityContext.asNumber, Condition: IsGreaterThan, Value: 64495}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsGreaterThan, Value: 64496}`, false)
	f(`{KeyPath: securityContext.asNumber, Condition: IsGreaterThanOrEqual, Value: 64496}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsGreaterThanOrEqual, Value: 64497}`, false)
	f(`{KeyPath: securityContext.asNumber, Condition: IsLessThan, Value: 64497}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsLessThan, Value: 64496}`, false)
	f(`{KeyPath: securityContext.asNumber, Condition: IsLessThanOrEqual, Value: 64496}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsLessThanOrEqual, Value: 1}`, false)
	f(`{KeyPath: count, Condition: IsGreaterThan, Value: 41.5}`, true)
	f(`{KeyPath: count, Condition: IsLessThan, Value: "50"}`, true)
	f(`{KeyPath: ratio, Condition: IsLessThan, Value: 1}`, true)
	f(`{KeyPath: eventType, Condition: IsGreaterThan, Value: 0}`, false)
	f(`{KeyPath: securityContext.isProxy, Condition: IsLessThan, Value: 1}`, false)
	f(`{KeyPath: securityContext.asNumber, Condition: IsGreaterThanOrEquals, Value: 64496}`, true) // alias
	f(`{KeyPath: securityContext.asNumber, Condition: IsLessThanOrEquals, Value: 64496}`, true)    // alias
	// IsIn / IsNotIn.
	f(`{KeyPath: outcome.result, Condition: IsIn, Values: [SUCCESS, FAILURE]}`, true)
	f(`{KeyPath: outcome.result, Condition: IsIn, Values: [SUCCESS, failure]}`, false)
	f(`{KeyPath: outcome.result, Condition: IsNotIn, Values: [SUCCESS, FAILURE]}`, false)
	f(`{KeyPath: outcome.result, Condition: IsNotIn, Values: [SUCCESS]}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsIn, Values: [1, 64496]}`, true)
	f(`{KeyPath: securityContext.asNumber, Condition: IsIn, Values: ["64496"]}`, false)
	f(`{KeyPath: securityContext.isProxy, Condition: IsIn, Values: [false]}`, true)
	f(`{KeyPath: securityContext.isProxy, Condition: IsIn, Values: [true]}`, false)
	f(`{KeyPath: client.zone, Condition: IsIn, Values: [null, x]}`, true)
	f(`{KeyPath: client.zone, Condition: IsNotIn, Values: [x]}`, true)
	// Existence.
	f(`{KeyPath: client.zone, Condition: Exists}`, true)
	f(`{KeyPath: client.nope, Condition: Exists}`, false)
	f(`{KeyPath: client.zone, Condition: DoesNotExist}`, false)
	f(`{KeyPath: client.nope, Condition: DoesNotExist}`, true)
	f(`{KeyPath: client.zone, Condition: IsNull}`, true)
	f(`{KeyPath: client.nope, Condition: IsNull}`, true)
	f(`{KeyPath: client.ipAddress, Condition: IsNull}`, false)
	f(`{KeyPath: client.ipAddress, Condition: IsNotNull}`, true)
	f(`{KeyPath: client.zone, Condition: IsNotNull}`, false)
	f(`{KeyPath: client.nope, Condition: IsNotNull}`, false)
	for _, k := range []string{"client.zone", "client.nope", "authenticationContext.externalSessionId", "empty_list", "empty_map"} {
		f(`{KeyPath: `+k+`, Condition: IsNullOrEmpty}`, true)
		f(`{KeyPath: `+k+`, Condition: IsNotNullOrEmpty}`, false)
	}
	for _, k := range []string{"eventType", "tags", "actor", "securityContext.isProxy", "authenticationContext.authenticationStep"} {
		f(`{KeyPath: `+k+`, Condition: IsNullOrEmpty}`, false)
		f(`{KeyPath: `+k+`, Condition: IsNotNullOrEmpty}`, true)
	}
	// IP addresses.
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddress}`, true)
	f(`{KeyPath: eventType, Condition: IsIPAddress}`, false)
	f(`{KeyPath: securityContext.asNumber, Condition: IsIPAddress}`, false)
	f(`{KeyPath: client.ipAddress, Condition: IsIPv4Address}`, true)
	f(`{KeyPath: client.ipAddress, Condition: IsIPv6Address}`, false)
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressPublic}`, false) // TEST-NET-3 is reserved
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressPrivate}`, true)
	f(`{KeyPath: "request.ipChain[1].ip", Condition: IsIPAddressPrivate}`, true)
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressInCIDR, Value: 203.0.113.0/24}`, true)
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}`, false)
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressInCIDR, Value: 203.0.113.9}`, true) // a bare address is a /32
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressNotInCIDR, Value: 10.0.0.0/8}`, true)
	f(`{KeyPath: client.ipAddress, Condition: IsIPAddressNotInCIDR, Value: 203.0.113.0/24}`, false)
	f(`{KeyPath: eventType, Condition: IsIPAddressNotInCIDR, Value: 10.0.0.0/8}`, true)
	f(`{KeyPath: cidr, Condition: CIDRContainsIPAddress, Value: 192.0.2.77}`, true)
	f(`{KeyPath: cidr, Condition: CIDRContainsIPAddress, Value: 192.0.3.1}`, false)
	f(`{KeyPath: cidr, Condition: CIDRDoesNotContainIPAddress, Value: 192.0.3.1}`, true)
	f(`{KeyPath: cidr, Condition: CIDRDoesNotContainIPAddress, Value: 192.0.2.1}`, false)
	f(`{KeyPath: cidr, Condition: CIDRContainsIPAddresses, Value: 192.0.2.1}`, true) // alias
	// Absolute.
	f(`{Condition: AlwaysTrue}`, true)
	f(`{Condition: AlwaysFalse}`, false)
}

func TestIPClassification(t *testing.T) {
	f := func(ip string, public, private bool) {
		t.Helper()
		ev := `{"ip": "` + ip + `"}`
		checkMatch(t, Compile, `{Key: ip, Condition: IsIPAddressPublic}`, ev, public)
		checkMatch(t, Compile, `{Key: ip, Condition: IsIPAddressPrivate}`, ev, private)
	}
	f("8.8.8.8", true, false)
	f("10.0.0.1", false, true)
	f("172.16.5.4", false, true)
	f("172.32.0.1", true, false)
	f("192.168.1.1", false, true)
	f("127.0.0.1", false, true)
	f("169.254.169.254", false, true)
	f("100.64.0.1", false, false) // shared address space: neither
	f("2001:4860:4860::8888", true, false)
	f("fd00::1", false, true)
	f("fe80::1%eth0", false, true)
	f("::1", false, true)
	f("::ffff:10.0.0.1", false, true) // IPv4-mapped: tested as IPv4
	f("::ffff:8.8.8.8", true, false)
	f("not-an-ip", false, false)

	checkMatch(t, Compile, `{Key: ip, Condition: IsIPv6Address}`, `{"ip": "::ffff:8.8.8.8"}`, true)
	checkMatch(t, Compile, `{Key: ip, Condition: IsIPv4Address}`, `{"ip": "::ffff:8.8.8.8"}`, false)
	checkMatch(t, Compile, `{Key: ip, Condition: IsIPv6Address}`, `{"ip": "2001:db8::1"}`, true)
	checkMatch(t, Compile, `{Key: ip, Condition: IsIPAddressInCIDR, Value: "10.0.0.0/8"}`, `{"ip": "::ffff:10.1.1.1"}`, true)
	checkMatch(t, Compile, `{Key: ip, Condition: IsIPAddressInCIDR, Value: "2001:db8::/32"}`, `{"ip": "2001:db8::1"}`, true)
	checkMatch(t, Compile, `{Key: ip, Condition: IsIPAddressInCIDR, Value: "2001:db8::/32"}`, `{"ip": "10.0.0.1"}`, false)
}

func TestMissingKeys(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	// Positive conditions are false on an absent key, negated ones true.
	f(`{KeyPath: nope, Condition: Equals, Value: x}`, false)
	f(`{KeyPath: nope, Condition: DoesNotEqual, Value: x}`, true)
	f(`{KeyPath: nope, Condition: IEquals, Value: x}`, false)
	f(`{KeyPath: nope, Condition: IDoesNotEqual, Value: x}`, true)
	f(`{KeyPath: nope, Condition: StartsWith, Value: x}`, false)
	f(`{KeyPath: nope, Condition: DoesNotStartWith, Value: x}`, true)
	f(`{KeyPath: nope, Condition: Contains, Value: x}`, false)
	f(`{KeyPath: nope, Condition: DoesNotContain, Value: x}`, true)
	f(`{KeyPath: nope, Condition: IsGreaterThan, Value: 1}`, false)
	f(`{KeyPath: nope, Condition: IsLessThan, Value: 1}`, false)
	f(`{KeyPath: nope, Condition: IsIn, Values: [x]}`, false)
	f(`{KeyPath: nope, Condition: IsNotIn, Values: [x]}`, true)
	f(`{KeyPath: nope, Condition: IsIPAddress}`, false)
	f(`{KeyPath: nope, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}`, false)
	f(`{KeyPath: nope, Condition: IsIPAddressNotInCIDR, Value: 10.0.0.0/8}`, true)
	f(`{KeyPath: nope, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}`, false)
	f(`{KeyPath: nope, Condition: AllElements, Expressions: [{Condition: AlwaysTrue}]}`, false)
	f(`{KeyPath: nope, Condition: OnlyOneElement, Expressions: [{Condition: AlwaysTrue}]}`, false)
	f(`{KeyPath: nope, Condition: NoElement, Expressions: [{Condition: AlwaysTrue}]}`, true)
	// Traversing through a non-mapping, out-of-range index, or index on a map.
	f(`{KeyPath: eventType.x, Condition: Exists}`, false)
	f(`{KeyPath: "target[5].id", Condition: Exists}`, false)
	f(`{KeyPath: "actor[0]", Condition: Exists}`, false)
	f(`{DeepKey: [target, "0", id], Condition: Exists}`, false) // DeepKey does not index lists
	// Null in the middle of a path is absent.
	f(`{KeyPath: client.zone.x, Condition: DoesNotExist}`, true)
}

func TestInlineFilters(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, CompileInlineFilters, expr, okta, want)
	}
	// Absent keys pass, whatever the condition.
	f(`{KeyPath: nope, Condition: Equals, Value: x}`, true)
	f(`{KeyPath: nope, Condition: DoesNotEqual, Value: x}`, true)
	f(`{KeyPath: nope, Condition: IsIn, Values: [x]}`, true)
	f(`{KeyPath: nope, Condition: IsGreaterThan, Value: 1}`, true)
	f(`{KeyPath: nope, Condition: IsIPAddressPublic}`, true)
	f(`{KeyPath: nope, Condition: AnyElement, Expressions: [{Condition: AlwaysFalse}]}`, true)
	f(`{Condition: IsGreaterThan, Values: [{KeyPath: nope}, {KeyPath: ratio}]}`, true)
	// Existence conditions still test presence.
	f(`{KeyPath: nope, Condition: Exists}`, false)
	f(`{KeyPath: nope, Condition: IsNotNullOrEmpty}`, false)
	f(`{KeyPath: nope, Condition: IsNullOrEmpty}`, true)
	// Present keys, including null ones, evaluate normally.
	f(`{KeyPath: eventType, Condition: Equals, Value: x}`, false)
	f(`{KeyPath: client.zone, Condition: Equals, Value: x}`, false)
	f(`{KeyPath: client.zone, Condition: DoesNotEqual, Value: x}`, true)
	f(`{Any: [{KeyPath: eventType, Condition: Equals, Value: x}, {KeyPath: nope, Condition: Equals, Value: x}]}`, true)
	f(`{None: [{KeyPath: nope, Condition: Equals, Value: x}]}`, false)
	// An empty list matches everything.
	f(`[]`, true)
	if _, err := Compile([]any{}); err == nil {
		t.Error("Compile([]) should fail: a Detection needs expressions")
	}
}

func TestKeySpecifiers(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	f(`{Key: eventType, Condition: Equals, Value: user.session.start}`, true)
	f(`{Key: "actor.id", Condition: Exists}`, false) // Key is one literal key
	f(`{DeepKey: [actor, alternateId], Condition: Equals, Value: Alice@Example.com}`, true)
	f(`{DeepKey: [debugContext, debugData, requestUri], Condition: StartsWith, Value: /api}`, true)
	f(`{KeyPath: $.actor.id, Condition: Equals, Value: 00u1}`, true)
	f(`{KeyPath: "$actor.id", Condition: Equals, Value: 00u1}`, true)
	f(`{KeyPath: "target[0].type", Condition: Equals, Value: AppInstance}`, true)
	f(`{KeyPath: "target[1].type", Condition: Equals, Value: AppInstance}`, false)
	f(`{KeyPath: "target[-1].id", Condition: Equals, Value: t2}`, true)
	f(`{KeyPath: "request.ipChain[ 0 ].ip", Condition: Equals, Value: 203.0.113.9}`, true)
	f(`{KeyPath: "debugContext['debugData'].risk", Condition: Contains, Value: HIGH}`, true)
	f(`{KeyPath: "tags[0]", Condition: Equals, Value: mfa}`, true)
	// Case-insensitive fallback at every level.
	f(`{KeyPath: EVENTTYPE, Condition: Equals, Value: user.session.start}`, true)
	f(`{KeyPath: Actor.AlternateID, Condition: Equals, Value: Alice@Example.com}`, true)
	f(`{DeepKey: [DEBUGCONTEXT, debugdata, RISK], Condition: Exists}`, true)
	// The exact key wins over a case-insensitive one; among folded matches
	// the smallest key wins, deterministically.
	checkMatch(t, Compile, `{Key: Name, Condition: Equals, Value: exact}`, `{"name": "lower", "Name": "exact", "NAME": "upper"}`, true)
	checkMatch(t, Compile, `{Key: nAmE, Condition: Equals, Value: upper}`, `{"name": "lower", "NAME": "upper"}`, true)
	// Keys with dots and brackets need quoting in KeyPath.
	checkMatch(t, Compile, `{KeyPath: "a['b.c'][\"d[0]\"]", Condition: Equals, Value: x}`, `{"a": {"b.c": {"d[0]": "x"}}}`, true)
	checkMatch(t, Compile, `{KeyPath: "[1]", Condition: Equals, Value: x}`, `{"1": "x"}`, false)
}

func TestWildcards(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	f(`{KeyPath: "target[*].type", Condition: Equals, Value: AppUser}`, true)
	f(`{KeyPath: "target[*].type", Condition: Equals, Value: Group}`, false)
	// Negated conditions are NOT(any value passes).
	f(`{KeyPath: "target[*].type", Condition: DoesNotEqual, Value: AppUser}`, false)
	f(`{KeyPath: "target[*].type", Condition: DoesNotEqual, Value: Group}`, true)
	f(`{KeyPath: "target[*].type", Condition: IsIn, Values: [Group, AppUser]}`, true)
	f(`{KeyPath: "target[*].type", Condition: IsNotIn, Values: [Group, AppUser]}`, false)
	f(`{KeyPath: "request.ipChain[*].ip", Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}`, true)
	f(`{KeyPath: "request.ipChain[*].ip", Condition: IsIPAddressNotInCIDR, Value: 10.0.0.0/8}`, false)
	f(`{KeyPath: "p_any_ip_addresses[*]", Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}`, true)
	f(`{KeyPath: "target[*].nope", Condition: Exists}`, false)
	f(`{KeyPath: "target[*].nope", Condition: DoesNotExist}`, true)
	f(`{KeyPath: "empty_list[*]", Condition: Exists}`, false)
	f(`{KeyPath: "empty_list[*]", Condition: DoesNotEqual, Value: x}`, true)
	f(`{KeyPath: "actor[*]", Condition: Exists}`, false)
	// Nested wildcards.
	ev := `{"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 3}]}, {"b": "x"}]}`
	checkMatch(t, Compile, `{KeyPath: "a[*].b[*].c", Condition: Equals, Value: 3}`, ev, true)
	checkMatch(t, Compile, `{KeyPath: "a[*].b[*].c", Condition: IsGreaterThan, Value: 3}`, ev, false)
	checkMatch(t, Compile, `{KeyPath: "a[*].b[0].c", Condition: Equals, Value: 1}`, ev, true)
	checkMatch(t, Compile, `{KeyPath: "a[*].b[0].c", Condition: Equals, Value: 2}`, ev, false)
}

func TestMultiKey(t *testing.T) {
	ev := `{"a": 5, "b": 7, "s": "abc", "t": "ABC", "u": "ab", "ip": "10.0.0.1", "net": "10.0.0.0/8",
	        "xs": [{"n": 1}, {"n": 9}], "z": null, "num": "5"}`
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, ev, want)
	}
	f(`{Condition: IsLessThan, Values: [{Key: a}, {Key: b}]}`, true)
	f(`{Condition: IsGreaterThan, Values: [{Key: a}, {Key: b}]}`, false)
	f(`{Condition: IsGreaterThanOrEqual, Values: [{Key: a}, {KeyPath: num}]}`, true)
	f(`{Condition: Equals, Values: [{Key: a}, {Key: a}]}`, true)
	f(`{Condition: Equals, Values: [{Key: a}, {Key: num}]}`, false) // number vs string
	f(`{Condition: DoesNotEqual, Values: [{Key: a}, {Key: b}]}`, true)
	f(`{Condition: IEquals, Values: [{Key: s}, {Key: t}]}`, true)
	f(`{Condition: Equals, Values: [{Key: s}, {Key: t}]}`, false)
	f(`{Condition: StartsWith, Values: [{Key: s}, {Key: u}]}`, true)
	f(`{Condition: Contains, Values: [{Key: u}, {Key: s}]}`, false)
	f(`{Condition: IsIPAddressInCIDR, Values: [{Key: ip}, {Key: net}]}`, true)
	f(`{Condition: IsIPAddressInCIDR, Values: [{Key: ip}, {Key: s}]}`, false) // operand not a CIDR
	f(`{Condition: Equals, Values: [{Key: z}, {Key: z}]}`, true)              // null == null
	f(`{Condition: IsGreaterThan, Values: [{KeyPath: "xs[*].n"}, {Key: a}]}`, true)
	f(`{Condition: IsGreaterThan, Values: [{Key: a}, {KeyPath: "xs[*].n"}]}`, true)
	f(`{Condition: IsGreaterThan, Values: [{Key: b}, {KeyPath: "xs[*].n"}]}`, true)
	f(`{Condition: IsGreaterThan, Values: [{Key: nope}, {Key: a}]}`, false)
	f(`{Condition: DoesNotEqual, Values: [{Key: nope}, {Key: a}]}`, true)
	f(`{Condition: DoesNotEqual, Values: [{Key: a}, {Key: nope}]}`, true)
}

func TestListComprehension(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	any1 := `[{KeyPath: type, Condition: Equals, Value: AppUser}]`
	none := `[{KeyPath: type, Condition: Equals, Value: Group}]`
	both := `[{KeyPath: type, Condition: StartsWith, Value: App}]`
	f(`{KeyPath: target, Condition: AnyElement, Expressions: `+any1+`}`, true)
	f(`{KeyPath: target, Condition: AnyElement, Expressions: `+none+`}`, false)
	f(`{KeyPath: target, Condition: AllElements, Expressions: `+both+`}`, true)
	f(`{KeyPath: target, Condition: AllElements, Expressions: `+any1+`}`, false)
	f(`{KeyPath: target, Condition: OnlyOneElement, Expressions: `+any1+`}`, true)
	f(`{KeyPath: target, Condition: OnlyOneElement, Expressions: `+both+`}`, false)
	f(`{KeyPath: target, Condition: OnlyOneElement, Expressions: `+none+`}`, false)
	f(`{KeyPath: target, Condition: NoElement, Expressions: `+none+`}`, true)
	f(`{KeyPath: target, Condition: NoElement, Expressions: `+any1+`}`, false)
	// Inner expressions are ANDed and read keys relative to the element.
	f(`{KeyPath: target, Condition: AnyElement, Expressions: [{Key: type, Condition: Equals, Value: AppUser}, {Key: id, Condition: Equals, Value: t1}]}`, false)
	f(`{KeyPath: target, Condition: AnyElement, Expressions: [{Key: type, Condition: Equals, Value: AppUser}, {Key: id, Condition: Equals, Value: t2}]}`, true)
	// Empty list and non-list values.
	f(`{KeyPath: empty_list, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}`, false)
	f(`{KeyPath: empty_list, Condition: AllElements, Expressions: [{Condition: AlwaysTrue}]}`, false)
	f(`{KeyPath: empty_list, Condition: NoElement, Expressions: [{Condition: AlwaysTrue}]}`, true)
	f(`{KeyPath: eventType, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}`, false)
	// Scalar elements: keys do not resolve on them.
	f(`{KeyPath: tags, Condition: AnyElement, Expressions: [{Key: x, Condition: DoesNotExist}]}`, true)
	// Nested comprehensions and enrichment from inside one.
	ev := `{"groups": [{"name": "g1", "members": [{"u": "a"}, {"u": "b"}]}, {"name": "g2", "members": [{"u": "c"}]}],
	        "p_enrichment": {"t": {"sel": {"level": "high"}}}}`
	checkMatch(t, Compile, `{KeyPath: groups, Condition: AnyElement, Expressions: [
	  {KeyPath: members, Condition: AnyElement, Expressions: [{Key: u, Condition: Equals, Value: c}]},
	  {Key: name, Condition: Equals, Value: g2}]}`, ev, true)
	checkMatch(t, Compile, `{KeyPath: groups, Condition: AllElements, Expressions: [
	  {KeyPath: members, Condition: OnlyOneElement, Expressions: [{Key: u, Condition: IsIn, Values: [a, c]}]}]}`, ev, true)
	checkMatch(t, Compile, `{KeyPath: groups, Condition: AnyElement, Expressions: [
	  {Enrichment: {Table: t, Selector: sel, FieldPath: level}, Condition: Equals, Value: high}]}`, ev, true)
	// Wildcard paths yielding several lists are taken together.
	checkMatch(t, Compile, `{KeyPath: "groups[*].members", Condition: OnlyOneElement, Expressions: [{Key: u, Condition: Equals, Value: c}]}`, ev, true)
	checkMatch(t, Compile, `{KeyPath: "groups[*].members", Condition: AllElements, Expressions: [{Key: u, Condition: IsIn, Values: [a, b, c]}]}`, ev, true)
}

func TestCombinators(t *testing.T) {
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, okta, want)
	}
	T := `{Condition: AlwaysTrue}`
	F := `{Condition: AlwaysFalse}`
	f(`[`+T+`, `+T+`]`, true)
	f(`[`+T+`, `+F+`]`, false)
	f(`{All: [`+T+`, `+T+`]}`, true)
	f(`{All: [`+T+`, `+F+`]}`, false)
	f(`{Any: [`+F+`, `+T+`]}`, true)
	f(`{Any: [`+F+`, `+F+`]}`, false)
	f(`{OnlyOne: [`+F+`, `+T+`, `+F+`]}`, true)
	f(`{OnlyOne: [`+T+`, `+T+`, `+F+`]}`, false)
	f(`{OnlyOne: [`+F+`, `+F+`]}`, false)
	f(`{None: [`+F+`, `+F+`]}`, true)
	f(`{None: [`+F+`, `+T+`]}`, false)
	// Nesting.
	f(`{Any: [{All: [`+T+`, `+F+`]}, {None: [`+F+`]}]}`, true)
	f(`{All: [{Any: [`+F+`, {OnlyOne: [`+T+`]}]}, {None: [{Any: [`+F+`]}]}]}`, true)
	f(`- KeyPath: eventType
  Condition: StartsWith
  Value: user.
- Any:
    - KeyPath: outcome.result
      Condition: Equals
      Value: SUCCESS
    - All:
        - KeyPath: outcome.reason
          Condition: Contains
          Value: CREDENTIALS
        - KeyPath: client.ipAddress
          Condition: IsIPAddressInCIDR
          Value: 203.0.113.0/24`, true)
}

func TestEnrichment(t *testing.T) {
	ev := `{
	  "sourceIPAddress": "198.51.100.7",
	  "p_enrichment": {
	    "ipinfo_location": {"sourceIPAddress": {"country": "NZ", "city": "Auckland", "geo": {"lat": -36.8}}},
	    "Tor Exit Nodes": {"sourceIPAddress": [{"node": "a"}, {"node": "b"}]}
	  }
	}`
	f := func(expr string, want bool) {
		t.Helper()
		checkMatch(t, Compile, expr, ev, want)
	}
	f(`{Enrichment: {Table: ipinfo_location, Selector: sourceIPAddress, FieldPath: country}, Condition: Equals, Value: NZ}`, true)
	f(`{Enrichment: {Table: ipinfo_location, Selector: sourceIPAddress, FieldPath: country}, Condition: IsNotIn, Values: [US, CA]}`, true)
	f(`{Enrichment: {Table: ipinfo_location, Selector: sourceIPAddress, FieldPath: geo.lat}, Condition: IsLessThan, Value: 0}`, true)
	f(`{Enrichment: {Table: IPINFO_LOCATION, Selector: sourceipaddress, FieldPath: City}, Condition: Equals, Value: Auckland}`, true)
	f(`{Enrichment: {Table: ipinfo_location, Selector: sourceIPAddress}, Condition: Exists}`, true)
	f(`{Enrichment: {Table: ipinfo_location, Selector: other, FieldPath: country}, Condition: Exists}`, false)
	f(`{Enrichment: {Table: missing, Selector: sourceIPAddress, FieldPath: country}, Condition: DoesNotExist}`, true)
	f(`{Enrichment: {Table: missing, Selector: sourceIPAddress, FieldPath: country}, Condition: Equals, Value: NZ}`, false)
	// A list of rows: FieldPath is read from each.
	f(`{Enrichment: {Table: Tor Exit Nodes, Selector: sourceIPAddress, FieldPath: node}, Condition: Equals, Value: b}`, true)
	f(`{Enrichment: {Table: Tor Exit Nodes, Selector: sourceIPAddress, FieldPath: node}, Condition: IsNotIn, Values: [a]}`, false)
	checkMatch(t, Compile, `{Enrichment: {Table: t, Selector: s, FieldPath: x}, Condition: Exists}`, `{"a": 1}`, false)
}

func TestCompileErrors(t *testing.T) {
	f := func(expr, want string) {
		t.Helper()
		_, err := Compile(exprList(t, expr))
		if err == nil {
			t.Errorf("compile %s: no error, want %q", expr, want)
			return
		}
		if err.Error() != want {
			t.Errorf("compile %s:\n got %q\nwant %q", expr, err.Error(), want)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("compile %s: error %T is not an *Error", expr, err)
		}
	}
	f(`{KeyPath: a, Condition: Equal, Value: x}`, `Detection[0]: unknown Condition "Equal" (did you mean "Equals"?)`)
	f(`[{Condition: AlwaysTrue}, {Any: [{KeyPath: a, Condition: Equal, Value: x}]}]`, `Detection[1].Any[0]: unknown Condition "Equal" (did you mean "Equals"?)`)
	f(`{KeyPath: a, Condition: isgreaterthan, Value: 1}`, `Detection[0]: unknown Condition "isgreaterthan" (did you mean "IsGreaterThan"?)`)
	f(`{KeyPath: a, Condition: Frobnicate, Value: 1}`, `Detection[0]: unknown Condition "Frobnicate"`)
	f(`{KeyPath: a, Condition: 3}`, `Detection[0]: Condition must be a string, got the number 3`)
	f(`{KeyPath: a, Condition: IsIn, Value: x, Values: [x]}`, `Detection[0]: Value and Values are mutually exclusive`)
	f(`{KeyPath: a, Conditon: Equals, Value: x}`, `Detection[0]: unknown key "Conditon" (did you mean "Condition"?)`)
	f(`{Keypath: a, Condition: Exists}`, "Detection[0]: unknown key \"Keypath\" (did you mean \"KeyPath\"?)\nDetection[0]: Exists needs a key specifier (Key, DeepKey, KeyPath or Enrichment)")
	f(`{KeyPath: a, Value: x}`, `Detection[0]: missing Condition`)
	f(`{Key: a, KeyPath: a, Condition: Exists}`, `Detection[0]: Key and KeyPath are mutually exclusive`)
	f(`{Key: a, DeepKey: [a], KeyPath: a, Condition: Exists}`, `Detection[0]: Key, DeepKey and KeyPath are mutually exclusive`)
	f(`{Key: "", Condition: Exists}`, `Detection[0]: Key must be a non-empty string, got the string ""`)
	f(`{Key: [a], Condition: Exists}`, `Detection[0]: Key must be a non-empty string, got a list`)
	f(`{DeepKey: [], Condition: Exists}`, `Detection[0]: DeepKey must be a non-empty list of keys, got a list`)
	f(`{DeepKey: a, Condition: Exists}`, `Detection[0]: DeepKey must be a non-empty list of keys, got the string "a"`)
	f(`{DeepKey: [a, [b]], Condition: Exists}`, `Detection[0].DeepKey[1]: a key must be a string, got a list`)
	f(`{KeyPath: 3, Condition: Exists}`, `Detection[0]: KeyPath must be a string, got the number 3`)
	f(`{KeyPath: "a..b", Condition: Exists}`, `Detection[0]: invalid KeyPath "a..b": empty key at offset 2`)
	f(`{KeyPath: "a.", Condition: Exists}`, `Detection[0]: invalid KeyPath "a.": empty key at offset 2`)
	f(`{KeyPath: ".a", Condition: Exists}`, `Detection[0]: invalid KeyPath ".a": empty key at offset 0`)
	f(`{KeyPath: "a[0", Condition: Exists}`, `Detection[0]: invalid KeyPath "a[0": unclosed "[" at offset 1`)
	f(`{KeyPath: "a[x]", Condition: Exists}`, `Detection[0]: invalid KeyPath "a[x]": bad index "x" at offset 1: want a number, * or a quoted key`)
	f(`{KeyPath: "a]", Condition: Exists}`, `Detection[0]: invalid KeyPath "a]": unexpected ']' at offset 1`)
	f(`{KeyPath: "a[0]b", Condition: Exists}`, `Detection[0]: invalid KeyPath "a[0]b": unexpected 'b' at offset 4`)
	f(`{KeyPath: "a.[0]", Condition: Exists}`, `Detection[0]: invalid KeyPath "a.[0]": empty key at offset 2`)
	f(`{KeyPath: "a['b]", Condition: Exists}`, `Detection[0]: invalid KeyPath "a['b]": unterminated quoted key at offset 1`)
	f(`{KeyPath: "a['b'c]", Condition: Exists}`, `Detection[0]: invalid KeyPath "a['b'c]": want "]" after quoted key at offset 5`)
	f(`{KeyPath: "$", Condition: Exists}`, `Detection[0]: invalid KeyPath "$": empty path`)
	f(`{KeyPath: a, Condition: Equals}`, `Detection[0]: Equals needs Value`)
	f(`{Condition: Equals, Value: x}`, `Detection[0]: Equals needs a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(`{KeyPath: a, Condition: Equals, Values: [x]}`, `Detection[0]: Equals takes Value, not Values (Values is for IsIn and IsNotIn, or for comparing two keys without a key specifier)`)
	f(`{KeyPath: a, Condition: Equals, Value: [x]}`, `Detection[0]: Equals needs a string, number, boolean or null Value, got a list`)
	f(`{KeyPath: a, Condition: StartsWith, Value: 12}`, `Detection[0]: StartsWith needs a string Value (quote numbers and booleans), got the number 12`)
	f(`{KeyPath: a, Condition: IsGreaterThan, Value: abc}`, `Detection[0]: IsGreaterThan needs a numeric Value, got the string "abc"`)
	f(`{KeyPath: a, Condition: IsLessThan, Value: true}`, `Detection[0]: IsLessThan needs a numeric Value, got true`)
	f(`{KeyPath: a, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/33}`, `Detection[0]: IsIPAddressInCIDR needs a CIDR block Value such as "10.0.0.0/8", got the string "10.0.0.0/33"`)
	f(`{KeyPath: a, Condition: CIDRContainsIPAddress, Value: 10.0.0.0/8}`, `Detection[0]: CIDRContainsIPAddress needs an IP address Value such as "192.0.2.1", got the string "10.0.0.0/8"`)
	f(`{KeyPath: a, Condition: IsIn, Value: x}`, `Detection[0]: IsIn takes Values (a list), not Value`)
	f(`{KeyPath: a, Condition: IsNotIn}`, `Detection[0]: IsNotIn needs Values, the list to look in`)
	f(`{KeyPath: a, Condition: IsIn, Values: []}`, `Detection[0]: Values must be a non-empty list, got a list`)
	f(`{KeyPath: a, Condition: IsIn, Values: x}`, `Detection[0]: Values must be a non-empty list, got the string "x"`)
	f(`{KeyPath: a, Condition: IsIn, Values: [x, {a: b}]}`, `Detection[0].Values[1]: must be a string, number, boolean or null, got a mapping`)
	f(`{Condition: IsIn, Values: [x]}`, `Detection[0]: IsIn needs a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(`{KeyPath: a, Condition: Exists, Value: x}`, `Detection[0]: Exists takes no Value or Values`)
	f(`{KeyPath: a, Condition: IsIPAddress, Values: [x]}`, `Detection[0]: IsIPAddress takes no Value or Values`)
	f(`{Condition: IsNull}`, `Detection[0]: IsNull needs a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(`{Condition: AlwaysTrue, KeyPath: a}`, `Detection[0]: AlwaysTrue takes no key specifier, Value or Values`)
	f(`{Condition: AlwaysFalse, Value: 1}`, `Detection[0]: AlwaysFalse takes no key specifier, Value or Values`)
	f(`{KeyPath: a, Condition: Equals, Value: x, Expressions: []}`, `Detection[0]: Expressions is only valid with the AnyElement, AllElements, OnlyOneElement and NoElement conditions, not Equals`)
	f(`{KeyPath: a, Condition: AnyElement}`, `Detection[0]: AnyElement needs Expressions, the match expressions to test on each element`)
	f(`{Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}`, `Detection[0]: AnyElement needs a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(`{KeyPath: a, Condition: AllElements, Value: 1, Expressions: [{Condition: AlwaysTrue}]}`, `Detection[0]: AllElements takes no Value or Values`)
	f(`{KeyPath: a, Condition: NoElement, Expressions: []}`, `Detection[0].Expressions: must be a non-empty list of match expressions`)
	f(`{KeyPath: a, Condition: AnyElement, Expressions: [{Key: b, Condition: Equalz, Value: 1}]}`, `Detection[0].Expressions[0]: unknown Condition "Equalz" (did you mean "Equals"?)`)
	f(`{Condition: Equals, Values: [{Key: a}]}`, `Detection[0]: a multi-key Equals needs exactly 2 key specifiers in Values, got 1`)
	f(`{Condition: Equals, Values: [{Key: a}, {Key: b}, {Key: c}]}`, `Detection[0]: a multi-key Equals needs exactly 2 key specifiers in Values, got 3`)
	f(`{Condition: Equals, Values: [{Key: a}, x]}`, `Detection[0].Values[1]: expected a key specifier such as {KeyPath: a.b}, got the string "x"`)
	f(`{Condition: Equals, Values: [{Key: a}, {Keypath: b}]}`, `Detection[0].Values[1]: unknown key "Keypath" (did you mean "KeyPath"?)`)
	f(`{Condition: Equals, Values: [{Key: a}, {}]}`, `Detection[0].Values[1]: expected a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(`{Condition: Equals, Values: x}`, `Detection[0]: Values must be a list, got the string "x"`)
	f(`{Condition: Equals, Values: [{Key: a}, {KeyPath: "b..c"}]}`, `Detection[0].Values[1]: invalid KeyPath "b..c": empty key at offset 2`)
	f(`{Any: []}`, `Detection[0].Any: must be a non-empty list of match expressions`)
	f(`{All: x}`, `Detection[0].All: must be a list of match expressions, got the string "x"`)
	f(`{Any: [{Condition: AlwaysTrue}], All: [{Condition: AlwaysTrue}]}`, `Detection[0]: All and Any are mutually exclusive; nest them`)
	f(`{Any: [{Condition: AlwaysTrue}], Condition: AlwaysTrue}`, `Detection[0]: Any cannot be combined with other keys ("Condition"); wrap the expression in the Any list`)
	f(`{None: [{OnlyOne: [{Condition: AlwaysTru}]}]}`, `Detection[0].None[0].OnlyOne[0]: unknown Condition "AlwaysTru" (did you mean "AlwaysTrue"?)`)
	f(`[x]`, `Detection[0]: expected a match expression (a mapping), got the string "x"`)
	f(`x`, `Detection: must be a list of match expressions, got the string "x"`)
	f(`[]`, `Detection: must be a non-empty list of match expressions`)
	f(`{Enrichment: x, Condition: Exists}`, `Detection[0].Enrichment: must be a mapping with Table, Selector and FieldPath, got the string "x"`)
	f(`{Enrichment: {Table: t}, Condition: Exists}`, `Detection[0].Enrichment: missing Selector`)
	f(`{Enrichment: {Table: t, Selector: "", FieldPath: x}, Condition: Exists}`, `Detection[0].Enrichment: Selector must be a non-empty string, got the string ""`)
	f(`{Enrichment: {Table: t, Selector: s, Fieldpath: x}, Condition: Exists}`, `Detection[0].Enrichment: unknown key "Fieldpath" (did you mean "FieldPath"?)`)
	f(`{Enrichment: {Table: t, Selector: s, FieldPath: "x..y"}, Condition: Exists}`, `Detection[0].Enrichment: invalid FieldPath "x..y": empty key at offset 2`)
	f(`{Enrichment: {Table: t, Selector: s}, KeyPath: a, Condition: Exists}`, `Detection[0]: KeyPath and Enrichment are mutually exclusive`)
	// Several errors are all reported, one a line.
	f(`[{KeyPath: a, Condition: Equal, Value: x}, {KeyPath: b, Condition: IsIn}]`,
		"Detection[0]: unknown Condition \"Equal\" (did you mean \"Equals\"?)\nDetection[1]: IsIn needs Values, the list to look in")
}

func TestCompileErrorsRoot(t *testing.T) {
	_, err := CompileInlineFilters(exprList(t, `{KeyPath: a, Condition: Equal, Value: x}`))
	if err == nil || err.Error() != `InlineFilters[0]: unknown Condition "Equal" (did you mean "Equals"?)` {
		t.Errorf("got %v", err)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "InlineFilters[0]" {
		t.Errorf("errors.As Errors: %#v", es)
	}
}

func TestYAMLMapAnyAny(t *testing.T) {
	// Some YAML decoders produce map[any]any.
	expr := []any{map[any]any{"Key": "a", "Condition": "Equals", "Value": 1}}
	m, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match(map[string]any{"a": 1.0}) || m.Match(map[string]any{"a": 2}) {
		t.Error("map[any]any expression mis-evaluated")
	}
	if !m.Match(map[string]any{"a": json.Number("1")}) || !m.Match(map[string]any{"a": int64(1)}) {
		t.Error("numeric kinds not compared as numbers")
	}
	if _, err := Compile([]any{map[any]any{1: "a"}}); err == nil {
		t.Error("non-string keys should fail")
	}
}

func TestConditionNames(t *testing.T) {
	names := ConditionNames()
	if len(names) != len(conditionList) {
		t.Fatalf("got %d names", len(names))
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("duplicate condition %s", n)
		}
		seen[n] = true
	}
	// Every condition is documented in docs/simple-detections.md.
	doc, err := readDoc()
	if err != nil {
		t.Skip(err)
	}
	for _, n := range names {
		if !bytes.Contains(doc, []byte("`"+n+"`")) {
			t.Errorf("condition %s missing from docs/simple-detections.md", n)
		}
	}
}
