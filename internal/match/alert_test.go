package match

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestAlertEvaluate(t *testing.T) {
	f := func(spec AlertSpec, event string, want AlertOutput) {
		t.Helper()
		a, err := CompileAlert(spec)
		if err != nil {
			t.Errorf("CompileAlert(%+v): %v", spec, err)
			return
		}
		for _, useNumber := range []bool{false, true} {
			got := a.Evaluate(parseEvent(t, event, useNumber))
			// jsondec decodes numbers as encoding/json does with UseNumber.
			if useNumber {
				if only := a.Evaluate(selected(t, event, a.Reads())); !reflect.DeepEqual(only, got) {
					t.Errorf("spec %+v: %+v on what it reads of the event, %+v on the whole event", spec, only, got)
				}
			}
			if want.Context == nil {
				want.Context = map[string]any{}
			}
			// Compare contexts through JSON so float64 and json.Number agree.
			gc, _ := json.Marshal(got.Context)
			wc, _ := json.Marshal(want.Context)
			if got.Title != want.Title || got.Dedup != want.Dedup || got.Severity != want.Severity || string(gc) != string(wc) {
				t.Errorf("spec %+v (UseNumber=%v):\n got %q %q %q %s\nwant %q %q %q %s", spec, useNumber,
					got.Title, got.Dedup, got.Severity, gc, want.Title, want.Dedup, want.Severity, wc)
			}
		}
	}
	y := func(s string) any { return parseYAML(t, s) }

	// Defaults: title is DisplayName, else RuleID; dedup as Python rules
	// without title() and dedup().
	f(AlertSpec{RuleID: "Okta.Login", DisplayName: "Okta Login", Severity: "high"}, okta,
		AlertOutput{Title: "Okta Login", Dedup: "defaultDedupString:Okta.Login", Severity: "HIGH"})
	f(AlertSpec{RuleID: "Okta.Login", Severity: "Info"}, okta,
		AlertOutput{Title: "Okta.Login", Dedup: "defaultDedupString:Okta.Login", Severity: "INFO"})
	f(AlertSpec{RuleID: "R"}, okta, AlertOutput{Title: "R", Dedup: "defaultDedupString:R"})

	// AlertTitle interpolation; dedup defaults to the title.
	f(AlertSpec{RuleID: "R", Title: "Login by {actor.alternateId} from [{client.ipAddress}]"}, okta,
		AlertOutput{Title: "Login by Alice@Example.com from [203.0.113.9]", Dedup: "Login by Alice@Example.com from [203.0.113.9]"})
	f(AlertSpec{RuleID: "R", Title: "{ eventType }: {target[0].alternateId}, {target[-1].id}"}, okta,
		AlertOutput{Title: "user.session.start: Salesforce, t2", Dedup: "user.session.start: Salesforce, t2"})
	f(AlertSpec{RuleID: "R", Title: "types {target[*].type}"}, okta,
		AlertOutput{Title: "types AppInstance, AppUser", Dedup: "types AppInstance, AppUser"})
	f(AlertSpec{RuleID: "R", Title: "missing [{nope.x}] null [{client.zone}] n={securityContext.asNumber} r={ratio} b={securityContext.isProxy}"}, okta,
		AlertOutput{Title: "missing [] null [] n=64496 r=0.5 b=false", Dedup: "missing [] null [] n=64496 r=0.5 b=false"})
	f(AlertSpec{RuleID: "R", Title: "tags={tags} ua={client.userAgent}"}, okta,
		AlertOutput{Title: `tags=["mfa","VPN"] ua={"os":"Mac OS X","rawUserAgent":"Mozilla/5.0"}`, Dedup: `tags=["mfa","VPN"] ua={"os":"Mac OS X","rawUserAgent":"Mozilla/5.0"}`})
	f(AlertSpec{RuleID: "R", Title: "{{literal}} {{{eventType}}} }"}, okta,
		AlertOutput{Title: "{literal} {user.session.start} }", Dedup: "{literal} {user.session.start} }"})
	f(AlertSpec{RuleID: "R", Title: "case {ACTOR.DISPLAYNAME}"}, okta,
		AlertOutput{Title: "case Alice", Dedup: "case Alice"})

	// GroupBy.
	f(AlertSpec{RuleID: "R", Title: "T {eventType}", GroupBy: y(`[{KeyPath: actor.alternateId}]`)}, okta,
		AlertOutput{Title: "T user.session.start", Dedup: "Alice@Example.com"})
	f(AlertSpec{RuleID: "R", GroupBy: y(`[{KeyPath: actor.alternateId}, {Key: eventType}, {DeepKey: [client, ipAddress]}]`)}, okta,
		AlertOutput{Title: "R", Dedup: "Alice@Example.com:user.session.start:203.0.113.9"})
	f(AlertSpec{RuleID: "R", GroupBy: y(`[{KeyPath: nope}, {Key: eventType}]`)}, okta,
		AlertOutput{Title: "R", Dedup: ":user.session.start"})
	f(AlertSpec{RuleID: "R", GroupBy: y(`[{KeyPath: "target[*].id"}]`)}, okta,
		AlertOutput{Title: "R", Dedup: "t1, t2"})
	// All GroupBy values empty: fall back to the default dedup.
	f(AlertSpec{RuleID: "R", GroupBy: y(`[{KeyPath: nope}, {Key: client.zone}]`)}, okta,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R"})
	f(AlertSpec{RuleID: "R", Title: "T", GroupBy: y(`[{KeyPath: nope}]`)}, okta,
		AlertOutput{Title: "T", Dedup: "T"})

	// AlertContext.
	f(AlertSpec{RuleID: "R", Context: y(`
- KeyName: user
  KeyValue: {KeyPath: actor.alternateId}
- KeyName: ip
  KeyValue: {DeepKey: [client, ipAddress]}
- KeyName: outcome
  KeyValue: {Key: outcome}
- KeyName: targets
  KeyValue: {KeyPath: "target[*].id"}
- KeyName: missing
  KeyValue: {KeyPath: nope}
- KeyName: asn
  KeyValue: {KeyPath: securityContext.asNumber}
`)}, okta, AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Context: map[string]any{
		"user": "Alice@Example.com", "ip": "203.0.113.9",
		"outcome": map[string]any{"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
		"targets": []any{"t1", "t2"}, "missing": nil, "asn": 64496,
	}})

	// DynamicSeverities: first match wins, else the default.
	sev := y(`
- ChangeTo: critical
  Conditions:
    - {KeyPath: outcome.result, Condition: Equals, Value: SUCCESS}
- ChangeTo: Medium
  Conditions:
    - {KeyPath: outcome.reason, Condition: Contains, Value: CREDENTIALS}
    - {KeyPath: client.ipAddress, Condition: IsIPAddressPrivate}
- ChangeTo: HIGH
  Conditions:
    - {KeyPath: outcome.reason, Condition: Contains, Value: CREDENTIALS}
`)
	f(AlertSpec{RuleID: "R", Severity: "Low", DynamicSeverities: sev}, okta,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Severity: "MEDIUM"})
	f(AlertSpec{RuleID: "R", Severity: "Low", DynamicSeverities: sev}, `{"outcome": {"result": "SUCCESS"}}`,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Severity: "CRITICAL"})
	f(AlertSpec{RuleID: "R", Severity: "Low", DynamicSeverities: sev}, `{"outcome": {"reason": "BAD_CREDENTIALS"}, "client": {"ipAddress": "8.8.8.8"}}`,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Severity: "HIGH"})
	f(AlertSpec{RuleID: "R", Severity: "Low", DynamicSeverities: sev}, `{}`,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Severity: "LOW"})
	f(AlertSpec{RuleID: "R", Severity: "Low", DynamicSeverities: y(`[{ChangeTo: DEFAULT, Conditions: [{Condition: AlwaysTrue}]}, {ChangeTo: High, Conditions: [{Condition: AlwaysTrue}]}]`)}, `{}`,
		AlertOutput{Title: "R", Dedup: "defaultDedupString:R", Severity: "LOW"})
}

func TestAlertTruncation(t *testing.T) {
	long := strings.Repeat("é", 1500)
	a, err := CompileAlert(AlertSpec{RuleID: "R", Title: "{x}", GroupBy: parseYAML(t, `[{Key: x}]`)})
	if err != nil {
		t.Fatal(err)
	}
	out := a.Evaluate(map[string]any{"x": long})
	for _, s := range []string{out.Title, out.Dedup} {
		if n := len([]rune(s)); n != 1000 || !strings.HasSuffix(s, "... (truncated)") || !strings.HasPrefix(s, "ééé") {
			t.Errorf("truncated to %d runes: %q...", n, s[:20])
		}
	}
	short := a.Evaluate(map[string]any{"x": "abc"})
	if short.Title != "abc" {
		t.Errorf("short title %q", short.Title)
	}

	// An oversized alert context is replaced by an error entry.
	a, err = CompileAlert(AlertSpec{RuleID: "R", Context: parseYAML(t, `[{KeyName: big, KeyValue: {Key: x}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	out = a.Evaluate(map[string]any{"x": strings.Repeat("a", 300*1024)})
	msg, _ := out.Context["_error"].(string)
	if len(out.Context) != 1 || !strings.Contains(msg, "bigger than maximum of [204800] characters") {
		t.Errorf("context %v", out.Context)
	}
}

func TestAlertErrors(t *testing.T) {
	f := func(spec AlertSpec, want string) {
		t.Helper()
		_, err := CompileAlert(spec)
		if err == nil {
			t.Errorf("CompileAlert(%+v): no error, want %q", spec, want)
			return
		}
		if err.Error() != want {
			t.Errorf("CompileAlert(%+v):\n got %q\nwant %q", spec, err.Error(), want)
		}
	}
	y := func(s string) any { return parseYAML(t, s) }
	f(AlertSpec{Severity: "Hgh"}, `Severity: unknown severity "Hgh" (did you mean "High"?)`)
	f(AlertSpec{Title: "oops {actor.id"}, `AlertTitle: unclosed "{" at offset 5 (write {{ for a literal brace)`)
	f(AlertSpec{Title: "oops {}"}, `AlertTitle: empty {} at offset 5 (write {{}} for literal braces)`)
	f(AlertSpec{Title: "oops { a..b }"}, `AlertTitle: invalid field {a..b} at offset 5: empty key at offset 2`)
	f(AlertSpec{GroupBy: y(`x`)}, `GroupBy: must be a non-empty list of key specifiers such as {KeyPath: a.b}, got the string "x"`)
	f(AlertSpec{GroupBy: y(`[]`)}, `GroupBy: must be a non-empty list of key specifiers such as {KeyPath: a.b}, got a list`)
	f(AlertSpec{GroupBy: y(`[eventType]`)}, `GroupBy[0]: expected a key specifier such as {KeyPath: a.b}, got the string "eventType"`)
	f(AlertSpec{GroupBy: y(`[{KeyPath: a}, {KeyPat: b}]`)}, `GroupBy[1]: unknown key "KeyPat" (did you mean "KeyPath"?)`)
	f(AlertSpec{GroupBy: y(`[{}]`)}, `GroupBy[0]: expected a key specifier (Key, DeepKey, KeyPath or Enrichment)`)
	f(AlertSpec{GroupBy: y(`[{Key: a, KeyPath: b}]`)}, `GroupBy[0]: Key and KeyPath are mutually exclusive`)
	f(AlertSpec{Context: y(`{KeyName: a}`)}, `AlertContext: must be a non-empty list of {KeyName, KeyValue}, got a mapping`)
	f(AlertSpec{Context: y(`[x]`)}, `AlertContext[0]: expected {KeyName, KeyValue}, got the string "x"`)
	f(AlertSpec{Context: y(`[{KeyValue: {Key: a}}]`)}, `AlertContext[0]: missing KeyName`)
	f(AlertSpec{Context: y(`[{KeyName: 3, KeyValue: {Key: a}}]`)}, `AlertContext[0]: KeyName must be a non-empty string, got the number 3`)
	f(AlertSpec{Context: y(`[{KeyName: a}]`)}, `AlertContext[0]: missing KeyValue`)
	f(AlertSpec{Context: y(`[{KeyName: a, KeyValue: a.b}]`)}, `AlertContext[0].KeyValue: expected a key specifier such as {KeyPath: a.b}, got the string "a.b"`)
	f(AlertSpec{Context: y(`[{KeyName: a, KeyValue: {Key: a}}, {KeyName: a, KeyValue: {Key: b}}]`)}, `AlertContext[1]: duplicate KeyName "a"`)
	f(AlertSpec{Context: y(`[{KeyName: a, Keyvalue: {Key: a}}]`)}, "AlertContext[0]: unknown key \"Keyvalue\" (did you mean \"KeyValue\"?)\nAlertContext[0]: missing KeyValue")
	f(AlertSpec{DynamicSeverities: y(`x`)}, `DynamicSeverities: must be a non-empty list of {ChangeTo, Conditions}, got the string "x"`)
	f(AlertSpec{DynamicSeverities: y(`[x]`)}, `DynamicSeverities[0]: expected {ChangeTo, Conditions}, got the string "x"`)
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: Hihg, Conditions: [{Condition: AlwaysTrue}]}]`)}, `DynamicSeverities[0]: unknown ChangeTo severity "Hihg" (did you mean "High"?)`)
	f(AlertSpec{DynamicSeverities: y(`[{Conditions: [{Condition: AlwaysTrue}]}]`)}, `DynamicSeverities[0]: missing ChangeTo`)
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: 3, Conditions: [{Condition: AlwaysTrue}]}]`)}, `DynamicSeverities[0]: ChangeTo must be a severity, got the number 3`)
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: ~, Conditions: [{Condition: AlwaysTrue}]}]`)}, `DynamicSeverities[0]: ChangeTo must be a severity, got null`)
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: High}]`)}, `DynamicSeverities[0]: missing Conditions`)
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: High, Condition: [{Condition: AlwaysTrue}]}]`)}, "DynamicSeverities[0]: unknown key \"Condition\" (did you mean \"Conditions\"?)\nDynamicSeverities[0]: missing Conditions")
	f(AlertSpec{DynamicSeverities: y(`[{ChangeTo: High, Conditions: [{Condition: AlwaysTrue}]}, {ChangeTo: Low, Conditions: [{KeyPath: a, Condition: Equal, Value: 1}]}]`)},
		`DynamicSeverities[1].Conditions[0]: unknown Condition "Equal" (did you mean "Equals"?)`)
	// Errors in several keys are all reported.
	f(AlertSpec{Severity: "x", Title: "{", GroupBy: y(`[a]`)},
		"Severity: unknown severity \"x\"\nAlertTitle: unclosed \"{\" at offset 0 (write {{ for a literal brace)\nGroupBy[0]: expected a key specifier such as {KeyPath: a.b}, got the string \"a\"")
}

func TestAlertContextNotNil(t *testing.T) {
	a, err := CompileAlert(AlertSpec{RuleID: "R"})
	if err != nil {
		t.Fatal(err)
	}
	out := a.Evaluate(map[string]any{})
	if out.Context == nil || !reflect.DeepEqual(out.Context, map[string]any{}) {
		t.Errorf("context %#v, want empty map", out.Context)
	}
}

func TestConcurrentUse(t *testing.T) {
	m, err := Compile(parseYAML(t, benchDetection))
	if err != nil {
		t.Fatal(err)
	}
	a, err := CompileAlert(AlertSpec{RuleID: "R", Title: "{actor.id}", GroupBy: parseYAML(t, `[{Key: eventType}]`),
		DynamicSeverities: parseYAML(t, `[{ChangeTo: High, Conditions: [{Condition: IsLessThan, Values: [{Key: ratio}, {KeyPath: count}]}]}]`)})
	if err != nil {
		t.Fatal(err)
	}
	event := parseEvent(t, okta, false)
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && m.Match(event) && a.Evaluate(event).Severity == "HIGH"
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent evaluation gave a wrong result")
		}
	}
}
