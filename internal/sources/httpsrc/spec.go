package httpsrc

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/spec"
)

// Spec describes the http source type to the registry, forms and docs.
var Spec = core.Spec{
	Type:    TypeName,
	Name:    "HTTP push",
	Summary: "Receives events POSTed to /ingest/{sourceId} as NDJSON, a JSON array or one JSON object.",
	Description: "Clients send JSON events, optionally gzip-compressed, authenticated by a bearer token or an " +
		"HMAC-SHA256 signature of the body. A request is answered 200 {\"accepted\":N} only once its events are " +
		"durable; a malformed request is rejected whole with 400 naming the line, so nothing is half-accepted.",
	Push: true,
	Fields: []spec.Field{
		{Name: "log_type", Type: spec.String, Example: "Okta.SystemLog",
			Description: "Log type of the events. Empty: the source's single log type, or classification when it has several."},
		{Name: "auth", Type: spec.Enum, Default: AuthBearer, Options: []string{AuthBearer, AuthHMAC},
			Description: "bearer: clients send Authorization: Bearer <token>. hmac: clients sign the body (as sent, " +
				"before decompression) with HMAC-SHA256 and send the hex digest in signature_header."},
		{Name: "token", Type: spec.String, Secret: true,
			Description: "The bearer token clients must send (auth bearer)."},
		{Name: "hmac_secret", Type: spec.String, Secret: true,
			Description: "The shared HMAC-SHA256 key (auth hmac)."},
		{Name: "signature_header", Type: spec.String, Default: DefaultSignatureHeader, Advanced: true,
			Description: "Header carrying the hex HMAC-SHA256 signature; a sha256= prefix is accepted."},
		{Name: "max_body_bytes", Type: spec.Int, Default: strconv.Itoa(DefaultMaxBody), Min: "1024", Max: strconv.Itoa(256 << 20),
			Advanced: true, Description: "Largest accepted body in bytes, applied before and after gzip decompression (413 above it)."},
		core.DropOffField("0s"),
	},
	Check: func(c *core.Config) error {
		if h := c.String("signature_header"); !validHeaderName(h) {
			return spec.FieldError{Field: "signature_header", Message: fmt.Sprintf("%q is not a valid header name", h)}
		}
		return nil
	},
	New: newFromSpec,
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range h {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func newFromSpec(inst core.Instance, c *core.Config, secrets core.SecretFunc) (core.Source, error) {
	auth := c.String("auth")
	name := "token"
	if auth == AuthHMAC {
		name = "hmac_secret"
	}
	secret, err := secrets(name)
	if err != nil {
		return nil, fmt.Errorf("http source %q: secret %s: %w", inst.ID, name, err)
	}
	logType := c.String("log_type")
	if logType == "" && len(inst.LogTypes) == 1 {
		logType = inst.LogTypes[0]
	}
	return New(inst.ID, inst.Label, Config{
		LogType:         logType,
		Auth:            auth,
		Secret:          bytes.TrimSpace(secret),
		SignatureHeader: http.CanonicalHeaderKey(c.String("signature_header")),
		MaxBody:         int64(c.Int("max_body_bytes")),
	})
}
