package gen

import (
	"fmt"
	"strings"
	"time"
)

// Attack scenarios. Each builds a self-contained sequence of events
// (offsets from the moment it is injected) that the detections named in
// RuleIDs alert on, with the counts their thresholds need inside their
// dedup windows (see packs/okta/README.md).

type scenarioDef struct {
	Scenario
	build func(c *attackCtx) []step
}

// attackCtx gives a scenario its own random stream and the org.
type attackCtx struct {
	w *world
	r *rng
	n int // injection number
}

// employees returns n distinct non-admin employees.
func (c *attackCtx) employees(n int) []*oktaUser {
	pool := append([]*oktaUser(nil), c.w.users[len(c.w.admins):]...)
	for i := 0; i < n && i < len(pool); i++ {
		j := i + c.r.intn(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
	}
	return pool[:min(n, len(pool))]
}

func (c *attackCtx) employee() *oktaUser { return c.employees(1)[0] }
func (c *attackCtx) admin() *oktaUser    { return pick(c.r, c.w.admins) }

// hostile returns an attacker address.
func (c *attackCtx) hostile() address { return c.w.hostileAddr(c.r.intn(len(c.w.hostile))) }

// foreign returns an attacker address outside u's home country.
func (c *attackCtx) foreign(u *oktaUser) address {
	for {
		if a := c.hostile(); a.Place.Country != u.Country {
			return a
		}
	}
}

func (c *attackCtx) attackerAgent() agent { return pick(c.r, hostileAgents) }

// home is the employee's usual laptop at home.
func home(u *oktaUser) origin { return origin{Addr: u.HomeAddr, Agent: u.Computer} }

// unknownActor is how Okta records a sign-in attempt for a username it
// does not know.
func unknownActor(login string) logActor {
	return logActor{ID: "unknown", Type: "User", AlternateID: login, DisplayName: "unknown"}
}

// timeline accumulates steps at increasing offsets.
type timeline struct {
	ms    int
	steps []step
}

func (tl *timeline) after(ms int, build func(time.Time) *logEvent) {
	tl.ms += ms
	tl.steps = append(tl.steps, at(tl.ms, build))
}

// signIn appends a full successful OIE sign-in for u from o.
func (c *attackCtx) signIn(tl *timeline, u *oktaUser, o origin, sess, behaviors string, threat bool) {
	w, r := c.w, c.r
	tl.after(0, func(t time.Time) *logEvent { return w.policyEval(r, t, u, o, sess, "ALLOW", behaviors) })
	tl.after(r.between(300, 900), func(t time.Time) *logEvent { return w.pushSent(r, t, u, o, sess) })
	tl.after(r.between(4000, 12000), func(t time.Time) *logEvent { return w.mfa(r, t, u, o, sess, "OKTA_VERIFY_PUSH", "SUCCESS", "") })
	tl.after(r.between(200, 800), func(t time.Time) *logEvent { return w.signOnSuccess(r, t, u, o, sess, behaviors, threat) })
}

// adminSession appends an admin opening the Admin Console from home.
func (c *attackCtx) adminSession(tl *timeline, a *oktaUser) (origin, string) {
	o, sess := home(a), sessionID(c.r)
	w, r := c.w, c.r
	tl.after(0, func(t time.Time) *logEvent { return w.adminConsole(r, t, a, o, sess, behaviorText(), false) })
	return o, sess
}

var travelBehaviors = []string{"New Geo-Location", "New IP", "New State", "New Country", "Velocity", "New City"}
var takeoverBehaviors = []string{"New Geo-Location", "New Device", "New IP", "New State", "New Country", "Velocity", "New City"}

func okVerifyAgent(u *oktaUser) agent {
	if u.Phone.OS == "iOS" {
		return agent{"OktaVerify/9.14.0 iOS/17.5.1 (iPhone15,2)", "iOS", "UNKNOWN", "Mobile"}
	}
	return agent{"OktaVerify/9.14.0 Android/14 (Pixel 8)", "Android", "UNKNOWN", "Mobile"}
}

var scenarioDefs = []scenarioDef{
	{Scenario{"brute_force", "Password guessing against one account from one address until Okta locks it",
		[]string{"Okta.BruteForceByIP", "Okta.BruteForceByUser", "Okta.AccountLockout"}}, buildBruteForce},
	{Scenario{"password_spray", "One address tries one password against many accounts",
		[]string{"Okta.PasswordSpray", "Okta.BruteForceByIP"}}, buildPasswordSpray},
	{Scenario{"credential_stuffing", "Leaked credentials replayed through rotating proxies; ThreatInsight declares an attack and one reused password works",
		[]string{"Okta.OrgUnderAttack", "Okta.ThreatSuspectedSignIn", "Okta.SignInNewCountry"}}, buildCredentialStuffing},
	{Scenario{"mfa_fatigue", "Repeated Okta Verify pushes the user denies, until one is accepted from abroad",
		[]string{"Okta.MFAPushFatigue", "Okta.SignInNewCountry"}}, buildMFAFatigue},
	{Scenario{"admin_grant", "An administrator grants Super administrator to an ordinary account",
		[]string{"Okta.AdminRoleAssignedToUser"}}, buildAdminGrant},
	{Scenario{"api_token", "An administrator creates an API token",
		[]string{"Okta.APITokenCreated"}}, buildAPIToken},
	{Scenario{"impersonation", "Okta Support access is granted and an impersonation session starts",
		[]string{"Okta.SupportImpersonation"}}, buildImpersonation},
	{Scenario{"policy_change", "The MFA rule of the sign-on policy is deactivated and the policy edited",
		[]string{"Okta.PolicyRuleChange", "Okta.PolicyLifecycleChange"}}, buildPolicyChange},
	{Scenario{"idp_change", "A new inbound identity provider is created, activated and used",
		[]string{"Okta.IdentityProviderChange"}}, buildIdPChange},
	{Scenario{"new_country", "An employee signs in from a country never seen for them",
		[]string{"Okta.SignInNewCountry"}}, buildNewCountry},
	{Scenario{"threatinsight", "ThreatInsight flags a password-spraying address; a blocklisted address keeps knocking",
		[]string{"Okta.ThreatInsightThreatDetected", "Okta.BlocklistZoneRequestBlocked"}}, buildThreatInsight},
	{Scenario{"session_roaming", "A stolen session cookie is replayed from another network",
		[]string{"Okta.SessionRoaming"}}, buildSessionRoaming},
	{Scenario{"mfa_reset", "A help-desk admin resets every factor of an employee, then a new device enrolls",
		[]string{"Okta.MFAFactorReset"}}, buildMFAReset},
	{Scenario{"mfa_bypass", "Attempts to skip the MFA step of a sign-in",
		[]string{"Okta.MFABypassAttempt"}}, buildMFABypass},
	{Scenario{"mfa_guessing", "Repeated wrong one-time codes for one account",
		[]string{"Okta.MFAFailuresByUser"}}, buildMFAGuessing},
	{Scenario{"group_admin_grant", "An admin role is granted to a whole group",
		[]string{"Okta.AdminRoleAssignedToGroup"}}, buildGroupAdminGrant},
	{Scenario{"zone_change", "The blocklist network zone is modified and then deactivated",
		[]string{"Okta.NetworkZoneChange"}}, buildZoneChange},
	{Scenario{"admin_console", "An administrator account signs in from abroad on a new device and opens the Admin Console",
		[]string{"Okta.AdminConsoleAccessAnomalous", "Okta.SignInNewCountry"}}, buildAdminConsole},
	{Scenario{"new_device", "An employee signs in from an unknown device and address in their own country",
		[]string{"Okta.SignInNewDevice"}}, buildNewDevice},
	{Scenario{"user_risk", "Okta risk scoring raises an employee to HIGH risk",
		[]string{"Okta.UserRiskDetected"}}, buildUserRisk},
	{Scenario{"suspicious_report", "An employee reports a new-device notification they do not recognise",
		[]string{"Okta.UserReportedSuspiciousActivity"}}, buildSuspiciousReport},
	{Scenario{"unauthorized_app", "An employee keeps trying to open an app they are not assigned to",
		[]string{"Okta.UnauthorizedAppAccess"}}, buildUnauthorizedApp},
	{Scenario{"rate_limit", "A runaway integration exceeds the org-wide rate limit",
		[]string{"Okta.OrgRateLimitViolation"}}, buildRateLimit},
}

func buildBruteForce(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := origin{Addr: c.hostile(), Agent: c.attackerAgent()}
	tl := &timeline{}
	for i := 0; i < 14; i++ {
		reason := "VERIFICATION_ERROR"
		if i >= 10 {
			reason = "LOCKED_OUT"
		}
		tl.after(r.between(1500, 6000), func(t time.Time) *logEvent { return w.signOnFailure(r, t, v.actor(), o, reason, true) })
		if i == 9 {
			tl.after(r.between(5, 60), func(t time.Time) *logEvent {
				return newEvent(r, t, "user.account.lock", "WARN", "core.user_auth.account_locked", "Max sign in attempts exceeded").
					by(v.actor()).from(o).result("FAILURE", "LOCKED_OUT").uri("/api/v1/authn").threat(false)
			})
		}
	}
	return tl.steps
}

func buildPasswordSpray(c *attackCtx) []step {
	w, r := c.w, c.r
	o := origin{Addr: c.hostile(), Agent: c.attackerAgent()}
	var who []logActor
	for _, u := range c.employees(26) {
		who = append(who, u.actor())
	}
	// Sprays also hit guessed logins that do not exist.
	for _, guess := range []string{"admin@example.com", "it.support@example.com"} {
		pos := r.intn(len(who) + 1)
		who = append(who[:pos], append([]logActor{unknownActor(guess)}, who[pos:]...)...)
	}
	tl := &timeline{}
	for _, a := range who {
		tl.after(r.between(4000, 15000), func(t time.Time) *logEvent { return w.signOnFailure(r, t, a, o, "INVALID_CREDENTIALS", false) })
	}
	return tl.steps
}

func buildCredentialStuffing(c *attackCtx) []step {
	w, r := c.w, c.r
	var proxies []address
	for i := 0; i < 30; i++ {
		a := c.hostile()
		a.Net.Proxy = true
		proxies = append(proxies, a)
	}
	agents := []agent{hostileAgents[2], desktopAgents[0], desktopAgents[2]}
	var victims []logActor
	staff := c.employees(40)
	for _, u := range staff {
		victims = append(victims, u.actor())
	}
	for i := 0; i < 10; i++ {
		victims = append(victims, unknownActor(fmt.Sprintf("%s.%s@example.com", strings.ToLower(pick(r, firstNames)), strings.ToLower(pick(r, lastNames)))))
	}
	// The one account whose leaked password still works.
	lucky := staff[r.intn(len(staff))]
	tl := &timeline{}
	for k := 0; k < 70; k++ {
		o := origin{Addr: proxies[k%len(proxies)], Agent: agents[k%len(agents)]}
		a := victims[r.intn(len(victims))]
		if a.ID == lucky.ID {
			a = victims[len(victims)-1]
		}
		tl.after(r.between(800, 3000), func(t time.Time) *logEvent {
			return w.signOnFailure(r, t, a, o, "INVALID_CREDENTIALS", k%2 == 0)
		})
		if k == 20 {
			tl.after(r.between(100, 900), func(t time.Time) *logEvent {
				return newEvent(r, t, "security.attack.start", "WARN", "", "Org under attack").by(w.orgSystem).job().
					result("SUCCESS", "Sign-in failures exceeded baseline")
			})
		}
		if k == 45 {
			o := origin{Addr: c.foreign(lucky), Agent: desktopAgents[0]}
			o.Addr.Net.Proxy = true
			sess := sessionID(r)
			c.signIn(tl, lucky, o, sess, behaviorText(takeoverBehaviors...), true)
			app := pick(r, lucky.Apps)
			tl.after(r.between(3000, 8000), func(t time.Time) *logEvent { return w.sso(r, t, lucky, o, sess, app) })
		}
	}
	tl.after(r.between(600000, 900000), func(t time.Time) *logEvent {
		return newEvent(r, t, "security.attack.end", "INFO", "", "Org no longer under attack").by(w.orgSystem).job().result("SUCCESS", "")
	})
	return tl.steps
}

func buildMFAFatigue(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := origin{Addr: c.foreign(v), Agent: desktopAgents[0]}
	phone := origin{Addr: v.MobileAddr, Agent: okVerifyAgent(v)}
	sess := idxID(r)
	behaviors := behaviorText(takeoverBehaviors...)
	tl := &timeline{}
	tl.after(0, func(t time.Time) *logEvent { return w.policyEval(r, t, v, o, sess, "CHALLENGE", behaviors) })
	for i := 0; i < 6; i++ {
		tl.after(r.between(1000, 5000), func(t time.Time) *logEvent { return w.pushSent(r, t, v, o, sess) })
		tl.after(r.between(6000, 20000), func(t time.Time) *logEvent {
			e := newEvent(r, t, "user.mfa.okta_verify.deny_push", "WARN", "core.user.factor.attempt_fail", "User rejected Okta push verify").
				by(v.actor()).from(phone).session(sess, sess).result("FAILURE", "User rejected Okta push verify").
				uri("/idp/authenticators/okta-verify/challenge").threat(false).debug("factor", "OKTA_VERIFY_PUSH").
				targets(v.target(), verifyEnrollment(v))
			dev := v.PhoneDevice
			e.Device = &dev
			return e
		})
	}
	tl.after(r.between(20000, 60000), func(t time.Time) *logEvent { return w.pushSent(r, t, v, o, sess) })
	tl.after(r.between(5000, 15000), func(t time.Time) *logEvent { return w.mfa(r, t, v, o, sess, "OKTA_VERIFY_PUSH", "SUCCESS", "") })
	session := sessionID(r)
	tl.after(r.between(300, 900), func(t time.Time) *logEvent { return w.signOnSuccess(r, t, v, o, session, behaviors, false) })
	app := pick(r, v.Apps)
	tl.after(r.between(5000, 20000), func(t time.Time) *logEvent { return w.sso(r, t, v, o, session, app) })
	return tl.steps
}

func buildAdminGrant(c *attackCtx) []step {
	w, r := c.w, c.r
	a, v := c.admin(), c.employee()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	tl.after(r.between(20000, 90000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "user.account.privilege.grant", "INFO", "core.user.admin_privilege.granted",
			"Grant user privilege", "/api/v1/users/"+v.ID+"/roles", v.target()).debug("privilegeGranted", "Super administrator")
	})
	return tl.steps
}

func buildAPIToken(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	name := pick(r, []string{"siem-export", "backup-sync", "automation", "test-token"})
	token := logTarget{ID: oktaID(r, "00T"), Type: "Token", AlternateID: "unknown", DisplayName: name}
	tl.after(r.between(15000, 60000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "system.api_token.create", "INFO", "api.token.create", "Create API token",
			"/api/internal/tokens", token)
	})
	return tl.steps
}

func buildImpersonation(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	support := logActor{ID: oktaID(r, "00u"), Type: "User", AlternateID: "support.agent@okta.example.com", DisplayName: "Okta Support"}
	supportFrom := origin{Addr: address{IP: "198.51.100.240", Place: place{"San Francisco", "California", "United States", "94107", 37.7697, -122.3933},
		Net: network{18259, "okta, inc.", "okta, inc.", "okta.com", false}}, Agent: desktopAgents[2]}
	tl.after(r.between(10000, 40000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "user.session.impersonation.grant", "INFO", "core.user.impersonation.grant.enabled",
			"Enable impersonation grant", "/api/internal/impersonation/grant", a.target())
	})
	supportSess := sessionID(r)
	tl.after(r.between(120000, 600000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.session.impersonation.initiate", "WARN", "core.user.impersonation.session.initiated",
			"User session impersonation initiated").by(support).from(supportFrom).session(supportSess, supportSess).
			uri("/admin/impersonation/init").threat(false).targets(a.target())
	})
	tl.after(r.between(300000, 900000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.session.impersonation.end", "INFO", "core.user.impersonation.session.ended",
			"User session impersonation ended").by(support).from(supportFrom).session(supportSess, supportSess).
			uri("/admin/impersonation/end").threat(false).targets(a.target())
	})
	return tl.steps
}

func buildPolicyChange(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	p := w.policies[1]
	tl.after(r.between(20000, 60000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "policy.rule.deactivate", "INFO", "", "Deactivate policy rule",
			"/api/v1/policies/"+p.ID+"/rules/"+p.RuleID+"/lifecycle/deactivate", ruleTarget(p), policyTarget(p))
	})
	tl.after(r.between(10000, 40000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "policy.lifecycle.update", "INFO", "", "Update policy",
			"/api/v1/policies/"+p.ID, policyTarget(p))
	})
	return tl.steps
}

func buildIdPChange(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	idp := logTarget{ID: oktaID(r, "0oa"), Type: "IdentityProvider", AlternateID: "unknown",
		DisplayName: pick(r, []string{"Partner SSO", "Contractor Azure AD", "Legacy ADFS"})}
	tl.after(r.between(20000, 60000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "system.idp.lifecycle.create", "INFO", "", "Create Identity Provider", "/api/v1/idps", idp)
	})
	tl.after(r.between(5000, 20000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "system.idp.lifecycle.activate", "INFO", "", "Activate Identity Provider",
			"/api/v1/idps/"+idp.ID+"/lifecycle/activate", idp)
	})
	v := c.employee()
	vo := origin{Addr: c.hostile(), Agent: desktopAgents[0]}
	vsess := sessionID(r)
	tl.after(r.between(60000, 300000), func(t time.Time) *logEvent {
		e := newEvent(r, t, "user.authentication.auth_via_IDP", "INFO", "", "Authenticate user via IDP").
			by(v.actor()).from(vo).session(vsess, vsess).uri("/sso/saml2/" + idp.ID).threat(false).targets(idp)
		e.AuthenticationContext.AuthenticationProvider = sp("FEDERATION")
		e.AuthenticationContext.CredentialType = sp("ASSERTION")
		e.AuthenticationContext.Issuer = &logIssuer{ID: idp.ID, Type: "SAML2"}
		return e
	})
	return tl.steps
}

func buildNewCountry(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := origin{Addr: c.foreign(v), Agent: v.Computer}
	sess := sessionID(r)
	tl := &timeline{}
	c.signIn(tl, v, o, sess, behaviorText(travelBehaviors...), false)
	for i := 0; i < 2; i++ {
		app := pick(r, v.Apps)
		tl.after(r.between(10000, 120000), func(t time.Time) *logEvent { return w.sso(r, t, v, o, sess, app) })
	}
	return tl.steps
}

func buildThreatInsight(c *attackCtx) []step {
	w, r := c.w, c.r
	flagged := origin{Addr: c.hostile(), Agent: hostileAgents[0]}
	tl := &timeline{}
	results := []struct{ result, reason string }{
		{"ALLOW", "Password Spray"}, {"DENY", "Password Spray"}, {"DENY", "Login failures with high unknown users count"}, {"DENY", "Password Spray"},
	}
	for _, x := range results {
		tl.after(r.between(5000, 60000), func(t time.Time) *logEvent {
			return newEvent(r, t, "security.threat.detected", "WARN", "", "Request from suspicious actor").
				by(unknownActor("unknown")).from(flagged).result(x.result, x.reason).uri("/api/v1/authn").threat(true).
				debug("threatDetections", `{"Password Spray":"HIGH","Login failures":"MEDIUM"}`)
		})
	}
	blocked := origin{Addr: c.hostile(), Agent: hostileAgents[1]}
	zone := w.zones[1]
	for i := 0; i < 7; i++ {
		tl.after(r.between(2000, 30000), func(t time.Time) *logEvent {
			return newEvent(r, t, "security.request.blocked", "WARN", "", "Request blocked by network zone").
				by(unknownActor("unknown")).from(blocked).result("DENY", "Blocked by network zone "+zone.DisplayName).
				uri("/api/v1/authn").threat(false)
		})
	}
	return tl.steps
}

func buildSessionRoaming(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := home(v)
	sess := sessionID(r)
	tl := &timeline{}
	c.signIn(tl, v, o, sess, behaviorText(), false)
	app := pick(r, v.Apps)
	tl.after(r.between(5000, 30000), func(t time.Time) *logEvent { return w.sso(r, t, v, o, sess, app) })
	thief := origin{Addr: c.foreign(v), Agent: v.Computer}
	tl.after(r.between(300000, 900000), func(t time.Time) *logEvent {
		return newEvent(r, t, "security.session.detect_client_roaming", "WARN", "", "Roaming session detected").
			by(v.actor()).from(thief).session(sess, sess).result("DENY", "").uri("/app/UserHome").threat(false).targets(v.target())
	})
	tl.after(r.between(200, 2000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.session.clear", "INFO", "", "User session cleared").
			by(w.orgSystem).job().session(sess, sess).targets(v.target())
	})
	return tl.steps
}

func buildMFAReset(c *attackCtx) []step {
	w, r := c.w, c.r
	a, v := c.admin(), c.employee()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	tl.after(r.between(30000, 120000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "user.mfa.factor.reset_all", "INFO", "core.user.factor.reset_all",
			"Reset all factors for user", "/api/v1/users/"+v.ID+"/lifecycle/reset_factors", v.target())
	})
	newDevice := origin{Addr: c.foreign(v), Agent: phoneAgents[1]}
	nsess := idxID(r)
	tl.after(r.between(60000, 600000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.mfa.factor.activate", "INFO", "core.user.factor.activate", "User set up Okta Verify factor").
			by(v.actor()).from(newDevice).session(nsess, nsess).uri("/idp/idx/credential/enroll").threat(false).
			debug("factor", "OKTA_VERIFY_PUSH").targets(v.target())
	})
	return tl.steps
}

func buildMFABypass(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := origin{Addr: c.foreign(v), Agent: hostileAgents[2]}
	sess := idxID(r)
	tl := &timeline{}
	for i := 0; i < 2; i++ {
		tl.after(r.between(3000, 20000), func(t time.Time) *logEvent {
			return newEvent(r, t, "user.mfa.attempt_bypass", "WARN", "core.user.factor.attempt_bypass", "Attempt bypass of factor").
				by(v.actor()).from(o).session(sess, sess).result("FAILURE", "").uri("/idp/idx/skip").threat(false).targets(v.target())
		})
	}
	_ = w
	return tl.steps
}

func buildMFAGuessing(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	o := origin{Addr: c.hostile(), Agent: hostileAgents[2]}
	sess := idxID(r)
	tl := &timeline{}
	for i := 0; i < 7; i++ {
		tl.after(r.between(4000, 20000), func(t time.Time) *logEvent {
			return w.mfa(r, t, v, o, sess, "TOTP", "FAILURE", "INVALID_CREDENTIALS")
		})
	}
	return tl.steps
}

func buildGroupAdminGrant(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	g := w.groups[5] // Contractors
	role := pick(r, []string{"Super administrator", "Organization administrator"})
	tl.after(r.between(20000, 90000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "group.privilege.grant", "INFO", "core.group.admin_privilege.granted",
			"Grant group privilege", "/api/v1/groups/"+g.ID+"/roles", groupTarget(g)).debug("privilegeGranted", role)
	})
	return tl.steps
}

func buildZoneChange(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	tl := &timeline{}
	o, sess := c.adminSession(tl, a)
	z := w.zones[1]
	tl.after(r.between(20000, 60000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "zone.update", "INFO", "", "Update network zone", "/api/v1/zones/"+z.ID, z)
	})
	tl.after(r.between(10000, 60000), func(t time.Time) *logEvent {
		return w.adminChange(r, t, a, o, sess, "zone.deactivate", "INFO", "", "Deactivate network zone",
			"/api/v1/zones/"+z.ID+"/lifecycle/deactivate", z)
	})
	return tl.steps
}

func buildAdminConsole(c *attackCtx) []step {
	w, r := c.w, c.r
	a := c.admin()
	o := origin{Addr: c.foreign(a), Agent: desktopAgents[5]}
	sess := sessionID(r)
	behaviors := behaviorText(takeoverBehaviors...)
	tl := &timeline{}
	c.signIn(tl, a, o, sess, behaviors, false)
	tl.after(r.between(5000, 30000), func(t time.Time) *logEvent { return w.adminConsole(r, t, a, o, sess, behaviors, false) })
	return tl.steps
}

func buildNewDevice(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	rg := regions[v.region]
	addr := address{IP: fmt.Sprintf("198.51.100.%d", 201+r.intn(30)), Place: v.Home, Net: pick(r, rg.Mobile)}
	ag := desktopAgents[0]
	for ag == v.Computer {
		ag = pick(r, desktopAgents)
	}
	o := origin{Addr: addr, Agent: ag}
	sess := sessionID(r)
	tl := &timeline{}
	c.signIn(tl, v, o, sess, behaviorText("New Device", "New IP"), false)
	app := pick(r, v.Apps)
	tl.after(r.between(10000, 60000), func(t time.Time) *logEvent { return w.sso(r, t, v, o, sess, app) })
	return tl.steps
}

func buildUserRisk(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	tl := &timeline{}
	tl.after(0, func(t time.Time) *logEvent {
		return newEvent(r, t, "user.risk.detect", "WARN", "", "User risk detected").by(w.orgSystem).job().
			debug("threatSuspected", "false").
			debug("risk", "{reasons=Anomalous Geo-Distance, New Device, New ASN, New IP, level=HIGH}").
			debug("traceId", timeUUID(r, t)).targets(v.target())
	})
	tl.after(r.between(1000, 5000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.risk.change", "INFO", "", "User risk level changed").by(w.orgSystem).job().
			debug("threatSuspected", "false").
			debug("risk", "{previousLevel=LOW, level=HIGH, detectionName=Session Influenced User Risk, issuer=OKTA}").
			debug("traceId", timeUUID(r, t)).targets(v.target())
	})
	return tl.steps
}

func buildSuspiciousReport(c *attackCtx) []step {
	w, r := c.w, c.r
	v := c.employee()
	seen := c.foreign(v)
	tl := &timeline{}
	var notice, noticeAt string
	tl.after(0, func(t time.Time) *logEvent {
		e := newEvent(r, t, "system.email.new_device_notification.sent_message", "INFO", "", "Send user new device notification email").
			by(w.orgSystem).job().targets(v.target())
		notice, noticeAt = e.UUID, e.Published
		return e
	})
	o := home(v)
	sess := sessionID(r)
	tl.after(r.between(120000, 1200000), func(t time.Time) *logEvent {
		return newEvent(r, t, "user.account.report_suspicious_activity_by_enduser", "WARN", "", "User report suspicious activity").
			by(v.actor()).from(o).session(sess, sess).uri("/api/v1/users/"+v.ID+"/suspicious-activity").threat(false).
			debug("suspiciousActivityEventType", "system.email.new_device_notification.sent_message").
			debug("suspiciousActivityEventId", notice).debug("suspiciousActivityEventIp", seen.IP).
			debug("suspiciousActivityEventCity", seen.Place.City).debug("suspiciousActivityEventCountry", seen.Place.Country).
			debug("suspiciousActivityTimestamp", noticeAt).targets(v.target())
	})
	return tl.steps
}

func buildUnauthorizedApp(c *attackCtx) []step {
	w, r := c.w, c.r
	var v *oktaUser
	var app *oktaApp
	for app == nil {
		v = c.employee()
		for _, a := range w.apps {
			assigned := false
			for _, b := range v.Apps {
				assigned = assigned || a == b
			}
			if !assigned {
				app = a
				break
			}
		}
	}
	o := home(v)
	sess := sessionID(r)
	tl := &timeline{}
	for i := 0; i < 4; i++ {
		tl.after(r.between(5000, 90000), func(t time.Time) *logEvent {
			return newEvent(r, t, "app.generic.unauth_app_access_attempt", "WARN", "app.generic.unauth_app_access_attempt",
				"User attempted unauthorized access to app").by(v.actor()).from(o).session(sess, sess).result("FAILURE", "").
				uri("/app/" + app.Slug + "/exk" + app.ID[3:] + "/sso/saml").threat(false).targets(appTarget(app))
		})
	}
	return tl.steps
}

func buildRateLimit(c *attackCtx) []step {
	w, r := c.w, c.r
	cl := w.clients[2]
	o := origin{Addr: cloudEast, Agent: cl.Agent, ClientID: cl.ID}
	actor := logActor{ID: cl.ID, Type: "PublicClientApp", AlternateID: cl.Name, DisplayName: cl.Name}
	tl := &timeline{}
	for i, typ := range []string{"system.org.rate_limit.warning", "system.org.rate_limit.violation", "system.org.rate_limit.violation"} {
		msg, result := "Rate limit warning", "SUCCESS"
		if i > 0 {
			msg, result = "Rate limit violation", "DENY"
		}
		tl.after(r.between(2000, 20000), func(t time.Time) *logEvent {
			return newEvent(r, t, typ, "WARN", "", msg).by(actor).from(o).result(result, "").uri("/api/v1/users").threat(false).
				debug("threshold", "600").debug("timeSpan", "1").debug("timeUnit", "MINUTES").
				debug("operationRateLimitType", "org").debug("operationRateLimitScopeType", "ORG")
		})
	}
	return tl.steps
}
