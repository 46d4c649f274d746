package match

import "testing"

// benchDetection is an Okta-like simple detection of about ten expressions,
// most of which must be evaluated for the sample event to match.
const benchDetection = `
- KeyPath: eventType
  Condition: IsIn
  Values: [user.session.start, user.authentication.sso, user.authentication.auth_via_mfa]
- KeyPath: outcome.result
  Condition: Equals
  Value: FAILURE
- KeyPath: outcome.reason
  Condition: IContains
  Value: credentials
- KeyPath: actor.alternateId
  Condition: IEndsWith
  Value: "@example.com"
- KeyPath: client.ipAddress
  Condition: IsIPAddressNotInCIDR
  Value: 10.0.0.0/8
- KeyPath: securityContext.asNumber
  Condition: IsGreaterThan
  Value: 1000
- KeyPath: debugContext.debugData.requestUri
  Condition: StartsWith
  Value: /api/
- KeyPath: errorCode
  Condition: DoesNotExist
- Any:
    - KeyPath: "target[*].type"
      Condition: Equals
      Value: AppUser
    - KeyPath: securityContext.isProxy
      Condition: Equals
      Value: true
- KeyPath: target
  Condition: AnyElement
  Expressions:
    - Key: alternateId
      Condition: Equals
      Value: Salesforce
`

func BenchmarkMatch(b *testing.B) {
	m, err := Compile(parseYAML(b, benchDetection))
	if err != nil {
		b.Fatal(err)
	}
	event := parseEvent(b, okta, false)
	if !m.Match(event) {
		b.Fatal("benchmark detection does not match the event")
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Match(event)
	}
}

func BenchmarkAlertEvaluate(b *testing.B) {
	a, err := CompileAlert(AlertSpec{
		RuleID:            "Okta.Login.Failure",
		Title:             "Failed login for {actor.alternateId} from {client.ipAddress}",
		GroupBy:           parseYAML(b, `[{KeyPath: actor.alternateId}]`),
		Context:           parseYAML(b, `[{KeyName: ip, KeyValue: {KeyPath: client.ipAddress}}]`),
		DynamicSeverities: parseYAML(b, `[{ChangeTo: High, Conditions: [{KeyPath: securityContext.isProxy, Condition: Equals, Value: true}]}]`),
		Severity:          "Medium",
	})
	if err != nil {
		b.Fatal(err)
	}
	event := parseEvent(b, okta, false)
	b.ReportAllocs()
	for b.Loop() {
		a.Evaluate(event)
	}
}
