package gen

import (
	"fmt"
	"time"
)

// Event builders shared by the benign traffic and the attack scenarios.

// origin is where a request comes from.
type origin struct {
	Addr     address
	Agent    agent
	ClientID string // OAuth client id (or agent id); empty is null
}

// uuidEpoch is the number of 100 ns ticks between 1582-10-15 and 1970-01-01.
const uuidEpoch = 0x01B21DD213814000

// timeUUID returns a version-1 style UUID for t, as Okta's uuids are.
func timeUUID(r *rng, t time.Time) string {
	ticks := uint64(t.UnixNano()/100) + uuidEpoch + uint64(r.intn(10000))
	seq := 0x8000 | r.intn(0x4000)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%s", uint32(ticks), uint16(ticks>>32), 0x1000|uint16(ticks>>48)&0x0fff, seq, r.hex(12))
}

// requestID looks like Okta's 27-character request and transaction ids.
func requestID(r *rng) string { return r.token(21) + "gAAA" + r.token(2) }

func sessionID(r *rng) string { return "102" + r.token(22) }
func idxID(r *rng) string     { return "idx" + r.token(22) }

// newEvent fills the parts every LogEvent has. The event starts as a WEB
// transaction with no client; apply an origin or call job().
func newEvent(r *rng, t time.Time, eventType, severity, legacy, message string) *logEvent {
	reqID := requestID(r)
	return &logEvent{
		UUID: timeUUID(r, t), Published: oktaTime(t), EventType: eventType, Version: "0", Severity: severity,
		LegacyEventType: nullable(legacy), DisplayMessage: message,
		Client:                logClient{},
		AuthenticationContext: logAuthContext{},
		Outcome:               logOutcome{Result: "SUCCESS"},
		SecurityContext:       logSecurity{},
		DebugContext:          logDebugContext{DebugData: kv{{"requestId", reqID}}},
		Transaction:           logTransaction{Type: "WEB", ID: reqID, Detail: kv{}},
		Request:               logRequest{IPChain: []logIPChain{}},
	}
}

// from sets the client, network and ipChain of a web request.
func (e *logEvent) from(o origin) *logEvent {
	a := o.Addr
	e.Client = logClient{UserAgent: o.Agent.userAgent(), Zone: sp("null"), Device: sp(o.Agent.Device),
		ID: nullable(o.ClientID), IPAddress: sp(a.IP), GeographicalContext: a.Place.geo()}
	e.SecurityContext = a.Net.security()
	version := "V4"
	if a.V6 {
		version = "V6"
	}
	e.Request.IPChain = []logIPChain{{IP: a.IP, GeographicalContext: a.Place.geo(), Version: version}}
	return e
}

// job turns the event into a background job: no client, no geo, no ipChain.
func (e *logEvent) job() *logEvent {
	e.Transaction.Type = "JOB"
	e.Client = logClient{}
	e.SecurityContext = logSecurity{}
	e.Request.IPChain = []logIPChain{}
	return e
}

func (e *logEvent) by(a logActor) *logEvent { e.Actor = a; return e }

func (e *logEvent) result(result, reason string) *logEvent {
	e.Outcome = logOutcome{Result: result, Reason: nullable(reason)}
	return e
}

func (e *logEvent) targets(t ...logTarget) *logEvent { e.Target = t; return e }

// uri records the request path in debugData.
func (e *logEvent) uri(path string) *logEvent {
	e.DebugContext.DebugData = e.DebugContext.DebugData.with("requestUri", path).with("url", path+"?")
	return e
}

func (e *logEvent) debug(key string, value any) *logEvent {
	e.DebugContext.DebugData = e.DebugContext.DebugData.with(key, value)
	return e
}

// threat sets debugData.threatSuspected (Okta writes it as a string).
func (e *logEvent) threat(suspected bool) *logEvent {
	return e.debug("threatSuspected", fmt.Sprint(suspected))
}

// session binds the event to an Okta session.
func (e *logEvent) session(root, external string) *logEvent {
	e.AuthenticationContext.RootSessionID = nullable(root)
	e.AuthenticationContext.ExternalSessionID = nullable(external)
	return e
}

func (e *logEvent) credential(provider, ctype string) *logEvent {
	e.AuthenticationContext.CredentialProvider = nullable(provider)
	e.AuthenticationContext.CredentialType = nullable(ctype)
	return e
}

// behaviorText renders Okta's behavior-detection map the way debugData
// carries it; positive lists the behaviors evaluated POSITIVE.
func behaviorText(positive ...string) string {
	names := []string{"New Geo-Location", "New Device", "New IP", "New State", "New Country", "Velocity", "New City"}
	s := "{"
	for i, n := range names {
		verdict := "NEGATIVE"
		for _, p := range positive {
			if p == n {
				verdict = "POSITIVE"
			}
		}
		if i > 0 {
			s += ", "
		}
		s += n + "=" + verdict
	}
	return s + "}"
}

var dtHashes = []string{
	"9f1c3a6e0b7d4c2a8e5f1b3d7a9c0e2f4b6d8a1c3e5f7092b4d6f8a0c2e4b6d8",
	"4b7e2d9a1c6f3e8b0d5a2c7f4e9b1d6a3c8f5e0b7d2a9c4f1e6b3d8a5c0f7e2",
	"c2a8f4e0b6d2a8c4f0e6b2d8a4c0f6e2b8d4a0c6f2e8b4d0a6c2f8e4b0d6a2c8",
}

func appTarget(a *oktaApp) logTarget {
	return logTarget{ID: a.ID, Type: "AppInstance", AlternateID: a.Label, DisplayName: a.Label}
}

func passwordEnrollment(u *oktaUser) logTarget {
	return logTarget{ID: u.PasswordEnroll, Type: "AuthenticatorEnrollment", AlternateID: "unknown", DisplayName: "Password"}
}

func verifyEnrollment(u *oktaUser) logTarget {
	return logTarget{ID: u.OVEnrollment, Type: "AuthenticatorEnrollment", AlternateID: "unknown", DisplayName: "Okta Verify"}
}

// signOnFailure is a failed primary authentication. classic selects the
// Classic /api/v1/authn flow (VERIFICATION_ERROR) over the OIE identify step.
func (w *world) signOnFailure(r *rng, t time.Time, who logActor, o origin, reason string, classic bool) *logEvent {
	e := newEvent(r, t, "user.session.start", "WARN", "core.user_auth.login_failed", "User login to Okta").
		by(who).from(o).result("FAILURE", reason)
	if classic {
		e.uri("/api/v1/authn").threat(false).debug("loginResult", "VERIFICATION_ERROR")
		e.AuthenticationContext.AuthenticationProvider = sp("OKTA_AUTHENTICATION_PROVIDER")
		e.AuthenticationContext.CredentialType = sp("PASSWORD")
		e.targets(logTarget{ID: w.dashboard.ID, Type: "AppInstance", AlternateID: "Okta Dashboard", DisplayName: "Okta Dashboard"})
		return e
	}
	id := idxID(r)
	e.session(id, id).uri("/idp/idx/identify").threat(false)
	enrollment := logTarget{ID: "unknown", Type: "AuthenticatorEnrollment", AlternateID: "unknown", DisplayName: "Password"}
	if who.Type == "User" && who.ID != "unknown" {
		enrollment.ID = "lae" + who.ID[3:]
	}
	return e.targets(enrollment, appTarget(w.dashboard))
}

// signOnSuccess is user.session.start with the given behaviors.
func (w *world) signOnSuccess(r *rng, t time.Time, u *oktaUser, o origin, sess, behaviors string, threat bool) *logEvent {
	e := newEvent(r, t, "user.session.start", "INFO", "core.user_auth.login_success", "User login to Okta").
		by(u.actor()).from(o).session(sess, sess).uri("/idp/idx/authenticators/poll").threat(threat).
		debug("dtHash", pick(r, dtHashes)).debug("behaviors", behaviors).debug("risk", "{level=LOW}")
	e.AuthenticationContext.AuthenticationProvider = sp("OKTA_AUTHENTICATION_PROVIDER")
	e.AuthenticationContext.Interface = nil
	return e.targets(verifyEnrollment(u), appTarget(w.dashboard))
}

func (w *world) policyEval(r *rng, t time.Time, u *oktaUser, o origin, sess, result, behaviors string) *logEvent {
	p := w.policies[1]
	e := newEvent(r, t, "policy.evaluate_sign_on", "INFO", "", "Evaluation of sign-on policy").
		by(u.actor()).from(o).session(sess, sess).result(result, "Sign-on policy evaluation resulted in "+result).
		uri("/idp/idx/identify").threat(false).debug("behaviors", behaviors).debug("risk", "{level=LOW}")
	return e.targets(
		logTarget{ID: p.ID, Type: "PolicyEntity", AlternateID: "unknown", DisplayName: p.Name, DetailEntry: kv{{"policyType", p.Type}}},
		logTarget{ID: p.RuleID, Type: "PolicyRule", AlternateID: p.ID, DisplayName: p.Rule},
	)
}

func (w *world) pushSent(r *rng, t time.Time, u *oktaUser, o origin, sess string) *logEvent {
	return newEvent(r, t, "system.push.send_factor_verify_push", "INFO", "core.user.factor.push_verify_sent", "Push notification sent for verification").
		by(u.actor()).from(o).session(sess, sess).uri("/idp/idx/challenge").threat(false).
		targets(u.target())
}

// mfa is user.authentication.auth_via_mfa for a factor (OKTA_VERIFY_PUSH,
// TOTP or SMS).
func (w *world) mfa(r *rng, t time.Time, u *oktaUser, o origin, sess, factor, result, reason string) *logEvent {
	legacy, sev := "core.user.factor.attempt_success", "INFO"
	if result != "SUCCESS" {
		legacy, sev = "core.user.factor.attempt_fail", "WARN"
	}
	ctype := "OTP"
	if factor == "SMS" {
		ctype = "SMS"
	}
	e := newEvent(r, t, "user.authentication.auth_via_mfa", sev, legacy, "Authentication of user via MFA").
		by(u.actor()).from(o).session(sess, sess).result(result, reason).credential("OKTA_CREDENTIAL_PROVIDER", ctype).
		uri("/idp/idx/authenticators/poll").threat(false).debug("factor", factor).debug("factorIntent", "AUTHENTICATION")
	if factor == "OKTA_VERIFY_PUSH" {
		e.uri("/idp/idx/authenticators/okta-verify/launch")
	}
	return e.targets(u.target(), verifyEnrollment(u))
}

func (w *world) sso(r *rng, t time.Time, u *oktaUser, o origin, sess string, a *oktaApp) *logEvent {
	path := "/app/" + a.Slug + "/exk" + a.ID[3:] + "/sso/saml"
	legacy := "app.auth.sso"
	if a.Mode == "OpenID Connect" {
		path = "/oauth2/v1/authorize"
	}
	e := newEvent(r, t, "user.authentication.sso", "INFO", legacy, "User single sign on to app").
		by(u.actor()).from(o).session(sess, sess).uri(path).threat(false).
		debug("initiationType", pick(r, []string{"IDP_INITIATED", "SP_INITIATED"})).debug("signOnMode", a.Mode)
	return e.targets(appTarget(a),
		logTarget{ID: "0ua" + a.ID[3:10] + u.ID[10:], Type: "AppUser", AlternateID: u.Login, DisplayName: u.Name})
}

func (w *world) sessionEnd(r *rng, t time.Time, u *oktaUser, o origin, sess string) *logEvent {
	return newEvent(r, t, "user.session.end", "INFO", "core.user_auth.logout_success", "User logout from Okta").
		by(u.actor()).from(o).session(sess, sess).uri("/login/signout").threat(false)
}

// adminChange is a change made by an administrator in the Admin Console.
func (w *world) adminChange(r *rng, t time.Time, admin *oktaUser, o origin, sess, eventType, severity, legacy, message, path string, targets ...logTarget) *logEvent {
	return newEvent(r, t, eventType, severity, legacy, message).by(admin.actor()).from(o).session(sess, sess).
		uri(path).threat(false).targets(targets...)
}

func (w *world) adminConsole(r *rng, t time.Time, u *oktaUser, o origin, sess, behaviors string, threat bool) *logEvent {
	return newEvent(r, t, "user.session.access_admin_app", "INFO", "", "User accessing Okta admin app").
		by(u.actor()).from(o).session(sess, sess).uri("/admin/sso/request").threat(threat).
		debug("behaviors", behaviors).targets(appTarget(w.adminApp))
}

func groupTarget(g *oktaGroup) logTarget {
	return logTarget{ID: g.ID, Type: "UserGroup", AlternateID: "unknown", DisplayName: g.Name}
}

func policyTarget(p policyInfo) logTarget {
	return logTarget{ID: p.ID, Type: "PolicyEntity", AlternateID: "unknown", DisplayName: p.Name, DetailEntry: kv{{"policyType", p.Type}}}
}

func ruleTarget(p policyInfo) logTarget {
	return logTarget{ID: p.RuleID, Type: "PolicyRule", AlternateID: p.ID, DisplayName: p.Rule}
}
