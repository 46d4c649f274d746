package oktasim

import (
	"bytes"
	"encoding/json"
	"testing"
)

var sampleDoc = func() map[string]any {
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"uuid":"5b1e7c2a-f91b-11ef-9a3c-0b7d2e4f6a81","eventType":"user.session.start","severity":"WARN",
	"actor":{"id":"00u8","type":"User","alternateId":"jane.doe@example.com","displayName":"Jane Doe","detailEntry":null},
	"outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"legacyEventType":null,
	"authenticationContext":{"authenticationStep":0},
	"securityContext":{"asNumber":14618,"isProxy":false},
	"debugContext":{"debugData":{"threatSuspected":"false","requestUri":"/idp/idx/identify"}},
	"target":[{"id":"lae2","type":"AuthenticatorEnrollment"},{"id":"0oa1","type":"AppInstance","displayName":"Okta Dashboard"}]}`)))
	dec.UseNumber()
	dec.Decode(&d)
	return d
}()

func TestFilterEval(t *testing.T) {
	cases := map[string]bool{
		`eventType eq "user.session.start"`:                                        true,
		`eventType eq "USER.SESSION.START"`:                                        false,
		`eventType ne "user.session.start"`:                                        false,
		`actor.displayName co "doe"`:                                               true,
		`actor.alternateId sw "JANE"`:                                              true,
		`actor.alternateId ew "example.org"`:                                       false,
		`target.type eq "AppInstance"`:                                             true,
		`target.displayName eq "Okta Dashboard" and target.id eq "lae2"`:           true,
		`target.changeDetails pr`:                                                  false,
		`legacyEventType pr`:                                                       false,
		`legacyEventType eq null`:                                                  true,
		`actor.detailEntry eq null`:                                                true,
		`outcome.reason pr`:                                                        true,
		`severity gt "INFO"`:                                                       true,
		`severity lt "ERROR"`:                                                      true,
		`severity ge "ERROR"`:                                                      false,
		`securityContext.asNumber eq 14618`:                                        true,
		`securityContext.asNumber lt 100`:                                          false,
		`securityContext.isProxy eq false`:                                         true,
		`authenticationContext.authenticationStep eq 0`:                            true,
		`debugContext.debugData.threatSuspected eq "false"`:                        true,
		`debugContext.debugData.anything pr`:                                       false,
		`not (outcome.result eq "SUCCESS")`:                                        true,
		`eventType eq "x" or outcome.result eq "FAILURE" and severity eq "WARN"`:   true,
		`(eventType eq "x" or outcome.result eq "FAILURE") and severity eq "INFO"`: false,
		`eventType Eq "user.session.start" AnD severity Pr`:                        true,
		`client.ipAddress eq "1.2.3.4"`:                                            false,
		`client.ipAddress ne "1.2.3.4"`:                                            true,
	}
	for src, want := range cases {
		f, err := parseFilter(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := f.eval(sampleDoc); got != want {
			t.Errorf("%s = %v, want %v", src, got, want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	cases := map[string]string{
		`display_message eqq "Create okta user"`: `Unrecognized attribute operator 'eqq' at position 16`,
		`eventType eq`:                           "Expected a value at position 12",
		`eventType eq user`:                      "Invalid value 'user' at position 13",
		`eventType "x"`:                          "Unrecognized attribute operator",
		`eventType eq "x" eventType eq "y"`:      "Expected 'and' or 'or' at position 17",
		`eventType eq "x")`:                      "Unexpected ')' at position 16",
		`((eventType eq "x")`:                    "Missing ')' for '(' at position 0",
		`eventType eq "x`:                        "Unterminated string at position 13",
		`actor.alternateid eq "x"`:               "field is not valid: actor.alternateid",
		`actor.alternateId.x eq "x"`:             "field is not valid",
		`published gt "2024"`:                    "published is not supported",
		`eventType co 5`:                         "needs a quoted string",
		`and`:                                    "",
		`eventType eq "x" and`:                   "Expected an attribute",
		`not eventType eq "x"`:                   "",
		`1abc eq "x"`:                            "Invalid attribute",
	}
	for src, want := range cases {
		_, err := parseFilter(src)
		if err == nil {
			t.Errorf("%s: accepted", src)
			continue
		}
		if err.code != codeBadFilter || !bytes.Contains([]byte(err.summary), []byte(want)) {
			t.Errorf("%s: %s %q, want E0000053 containing %q", src, err.code, err.summary, want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`eventType eq "user.session.start"`, `(a eq "x" or not (b pr)) and c gt 5`,
		`target.type eq "User" AND severity ge "WARN"`, `"\"`, `((((`, `x eq "\u00e9\\"`, `debugContext.debugData.url co "a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		x, err := parseFilter(src)
		if err == nil {
			x.eval(sampleDoc)
		} else if err.code != codeBadFilter && err.code != codeBadOperator {
			t.Fatalf("%q: code %s", src, err.code)
		}
	})
}
