package logtypes

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// oktaEvents builds n realistic, varied Okta System Log events
// deterministically: sign-ins that succeed and fail, MFA, SSO, admin and
// lifecycle events, with 0–3 targets, 1–2 hops of ipChain and
// event-specific debugData. Sizes range from about 1 KB to 2.5 KB.
func oktaEvents(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	users := []string{"jane.doe", "john.smith", "a.kumar", "li.wei", "maria.garcia", "admin", "svc-backup", "o.okafor"}
	type kind struct{ eventType, legacy, display, result, reason, severity string }
	kinds := []kind{
		{"user.session.start", "core.user_auth.login_success", "User login to Okta", "SUCCESS", "null", "INFO"},
		{"user.session.start", "core.user_auth.login_failed", "User login to Okta", "FAILURE", `"INVALID_CREDENTIALS"`, "WARN"},
		{"user.authentication.auth_via_mfa", "core.user.factor.attempt_success", "Authentication of user via MFA", "SUCCESS", "null", "INFO"},
		{"user.authentication.sso", "app.auth.sso", "User single sign on to app", "SUCCESS", "null", "INFO"},
		{"policy.evaluate_sign_on", "null", "Evaluation of sign-on policy", "CHALLENGE", `"Sign-on policy evaluation resulted in CHALLENGE"`, "INFO"},
		{"user.account.lock", "core.user.account.locked", "Max sign in attempts exceeded", "SUCCESS", "null", "WARN"},
		{"user.mfa.factor.deactivate", "core.user.factor.deactivate", "Reset factor for user", "SUCCESS", "null", "INFO"},
		{"group.user_membership.add", "core.user_group_member.user_add", "Add user to group membership", "SUCCESS", "null", "INFO"},
		{"system.api_token.create", "api.token.create", "Create API token", "SUCCESS", "null", "INFO"},
		{"user.lifecycle.deactivate", "core.user.config.user_deactivated", "Deactivate Okta user", "SUCCESS", "null", "INFO"},
	}
	agents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"okta-sdk-java/8.2.1 java/17.0.9 Linux/5.15.0",
		"python-requests/2.31.0",
	}
	geos := []string{
		`{"city":"Ashburn","state":"Virginia","country":"United States","postalCode":"20149","geolocation":{"lat":39.0469,"lon":-77.4903}}`,
		`{"city":"Denver","state":"Colorado","country":"United States","postalCode":"80202","geolocation":{"lat":39.7525,"lon":-104.9995}}`,
		`{"city":"Frankfurt am Main","state":"Hesse","country":"Germany","postalCode":"60311","geolocation":{"lat":50.1109,"lon":8.6821}}`,
		`{"city":"São Paulo","state":"São Paulo","country":"Brazil","postalCode":"01000-000","geolocation":{"lat":-23.5505,"lon":-46.6333}}`,
	}
	base := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		k := kinds[rng.IntN(len(kinds))]
		user := users[rng.IntN(len(users))]
		ip := fmt.Sprintf("%d.%d.%d.%d", 198+rng.IntN(6), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
		geo := geos[rng.IntN(len(geos))]
		ts := base.Add(time.Duration(i)*1713*time.Millisecond + time.Duration(rng.IntN(1000))*time.Millisecond)
		reqID := fmt.Sprintf("Z8c%06x%06xAAB%03d", rng.IntN(1<<24), rng.IntN(1<<24), rng.IntN(1000))
		var b strings.Builder
		fmt.Fprintf(&b, `{"actor":{"id":"00u%012x","type":"User","alternateId":"%s@example.com","displayName":"%s","detailEntry":null},`,
			rng.Uint64()&0xffffffffffff, user, strings.ToUpper(user[:1])+user[1:])
		fmt.Fprintf(&b, `"client":{"userAgent":{"rawUserAgent":%q,"os":%q,"browser":%q},"zone":"null","device":"Computer","id":null,"ipAddress":"%s","geographicalContext":%s},`,
			agents[rng.IntN(len(agents))], pick("Windows 10", "Mac OS X", "iOS", "Linux"), pick("CHROME", "SAFARI", "UNKNOWN"), ip, geo)
		b.WriteString(`"device":null,`)
		fmt.Fprintf(&b, `"authenticationContext":{"authenticationProvider":null,"credentialProvider":%s,"credentialType":%s,"issuer":null,"interface":null,"authenticationStep":0,"rootSessionId":"idx%022x","externalSessionId":"idx%022x"},`,
			pick("null", `"OKTA_CREDENTIAL_PROVIDER"`), pick("null", `"PASSWORD"`, `"OTP"`), rng.Uint64(), rng.Uint64())
		fmt.Fprintf(&b, `"displayMessage":%q,"eventType":%q,"outcome":{"result":%q,"reason":%s},"published":"%s",`,
			k.display, k.eventType, k.result, k.reason, ts.Format("2006-01-02T15:04:05.000Z"))
		fmt.Fprintf(&b, `"securityContext":{"asNumber":%d,"asOrg":%q,"isp":%q,"domain":%q,"isProxy":%t},"severity":%q,`,
			1000+rng.IntN(60000), pick("comcast", "amazon data services nova", "deutsche telekom ag"), pick("comcast", "amazon.com inc.", "telekom"),
			pick("comcast.net", "amazonaws.com", "t-ipconnect.de"), rng.IntN(10) == 0, k.severity)
		fmt.Fprintf(&b, `"debugContext":{"debugData":{"requestId":%q,"requestUri":%q,"url":%q,"threatSuspected":"%t"`,
			reqID, pick("/idp/idx/identify", "/api/v1/authn", "/app/salesforce/sso/saml"), pick("/idp/idx/identify?", "/api/v1/authn?", "/app/salesforce/sso/saml?SAMLRequest=fVLLbtswEPwVgXeJlE"), rng.IntN(20) == 0)
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, `,"dtHash":"%064x","risk":"{level=%s, reasons=Anomalous Device, Anomalous Location}","behaviors":"{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=POSITIVE}"`,
				rng.Uint64(), pick("LOW", "MEDIUM", "HIGH"))
		}
		b.WriteString(`}},`)
		fmt.Fprintf(&b, `"legacyEventType":%s,"transaction":{"type":"WEB","id":%q,"detail":{}},"uuid":"%08x-%04x-11ef-%04x-%012x","version":"0",`,
			quoteOrNull(k.legacy), reqID, rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<16), rng.Uint64()&0xffffffffffff)
		fmt.Fprintf(&b, `"request":{"ipChain":[{"ip":"%s","geographicalContext":%s,"version":"V4","source":null}`, ip, geo)
		if rng.IntN(4) == 0 {
			fmt.Fprintf(&b, `,{"ip":"10.%d.%d.%d","geographicalContext":null,"version":"V4","source":null}`, rng.IntN(256), rng.IntN(256), rng.IntN(256))
		}
		b.WriteString(`]},"target":[`)
		for t := range rng.IntN(4) {
			if t > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"0oa%017x","type":%q,"alternateId":%q,"displayName":%q,"detailEntry":null}`,
				rng.Uint64()&0xfffffffffffffff, pick("AppInstance", "User", "UserGroup", "AuthenticatorEnrollment"),
				pick("Okta Dashboard", "salesforce", users[rng.IntN(len(users))]+"@example.com", "unknown"), pick("Okta Dashboard", "Salesforce.com", "Password", "Engineering"))
		}
		b.WriteString(`]}`)
		out[i] = []byte(b.String())
	}
	return out
}

func quoteOrNull(s string) string {
	if s == "null" {
		return s
	}
	return fmt.Sprintf("%q", s)
}

func avgSize(events [][]byte) int64 {
	total := 0
	for _, e := range events {
		total += len(e)
	}
	return int64(total / len(events))
}

// BenchmarkNormalize measures Normalize on realistic Okta events, next to a
// baseline that only decodes the same events with encoding/json into
// map[string]any (no checks, no p_ fields, no output). The parallel variants
// run one normalizer per goroutine on every core.
func BenchmarkNormalize(b *testing.B) {
	events := oktaEvents(256)
	size := avgSize(events)
	reg := NewRegistry()
	meta := Meta{SourceID: "okta-prod", SourceLabel: "Okta", ParseTime: time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)}
	perEvent := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}

	b.Run("prowl", func(b *testing.B) {
		n := reg.NewNormalizer()
		b.SetBytes(size)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := n.Normalize("Okta.SystemLog", events[i%len(events)], meta); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
	b.Run("prowl/NormalizeTo", func(b *testing.B) {
		n := reg.NewNormalizer()
		b.SetBytes(size)
		b.ReportAllocs()
		buf := make([]byte, 0, 64<<10)
		for i := 0; b.Loop(); i++ {
			if len(buf) > 60<<10 {
				buf = buf[:0]
			}
			ev, err := n.NormalizeTo(buf, "Okta.SystemLog", events[i%len(events)], meta)
			if err != nil {
				b.Fatal(err)
			}
			buf = buf[:len(buf)+len(ev.JSON)]
		}
		perEvent(b)
	})
	b.Run("baseline=encoding/json", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var m map[string]any
			if err := json.Unmarshal(events[i%len(events)], &m); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
	b.Run("prowl/parallel", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := reg.NewNormalizer()
			for i := 0; pb.Next(); i++ {
				if _, err := n.Normalize("Okta.SystemLog", events[i%len(events)], meta); err != nil {
					b.Error(err)
					return
				}
			}
		})
		perEvent(b)
	})
	b.Run("baseline=encoding/json/parallel", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				var m map[string]any
				if err := json.Unmarshal(events[i%len(events)], &m); err != nil {
					b.Error(err)
					return
				}
			}
		})
		perEvent(b)
	})
}
