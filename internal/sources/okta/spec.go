package okta

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/spec"
)

// Domains are the Okta domains an org can live under.
var Domains = []string{"okta.com", "oktapreview.com", "okta-emea.com"}

// Spec describes the okta source type to the registry, forms and docs.
var Spec = core.Spec{
	Type:     TypeName,
	Name:     "Okta System Log",
	Summary:  "Polls an Okta org's System Log API (GET /api/v1/logs) and follows its cursor.",
	LogTypes: []string{LogType},
	Description: "Reads Okta's System Log in polling mode (since, sortOrder=ASCENDING) and follows " +
		"the rel=\"next\" links, checkpointing the cursor only after the events are durable. " +
		"Duplicates are removed by event uuid, rate limits are honoured (X-Rate-Limit-* headers, 429), " +
		"and authorization failures show as the source's health error.",
	Fields: []spec.Field{
		{Name: "subdomain", Type: spec.String, Example: "acme",
			Description: "Your org's subdomain: acme for https://acme.okta.com. Required unless base_url is set."},
		{Name: "domain", Type: spec.Enum, Default: "okta.com", Options: Domains,
			Description: "The Okta domain your org lives under."},
		{Name: "base_url", Type: spec.URL, Advanced: true, Example: "http://127.0.0.1:8089",
			Description: "Full org URL; overrides subdomain and domain. For custom domains and the Okta simulator."},
		{Name: "api_token", Type: spec.String, Secret: true, Required: true,
			Description: "An Okta API token (Security > API > Tokens), created by a read-only administrator; " +
				"or, with auth_scheme Bearer, an OAuth 2.0 access token with scope okta.logs.read."},
		{Name: "auth_scheme", Type: spec.Enum, Default: "SSWS", Options: []string{"SSWS", "Bearer"}, Advanced: true,
			Description: "How api_token is sent: SSWS for API tokens, Bearer for OAuth 2.0 access tokens (not refreshed by prowl)."},
		{Name: "poll_interval", Type: spec.Duration, Default: "60s", Min: "5s", Max: "1h",
			Description: "How long to wait after catching up before asking Okta for new events."},
		{Name: "lookback", Type: spec.Duration, Default: "24h", Min: "1m", Max: "2160h",
			Description: "How far back a new source starts reading. Okta keeps 90 days (2160h)."},
		{Name: "limit", Type: spec.Int, Default: strconv.Itoa(DefaultLimit), Min: "1", Max: "1000", Advanced: true,
			Description: "Events per request (Okta's maximum is 1000)."},
		{Name: "dedup_window", Type: spec.Int, Default: strconv.Itoa(DefaultDedupWindow), Min: "0", Max: "100000", Advanced: true,
			Description: "How many recent event uuids are remembered (in the checkpoint) to drop duplicates; 0 disables."},
		core.DropOffField("1h"),
	},
	Check: func(c *core.Config) error {
		sub, base := c.String("subdomain"), c.String("base_url")
		if sub == "" && base == "" {
			return spec.FieldError{Field: "subdomain", Message: "is required (or set base_url)"}
		}
		if base == "" && !subdomainRE.MatchString(sub) {
			return spec.FieldError{Field: "subdomain", Message: fmt.Sprintf("%q is not a subdomain like acme or acme-dev", sub)}
		}
		return nil
	},
	New: newFromSpec,
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func newFromSpec(inst core.Instance, c *core.Config, secrets core.SecretFunc) (core.Source, error) {
	token, err := secrets("api_token")
	if err != nil {
		return nil, fmt.Errorf("okta source %q: secret api_token: %w", inst.ID, err)
	}
	base := c.String("base_url")
	if base == "" {
		base = "https://" + strings.ToLower(c.String("subdomain")) + "." + c.String("domain")
	}
	window := c.Int("dedup_window")
	if window == 0 {
		window = -1 // disabled; New treats 0 as "default"
	}
	return New(inst.ID, inst.Label, Config{
		BaseURL:      base,
		Token:        strings.TrimSpace(string(token)),
		AuthScheme:   c.String("auth_scheme"),
		PollInterval: c.Duration("poll_interval"),
		Lookback:     c.Duration("lookback"),
		Limit:        c.Int("limit"),
		DedupWindow:  window,
	})
}
