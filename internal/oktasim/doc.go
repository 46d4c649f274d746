// Package oktasim is a local, faithful stand-in for Okta's System Log API
// (GET /api/v1/logs), for developing and testing log collectors without an
// Okta org.
//
// It follows the documented behaviour (see docs/okta.md for the details and
// the choices made where Okta documents nothing):
//
//   - SSWS and Bearer authentication: a missing header or unknown scheme is
//     403 E0000005, a wrong token 401 E0000011.
//   - Polling requests (no until, ascending order) return events in
//     persistence order, so events committed late (with an older published
//     time) still show up after the cursor; they always carry a rel="next"
//     link, even on an empty page.
//   - Bounded requests (until given, or descending order) are ordered by
//     published and have no next link on the last page.
//   - The since, until, after, filter (SCIM), q, limit and sortOrder
//     parameters, with Okta's validation errors.
//   - X-Rate-Limit-Limit/Remaining/Reset on every response, in a 60-second
//     window that starts with the first request rather than on the minute,
//     and 429 E0000047 beyond the limit.
//   - 90-day retention.
//
// A Server is an http.Handler; events are appended with Add (or streamed
// with Feed) while clients poll, concurrently.
package oktasim
