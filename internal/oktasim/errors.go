package oktasim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// oktaError is Okta's error body.
type oktaError struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

// apiError is an error response: status, code, summary and causes.
type apiError struct {
	status  int
	code    string
	summary string
	causes  []string
}

func (e *apiError) Error() string { return e.code + ": " + e.summary }

// Error codes and summaries used by the simulator.
const (
	codeValidation   = "E0000001" // Api validation failed
	codeInvalidSess  = "E0000005" // Invalid session
	codeForbidden    = "E0000006"
	codeNotFound     = "E0000007"
	codeInternal     = "E0000009"
	codeInvalidToken = "E0000011"
	codeBadMethod    = "E0000022"
	codeBadCursor    = "E0000029"
	codeBadOperator  = "E0000031"
	codeRateLimit    = "E0000047"
	codeBadFilter    = "E0000053"
)

func errInvalidSession() *apiError {
	return &apiError{status: http.StatusForbidden, code: codeInvalidSess, summary: "Invalid session"}
}

func errInvalidToken() *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeInvalidToken, summary: "Invalid token provided"}
}

func errRateLimited() *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: codeRateLimit, summary: "API call exceeded rate limit due to too many requests."}
}

func errNotFound(path string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound,
		summary: "Not found: Resource not found: " + path + " (HttpRequest)"}
}

func errBadMethod() *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, code: codeBadMethod,
		summary: "The endpoint does not support the provided HTTP method"}
}

func errBadCursor() *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadCursor,
		summary: "Invalid paging request. Ensure the pagination cursor has not been altered"}
}

// errValidation is E0000001: "Api validation failed: 'p': c1. 'p': c2."
// with one cause per message ("p: c1").
func errValidation(param string, messages ...string) *apiError {
	e := &apiError{status: http.StatusBadRequest, code: codeValidation, summary: "Api validation failed:"}
	for i, m := range messages {
		if i > 0 {
			e.summary += "."
		}
		e.summary += " '" + param + "': " + m
		e.causes = append(e.causes, param+": "+m)
	}
	return e
}

func errFilter(summary string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadFilter, summary: summary}
}

// injected is the error FailNext sends for a status.
func injected(status int) *apiError {
	switch status {
	case http.StatusTooManyRequests:
		return errRateLimited()
	case http.StatusUnauthorized:
		return errInvalidToken()
	case http.StatusForbidden:
		return &apiError{status: status, code: codeForbidden, summary: "You do not have permission to perform the requested action"}
	case http.StatusNotFound:
		return errNotFound("/api/v1/logs")
	case http.StatusBadRequest:
		return &apiError{status: status, code: codeValidation, summary: "Api validation failed"}
	}
	return &apiError{status: status, code: codeInternal,
		summary: "Your last request took too long to complete. This is likely due to a load issue on our side. Try again later or narrow the query."}
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	body := oktaError{ErrorCode: e.code, ErrorSummary: e.summary, ErrorLink: e.code, ErrorID: "oae" + randToken(22), ErrorCauses: []errorCause{}}
	for _, c := range e.causes {
		body.ErrorCauses = append(body.ErrorCauses, errorCause{ErrorSummary: c})
	}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(e.status)
	w.Write(data)
}
