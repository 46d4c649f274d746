package gen

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// The types below mirror Okta's LogEvent with its field order and explicit
// nulls (a nil pointer or slice is written as null), so that generated
// events look like what GET /api/v1/logs returns.

type logEvent struct {
	UUID                  string          `json:"uuid"`
	Published             string          `json:"published"`
	EventType             string          `json:"eventType"`
	Version               string          `json:"version"`
	Severity              string          `json:"severity"`
	LegacyEventType       *string         `json:"legacyEventType"`
	DisplayMessage        string          `json:"displayMessage"`
	Actor                 logActor        `json:"actor"`
	Client                logClient       `json:"client"`
	Device                *logDevice      `json:"device"`
	AuthenticationContext logAuthContext  `json:"authenticationContext"`
	Outcome               logOutcome      `json:"outcome"`
	SecurityContext       logSecurity     `json:"securityContext"`
	DebugContext          logDebugContext `json:"debugContext"`
	Transaction           logTransaction  `json:"transaction"`
	Request               logRequest      `json:"request"`
	Target                []logTarget     `json:"target"`
}

type logActor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
	DetailEntry kv     `json:"detailEntry"`
}

type logTarget struct {
	ID            string      `json:"id"`
	Type          string      `json:"type"`
	AlternateID   string      `json:"alternateId"`
	DisplayName   string      `json:"displayName"`
	DetailEntry   kv          `json:"detailEntry"`
	ChangeDetails *changeInfo `json:"changeDetails,omitempty"`
}

type changeInfo struct {
	From kv `json:"from"`
	To   kv `json:"to"`
}

type logUserAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

type logClient struct {
	UserAgent           *logUserAgent `json:"userAgent"`
	Zone                *string       `json:"zone"`
	Device              *string       `json:"device"`
	ID                  *string       `json:"id"`
	IPAddress           *string       `json:"ipAddress"`
	GeographicalContext *logGeo       `json:"geographicalContext"`
}

type logGeo struct {
	City        string         `json:"city"`
	State       string         `json:"state"`
	Country     string         `json:"country"`
	PostalCode  string         `json:"postalCode"`
	Geolocation logGeolocation `json:"geolocation"`
}

type logGeolocation struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type logDevice struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	OSPlatform            string `json:"os_platform"`
	OSVersion             string `json:"os_version"`
	Managed               bool   `json:"managed"`
	Registered            bool   `json:"registered"`
	DeviceIntegrator      any    `json:"device_integrator"`
	DiskEncryptionType    string `json:"disk_encryption_type"`
	ScreenLockType        string `json:"screen_lock_type"`
	Jailbreak             any    `json:"jailbreak"`
	SecureHardwarePresent bool   `json:"secure_hardware_present"`
}

type logIssuer struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type logAuthContext struct {
	AuthenticationProvider *string    `json:"authenticationProvider"`
	CredentialProvider     *string    `json:"credentialProvider"`
	CredentialType         *string    `json:"credentialType"`
	Issuer                 *logIssuer `json:"issuer"`
	Interface              *string    `json:"interface"`
	AuthenticationStep     int        `json:"authenticationStep"`
	RootSessionID          *string    `json:"rootSessionId"`
	ExternalSessionID      *string    `json:"externalSessionId"`
}

type logOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

type logSecurity struct {
	AsNumber *int    `json:"asNumber"`
	AsOrg    *string `json:"asOrg"`
	ISP      *string `json:"isp"`
	Domain   *string `json:"domain"`
	IsProxy  *bool   `json:"isProxy"`
}

type logDebugContext struct {
	DebugData kv `json:"debugData"`
}

type logTransaction struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Detail kv     `json:"detail"`
}

type logRequest struct {
	IPChain []logIPChain `json:"ipChain"`
}

type logIPChain struct {
	IP                  string  `json:"ip"`
	GeographicalContext *logGeo `json:"geographicalContext"`
	Version             string  `json:"version"`
	Source              *string `json:"source"`
}

// kv is a JSON object that keeps its keys in insertion order (Okta writes
// debugData as requestId, requestUri, url, ... rather than sorted). A nil kv
// is written as null; use kv{} for an empty object.
type kv []kvPair

type kvPair struct {
	Key   string
	Value any
}

func (m kv) with(key string, value any) kv {
	for i := range m {
		if m[i].Key == key {
			m[i].Value = value
			return m
		}
	}
	return append(m, kvPair{key, value})
}

func (m kv) get(key string) (any, bool) {
	for _, p := range m {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// MarshalJSON writes the pairs in order.
func (m kv) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(p.Key))
		b.WriteByte(':')
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p.Value); err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(v.Bytes(), []byte("\n")))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func sp(s string) *string { return &s }
func ip(n int) *int       { return &n }
func bp(b bool) *bool     { return &b }

// nullable is nil for the empty string.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// oktaTime formats t the way Okta writes published: UTC, milliseconds, Z.
func oktaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// marshalEvent encodes e compactly. HTML escaping is off: Okta writes
// "<" and "&" as they are.
func marshalEvent(e *logEvent) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
