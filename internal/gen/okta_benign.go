package gen

import (
	"fmt"
	"strings"
	"time"
)

// Ordinary workforce traffic: sign-ins, SSO, token grants, sign-outs and a
// trickle of administration. Nothing here is meant to alert; the per-user
// addresses keep the per-IP counting rules quiet.

type session struct {
	user *oktaUser
	id   string
	from origin
}

type benignAction int

const (
	actSignIn benignAction = iota
	actSSO
	actToken
	actSignOut
	actTypo
	actMFARetry
	actPasswordChange
	actPasswordReset
	actGroupAdd
	actAppAssign
	actNewHire
	actFactorEnroll
	actAdminConsole
	actRateWarning
	actDeactivate
)

var benignWeights = []float64{
	actSignIn:         14,
	actSSO:            34,
	actToken:          14,
	actSignOut:        7,
	actTypo:           1.2,
	actMFARetry:       0.3,
	actPasswordChange: 0.6,
	actPasswordReset:  0.2,
	actGroupAdd:       0.8,
	actAppAssign:      0.8,
	actNewHire:        0.25,
	actFactorEnroll:   0.3,
	actAdminConsole:   0.6,
	actRateWarning:    0.04,
	actDeactivate:     0.1,
}

// at is a step helper: offset in milliseconds.
func at(ms int, build func(time.Time) *logEvent) step {
	return step{at: time.Duration(ms) * time.Millisecond, build: build}
}

func (s *OktaStream) action() []step {
	r, w := s.r, s.w
	act := benignAction(r.weighted(benignWeights))
	needsSession := act == actSSO || act == actSignOut || act == actPasswordChange || act == actFactorEnroll
	if needsSession && len(s.sessions) < 5 {
		act = actSignIn
	}
	switch act {
	case actSignIn:
		return s.signIn(s.idleUser(), false)
	case actTypo:
		return s.signIn(s.idleUser(), true)
	case actMFARetry:
		u := s.idleUser()
		o := s.deviceOrigin(u)
		sess := idxID(r)
		return []step{
			at(0, func(t time.Time) *logEvent {
				return w.mfa(r, t, u, o, sess, "TOTP", "FAILURE", "INVALID_CREDENTIALS")
			}),
			at(r.between(8000, 25000), func(t time.Time) *logEvent { return w.mfa(r, t, u, o, sess, "TOTP", "SUCCESS", "") }),
		}
	case actSSO:
		ss := pick(r, s.sessions)
		app := pick(r, ss.user.Apps)
		return []step{at(0, func(t time.Time) *logEvent { return w.sso(r, t, ss.user, ss.from, ss.id, app) })}
	case actToken:
		return s.tokenGrant()
	case actSignOut:
		ss := s.sessions[r.intn(len(s.sessions))]
		s.endSession(ss)
		return []step{at(0, func(t time.Time) *logEvent { return w.sessionEnd(r, t, ss.user, ss.from, ss.id) })}
	case actPasswordChange:
		ss := pick(r, s.sessions)
		u := ss.user
		return []step{at(0, func(t time.Time) *logEvent {
			e := newEvent(r, t, "user.account.update_password", "INFO", "core.user.config.password_update.success", "User update password for Okta").
				by(u.actor()).from(ss.from).session(ss.id, ss.id).uri("/idp/myaccount/password").threat(false).targets(u.target())
			e.AuthenticationContext.CredentialType = sp("PASSWORD")
			return e
		})}
	case actFactorEnroll:
		ss := pick(r, s.sessions)
		u := ss.user
		return []step{at(0, func(t time.Time) *logEvent {
			return newEvent(r, t, "user.mfa.factor.activate", "INFO", "core.user.factor.activate", "User set up Okta Verify factor").
				by(u.actor()).from(ss.from).session(ss.id, ss.id).uri("/idp/myaccount/authenticators").threat(false).
				debug("factor", "OKTA_VERIFY_PUSH").targets(u.target())
		})}
	case actPasswordReset, actGroupAdd, actAppAssign, actNewHire, actAdminConsole, actDeactivate:
		return s.adminWork(act)
	case actRateWarning:
		c := w.clients[0]
		return []step{at(0, func(t time.Time) *logEvent {
			return newEvent(r, t, "system.org.rate_limit.warning", "WARN", "", "Rate limit warning").
				by(logActor{ID: c.ID, Type: "PublicClientApp", AlternateID: c.Name, DisplayName: c.Name}).
				from(origin{Addr: cloudEast, Agent: c.Agent, ClientID: c.ID}).result("SUCCESS", "").
				uri("/api/v1/users").threat(false).debug("threshold", "480").debug("timeSpan", "1").debug("timeUnit", "MINUTES").
				debug("operationRateLimitType", "org").debug("operationRateLimitScopeType", "ORG")
		})}
	}
	return nil
}

// idleUser picks an employee, preferring one without a session.
func (s *OktaStream) idleUser() *oktaUser {
	for range 4 {
		u := pick(s.r, s.w.users)
		if s.byUser[u] == nil {
			return u
		}
	}
	return pick(s.r, s.w.users)
}

// deviceOrigin is the laptop at home most of the time, else the phone.
func (s *OktaStream) deviceOrigin(u *oktaUser) origin {
	if s.r.chance(0.8) {
		return origin{Addr: u.HomeAddr, Agent: u.Computer}
	}
	return origin{Addr: u.MobileAddr, Agent: u.Phone}
}

func (s *OktaStream) endSession(ss *session) {
	for i, x := range s.sessions {
		if x == ss {
			s.sessions = append(s.sessions[:i], s.sessions[i+1:]...)
			break
		}
	}
	delete(s.byUser, ss.user)
}

// signIn is the OIE flow: identify, sign-on policy, Okta Verify push (or a
// code), session, and often a first app.
func (s *OktaStream) signIn(u *oktaUser, typo bool) []step {
	r, w := s.r, s.w
	if old := s.byUser[u]; old != nil {
		s.endSession(old)
	}
	o := s.deviceOrigin(u)
	sess := sessionID(r)
	behaviors := behaviorText()
	if o.Agent.Device == "Mobile" && r.chance(0.15) {
		behaviors = behaviorText("New IP") // carrier addresses rotate
	}
	var steps []step
	ms := 0
	if typo {
		steps = append(steps, at(0, func(t time.Time) *logEvent {
			return w.signOnFailure(r, t, u.actor(), o, "INVALID_CREDENTIALS", false)
		}))
		ms += r.between(4000, 15000)
	}
	steps = append(steps, at(ms, func(t time.Time) *logEvent { return w.policyEval(r, t, u, o, sess, "ALLOW", behaviors) }))
	factor := pick(r, []string{"OKTA_VERIFY_PUSH", "OKTA_VERIFY_PUSH", "OKTA_VERIFY_PUSH", "TOTP", "SMS"})
	if factor == "OKTA_VERIFY_PUSH" {
		ms += r.between(300, 1200)
		steps = append(steps, at(ms, func(t time.Time) *logEvent { return w.pushSent(r, t, u, o, sess) }))
	}
	ms += r.between(3000, 15000)
	steps = append(steps, at(ms, func(t time.Time) *logEvent { return w.mfa(r, t, u, o, sess, factor, "SUCCESS", "") }))
	ms += r.between(200, 900)
	steps = append(steps, at(ms, func(t time.Time) *logEvent { return w.signOnSuccess(r, t, u, o, sess, behaviors, false) }))
	if r.chance(0.4) {
		app := pick(r, u.Apps)
		ms += r.between(2000, 9000)
		steps = append(steps, at(ms, func(t time.Time) *logEvent { return w.sso(r, t, u, o, sess, app) }))
	}
	ss := &session{user: u, id: sess, from: o}
	s.sessions = append(s.sessions, ss)
	s.byUser[u] = ss
	// Cap the number of open sessions like people closing laptops.
	if len(s.sessions) > len(s.w.users)/2 {
		s.endSession(s.sessions[0])
	}
	return steps
}

// tokenGrant is an OAuth token from the org authorization server: a service
// integration (client credentials) or a user's refresh.
func (s *OktaStream) tokenGrant() []step {
	r, w := s.r, s.w
	if len(s.sessions) == 0 || r.chance(0.55) {
		c := pick(r, w.clients)
		return []step{at(0, func(t time.Time) *logEvent {
			return newEvent(r, t, "app.oauth2.as.token.grant", "INFO", "", "OAuth2 access token is granted").
				by(logActor{ID: c.ID, Type: "PublicClientApp", AlternateID: c.Name, DisplayName: c.Name}).
				from(origin{Addr: cloudEast, Agent: c.Agent, ClientID: c.ID}).
				uri("/oauth2/"+w.authServer+"/v1/token").threat(false).
				debug("grantType", "client_credentials").debug("grantedScopes", c.Scopes).
				targets(logTarget{ID: "AT." + r.token(43), Type: "access_token", AlternateID: "unknown", DisplayName: "Access Token",
					DetailEntry: kv{{"expires", oktaTime(t.Add(time.Hour))}, {"subject", c.ID}, {"hash", r.token(22)}}})
		})}
	}
	ss := pick(r, s.sessions)
	u := ss.user
	c := w.clients[1]
	return []step{at(0, func(t time.Time) *logEvent {
		e := newEvent(r, t, "app.oauth2.as.token.grant", "INFO", "", "OAuth2 access token is granted").
			by(u.actor()).from(ss.from).session(ss.id, ss.id).
			uri("/oauth2/"+w.authServer+"/v1/token").threat(false).
			debug("grantType", "refresh_token").debug("grantedScopes", "openid profile email offline_access").
			targets(logTarget{ID: "AT." + r.token(43), Type: "access_token", AlternateID: "unknown", DisplayName: "Access Token",
				DetailEntry: kv{{"expires", oktaTime(t.Add(time.Hour))}, {"subject", u.ID}, {"hash", r.token(22)}}})
		e.Client.ID = sp(c.ID)
		return e
	})}
}

// adminWork is routine administration by one of the IT admins.
func (s *OktaStream) adminWork(act benignAction) []step {
	r, w := s.r, s.w
	admin := pick(r, w.admins)
	o := origin{Addr: admin.HomeAddr, Agent: admin.Computer}
	sess := sessionID(r)
	if ss := s.byUser[admin]; ss != nil && ss.from.Agent.Device == "Computer" {
		o, sess = ss.from, ss.id
	}
	subject := pick(r, w.users)
	switch act {
	case actAdminConsole:
		return []step{at(0, func(t time.Time) *logEvent {
			return w.adminConsole(r, t, admin, o, sess, behaviorText(), false)
		})}
	case actPasswordReset:
		return []step{at(0, func(t time.Time) *logEvent {
			return w.adminChange(r, t, admin, o, sess, "user.account.reset_password", "INFO", "core.user.config.password_reset",
				"Fired when the user's Okta password is reset", "/api/v1/users/"+subject.ID+"/lifecycle/reset_password", subject.target())
		})}
	case actGroupAdd:
		g := w.groups[1+r.intn(5)]
		return []step{at(0, func(t time.Time) *logEvent {
			return w.adminChange(r, t, admin, o, sess, "group.user_membership.add", "INFO", "core.user_group_member.user_add",
				"Add user to group membership", "/api/v1/groups/"+g.ID+"/users/"+subject.ID, subject.target(), groupTarget(g))
		})}
	case actAppAssign:
		a := pick(r, w.apps)
		return []step{at(0, func(t time.Time) *logEvent {
			return w.adminChange(r, t, admin, o, sess, "application.user_membership.add", "INFO", "app.generic.provision.assign_user_to_app",
				"Add user to application membership", "/api/v1/apps/"+a.ID+"/users",
				logTarget{ID: "0ua" + a.ID[3:10] + subject.ID[10:], Type: "AppUser", AlternateID: subject.Login, DisplayName: subject.Name},
				appTarget(a), subject.target())
		})}
	case actNewHire:
		s.newHires++
		first, last := pick(r, firstNames), pick(r, lastNames)
		hire := logTarget{ID: oktaID(r, "00u"), Type: "User",
			AlternateID: fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(last), s.newHires), DisplayName: first + " " + last}
		return []step{
			at(0, func(t time.Time) *logEvent {
				return w.adminChange(r, t, admin, o, sess, "user.lifecycle.create", "INFO", "core.user.config.user_creation.success",
					"Create Okta user", "/api/v1/users", hire)
			}),
			at(r.between(1000, 4000), func(t time.Time) *logEvent {
				return w.adminChange(r, t, admin, o, sess, "user.lifecycle.activate", "INFO", "core.user.config.user_activated",
					"Activate Okta user", "/api/v1/users/"+hire.ID+"/lifecycle/activate", hire)
			}),
			at(r.between(5000, 9000), func(t time.Time) *logEvent {
				return w.adminChange(r, t, admin, o, sess, "group.user_membership.add", "INFO", "core.user_group_member.user_add",
					"Add user to group membership", "/api/v1/groups/"+w.groups[1].ID+"/users/"+hire.ID, hire, groupTarget(w.groups[1]))
			}),
		}
	case actDeactivate:
		// Offboarding of a departed contractor runs as a scheduled lifecycle job.
		first, last := pick(r, firstNames), pick(r, lastNames)
		leaver := logTarget{ID: oktaID(r, "00u"), Type: "User",
			AlternateID: fmt.Sprintf("ext.%s.%s@example.com", strings.ToLower(first), strings.ToLower(last)), DisplayName: first + " " + last}
		return []step{at(0, func(t time.Time) *logEvent {
			return newEvent(r, t, "user.lifecycle.deactivate", "INFO", "core.user.config.user_deactivated", "Deactivate Okta user").
				by(w.orgSystem).job().targets(leaver)
		})}
	}
	return nil
}
