package gen

import (
	"fmt"
	"strings"
)

// place is a location as Okta's geo-IP lookup reports it.
type place struct {
	City, State, Country, Postal string
	Lat, Lon                     float64
}

func (p place) geo() *logGeo {
	return &logGeo{City: p.City, State: p.State, Country: p.Country, PostalCode: p.Postal,
		Geolocation: logGeolocation{Lat: p.Lat, Lon: p.Lon}}
}

// network is the autonomous system behind an address (securityContext).
type network struct {
	ASN              int
	Org, ISP, Domain string
	Proxy            bool
}

func (n network) security() logSecurity {
	return logSecurity{AsNumber: ip(n.ASN), AsOrg: sp(n.Org), ISP: sp(n.ISP), Domain: sp(n.Domain), IsProxy: bp(n.Proxy)}
}

// address is one client IP and what Okta knows about it. An address always
// resolves to the same place and network.
type address struct {
	IP    string
	V6    bool
	Place place
	Net   network
}

// agent is a client: user agent string as sent and as Okta parses it.
type agent struct {
	Raw, OS, Browser, Device string
}

func (a agent) userAgent() *logUserAgent {
	return &logUserAgent{RawUserAgent: a.Raw, OS: a.OS, Browser: a.Browser}
}

// home regions of the workforce, with the consumer and mobile networks
// addresses there belong to. Weight is the share of employees.
type region struct {
	Weight float64
	Places []place
	Fixed  []network
	Mobile []network
}

var regions = []region{
	{Weight: 55, Places: []place{
		{"San Francisco", "California", "United States", "94105", 37.7898, -122.3942},
		{"New York", "New York", "United States", "10001", 40.7484, -73.9967},
		{"Austin", "Texas", "United States", "78701", 30.2711, -97.7437},
		{"Chicago", "Illinois", "United States", "60601", 41.8858, -87.6181},
		{"Seattle", "Washington", "United States", "98101", 47.6101, -122.3344},
		{"Denver", "Colorado", "United States", "80202", 39.7525, -104.9995},
		{"Boston", "Massachusetts", "United States", "02110", 42.357, -71.0511},
		{"Atlanta", "Georgia", "United States", "30303", 33.7529, -84.3915},
	}, Fixed: []network{
		{7922, "comcast", "comcast cable communications llc", "comcast.net", false},
		{701, "verizon business", "verizon", "verizon.net", false},
		{7018, "at&t services", "at&t corp.", "att.net", false},
		{20115, "charter communications", "spectrum", "charter.com", false},
	}, Mobile: []network{
		{21928, "t-mobile usa, inc.", "t-mobile usa, inc.", "t-mobile.com", false},
		{22394, "verizon wireless", "verizon wireless", "verizonwireless.com", false},
	}},
	{Weight: 8, Places: []place{
		{"Toronto", "Ontario", "Canada", "M5H 2N2", 43.6511, -79.3832},
	}, Fixed: []network{{812, "rogers communications canada inc.", "rogers", "rogers.com", false}},
		Mobile: []network{{577, "bell canada", "bell canada", "bell.ca", false}}},
	{Weight: 12, Places: []place{
		{"London", "England", "United Kingdom", "EC2V 7HH", 51.5155, -0.0922},
		{"Manchester", "England", "United Kingdom", "M1 1AE", 53.4808, -2.2426},
	}, Fixed: []network{{2856, "british telecommunications plc", "bt", "bt.com", false}},
		Mobile: []network{{25135, "vodafone limited", "vodafone", "vodafone.co.uk", false}}},
	{Weight: 5, Places: []place{
		{"Dublin", "Leinster", "Ireland", "D02 X285", 53.3441, -6.2675},
	}, Fixed: []network{{5466, "eircom limited", "eir", "eir.ie", false}},
		Mobile: []network{{15502, "vodafone ireland limited", "vodafone ireland", "vodafone.ie", false}}},
	{Weight: 8, Places: []place{
		{"Berlin", "Land Berlin", "Germany", "10117", 52.517, 13.3889},
		{"Munich", "Bavaria", "Germany", "80331", 48.1372, 11.5755},
	}, Fixed: []network{{3320, "deutsche telekom ag", "deutsche telekom ag", "telekom.de", false}},
		Mobile: []network{{3209, "vodafone gmbh", "vodafone gmbh", "vodafone.de", false}}},
	{Weight: 8, Places: []place{
		{"Bengaluru", "Karnataka", "India", "560001", 12.9716, 77.5946},
	}, Fixed: []network{{24560, "bharti airtel ltd.", "airtel broadband", "airtel.in", false}},
		Mobile: []network{{55836, "reliance jio infocomm limited", "reliance jio", "jio.com", false}}},
	{Weight: 4, Places: []place{
		{"Sydney", "New South Wales", "Australia", "2000", -33.8688, 151.2093},
	}, Fixed: []network{{1221, "telstra limited", "telstra", "telstra.com.au", false}},
		Mobile: []network{{4804, "optus", "singtel optus pty ltd", "optus.com.au", false}}},
}

// hostile places and networks: hosting providers, proxies and VPN exits
// that the attack scenarios come from.
var hostileSites = []struct {
	Place place
	Net   network
}{
	{place{"Bucharest", "Bucuresti", "Romania", "010011", 44.4354, 26.1033},
		network{9009, "m247 europe srl", "m247 ltd", "m247.com", true}},
	{place{"Amsterdam", "North Holland", "Netherlands", "1012", 52.374, 4.8897},
		network{14061, "digitalocean, llc", "digitalocean", "digitalocean.com", false}},
	{place{"Frankfurt am Main", "Hesse", "Germany", "60313", 50.1155, 8.6842},
		network{24940, "hetzner online gmbh", "hetzner online gmbh", "hetzner.com", false}},
	{place{"Sao Paulo", "Sao Paulo", "Brazil", "01310-100", -23.5613, -46.6565},
		network{20473, "the constant company, llc", "vultr holdings llc", "vultr.com", false}},
	{place{"Singapore", "Singapore", "Singapore", "018989", 1.2897, 103.8501},
		network{16276, "ovh sas", "ovh sas", "ovh.net", false}},
	{place{"Lagos", "Lagos", "Nigeria", "100001", 6.455, 3.3941},
		network{29465, "mtn nigeria communication limited", "mtn nigeria", "mtnnigeria.net", false}},
	{place{"Hanoi", "Hanoi", "Vietnam", "100000", 21.0285, 105.8542},
		network{7552, "viettel group", "viettel corporation", "viettel.com.vn", false}},
	{place{"Kyiv", "Kyiv City", "Ukraine", "01001", 50.4501, 30.5234},
		network{60068, "datacamp limited", "cdn77.com", "cdn77.com", true}},
}

// Corporate datacenter where service integrations run.
var cloudEast = address{IP: "198.51.100.210", Place: place{"Ashburn", "Virginia", "United States", "20149", 39.0469, -77.4903},
	Net: network{14618, "amazon data services nova", "amazon.com inc.", "amazonaws.com", false}}

var desktopAgents = []agent{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Windows 10", "CHROME", "Computer"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Windows 10", "EDGE_CHROMIUM", "Computer"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Mac OS X", "CHROME", "Computer"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Mac OS X", "SAFARI", "Computer"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:127.0) Gecko/20100101 Firefox/127.0", "Mac OS X", "FIREFOX", "Computer"},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "Linux", "FIREFOX", "Computer"},
}

var desktopWeights = []float64{30, 12, 28, 12, 8, 10}

var phoneAgents = []agent{
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "MOBILE_SAFARI", "Mobile"},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36", "Android", "CHROME", "Mobile"},
	{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36", "Android", "CHROME", "Mobile"},
}

var hostileAgents = []agent{
	{"python-requests/2.31.0", "Unknown", "UNKNOWN", "Unknown"},
	{"curl/8.4.0", "Unknown", "UNKNOWN", "Unknown"},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/122.0.6261.94 Safari/537.36", "Linux", "CHROME", "Computer"},
	{"Go-http-client/1.1", "Unknown", "UNKNOWN", "Unknown"},
}

var firstNames = []string{
	"Jane", "Ravi", "Ming", "Olivia", "Liam", "Sofia", "Noah", "Amara", "Lucas", "Priya",
	"Mateo", "Hannah", "Kenji", "Chloe", "Ethan", "Fatima", "Diego", "Grace", "Omar", "Isla",
	"Jonas", "Leila", "Marcus", "Nadia", "Owen", "Rosa", "Samuel", "Tara", "Victor", "Yuki",
	"Aisha", "Ben", "Carmen", "Daniel", "Elena", "Felix", "Gabriel", "Hiro", "Ingrid", "Jamal",
	"Kara", "Luis", "Maya", "Nikhil", "Paula", "Quentin", "Rachel", "Stefan", "Tomas", "Uma",
	"Wei", "Zara", "Adrian", "Bianca", "Connor", "Dana", "Emil", "Freya", "Hugo", "Ivy",
}

var lastNames = []string{
	"Doe", "Patel", "Chen", "Garcia", "Smith", "Rossi", "Kim", "Okafor", "Muller", "Sharma",
	"Lopez", "Novak", "Tanaka", "Dubois", "Brown", "Haddad", "Silva", "Nguyen", "Khan", "Walsh",
	"Berg", "Ahmadi", "Reed", "Ivanova", "Price", "Costa", "Owusu", "Fischer", "Larsen", "Sato",
	"Bello", "Cohen", "Diaz", "Evans", "Ferreira", "Gupta", "Hansen", "Ito", "Jensen", "Kowalski",
	"Lind", "Moreno", "Nakamura", "OBrien", "Park", "Quinn", "Ramos", "Schmidt", "Torres", "Vega",
	"Wagner", "Xu", "Young", "Zimmer", "Abbott", "Banerjee", "Castillo", "Dietrich", "Eriksen", "Tran",
}

// oktaUser is one member of the synthetic workforce.
type oktaUser struct {
	ID, Login, Name string
	Home            place
	HomeAddr        address
	MobileAddr      address
	Computer        agent
	Phone           agent
	PhoneDevice     logDevice
	OVEnrollment    string // Okta Verify authenticator enrollment id
	PasswordEnroll  string
	Admin           bool
	Groups          []*oktaGroup
	Apps            []*oktaApp
	Country         string
	region          int
}

func (u *oktaUser) actor() logActor {
	return logActor{ID: u.ID, Type: "User", AlternateID: u.Login, DisplayName: u.Name}
}

func (u *oktaUser) target() logTarget {
	return logTarget{ID: u.ID, Type: "User", AlternateID: u.Login, DisplayName: u.Name}
}

type oktaApp struct {
	ID, Name, Label, Mode, Slug string
	AppUserPrefix               string
}

type oktaGroup struct{ ID, Name string }

// oktaClient is an OAuth service integration.
type oktaClient struct {
	ID, Name string
	Agent    agent
	Scopes   string
	Owner    *oktaUser
}

// world is the synthetic Okta org: people, apps, groups, policies.
type world struct {
	users      []*oktaUser
	admins     []*oktaUser
	apps       []*oktaApp
	dashboard  *oktaApp
	adminApp   *oktaApp
	groups     []*oktaGroup
	clients    []*oktaClient
	authServer string
	policies   []policyInfo
	zones      []logTarget
	orgSystem  logActor
	hostile    []address
}

type policyInfo struct {
	ID, Name, Type string
	RuleID, Rule   string
}

func oktaID(r *rng, prefix string) string { return prefix + r.token(17) }

var appCatalog = []struct{ Name, Label, Mode, Slug string }{
	{"salesforce", "Salesforce.com", "SAML 2.0", "salesforce"},
	{"slack", "Slack", "SAML 2.0", "slack"},
	{"google", "Google Workspace", "SAML 2.0", "google"},
	{"zoomus", "Zoom", "SAML 2.0", "zoomus"},
	{"github_enterprise", "GitHub Enterprise Cloud", "SAML 2.0", "github"},
	{"amazon_aws_sso", "AWS IAM Identity Center", "SAML 2.0", "amazon_aws_sso"},
	{"atlassian", "Atlassian Cloud", "SAML 2.0", "atlassian"},
	{"workday", "Workday", "SAML 2.0", "workday"},
	{"box", "Box", "SAML 2.0", "boxnet"},
	{"oidc_client", "Expense Portal", "OpenID Connect", "oidc_client"},
}

var groupNames = []string{"Everyone", "Engineering", "Sales", "Finance", "People Ops", "Contractors", "IT Admins", "Security"}

func newWorld(seed int64, nUsers int) *world {
	r := newRNG(seed, 1)
	w := &world{authServer: oktaID(r, "aus")}
	w.orgSystem = logActor{ID: oktaID(r, "0oa"), Type: "SystemPrincipal", AlternateID: "system@okta.com", DisplayName: "Okta System"}
	for _, a := range appCatalog {
		w.apps = append(w.apps, &oktaApp{ID: oktaID(r, "0oa"), Name: a.Name, Label: a.Label, Mode: a.Mode, Slug: a.Slug})
	}
	w.dashboard = &oktaApp{ID: oktaID(r, "0oa"), Name: "Okta Dashboard", Label: "Okta Dashboard", Mode: "Okta"}
	w.adminApp = &oktaApp{ID: oktaID(r, "0oa"), Name: "Okta Admin Console", Label: "Okta Admin Console", Mode: "Okta"}
	for _, g := range groupNames {
		w.groups = append(w.groups, &oktaGroup{ID: oktaID(r, "00g"), Name: g})
	}
	w.policies = []policyInfo{
		{oktaID(r, "00p"), "Default Policy", "OktaSignOn", oktaID(r, "0pr"), "Default Rule"},
		{oktaID(r, "00p"), "Employees Sign-On", "OktaSignOn", oktaID(r, "0pr"), "Require MFA outside corporate network"},
		{oktaID(r, "00p"), "Employees Password Policy", "PASSWORD", oktaID(r, "0pr"), "Default password rule"},
		{oktaID(r, "00p"), "MFA Enrollment", "MFA_ENROLL", oktaID(r, "0pr"), "Enroll Okta Verify"},
	}
	w.zones = []logTarget{
		{ID: oktaID(r, "nzo"), Type: "NetworkZone", AlternateID: "unknown", DisplayName: "Corporate Offices"},
		{ID: oktaID(r, "nzo"), Type: "NetworkZone", AlternateID: "unknown", DisplayName: "Blocked Hosting Providers"},
	}

	// Workforce: unique first/last combinations, then numbered logins.
	seen := map[string]int{}
	var regionW []float64
	for _, rg := range regions {
		regionW = append(regionW, rg.Weight)
	}
	for i := 0; i < nUsers; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		login := strings.ToLower(first + "." + last)
		seen[login]++
		if n := seen[login]; n > 1 {
			login = fmt.Sprintf("%s%d", login, n)
		}
		ri := r.weighted(regionW)
		rg := regions[ri]
		u := &oktaUser{
			ID: oktaID(r, "00u"), Login: login + "@example.com", Name: first + " " + last,
			Home: pick(r, rg.Places), region: ri,
			Computer: desktopAgents[r.weighted(desktopWeights)], Phone: pick(r, phoneAgents),
			OVEnrollment: oktaID(r, "pfd"), PasswordEnroll: oktaID(r, "lae"),
		}
		u.Country = u.Home.Country
		u.HomeAddr = address{IP: userIPv4(i), Place: u.Home, Net: pick(r, rg.Fixed)}
		if u.HomeAddr.IP == "" {
			u.HomeAddr.IP, u.HomeAddr.V6 = fmt.Sprintf("2001:db8:%x:%x::1", 0x100+i/0x10000, i%0x10000), true
		}
		u.MobileAddr = address{IP: fmt.Sprintf("2001:db8:%x:%x:%x::%x", 0xa000+ri, r.intn(0x10000), r.intn(0x10000), r.between(1, 0xffff)),
			V6: true, Place: u.Home, Net: pick(r, rg.Mobile)}
		platform, ver := "IOS", "17.5.1"
		if u.Phone.OS == "Android" {
			platform, ver = "ANDROID", "14"
		}
		u.PhoneDevice = logDevice{ID: oktaID(r, "guo"), Name: first + "'s phone", OSPlatform: platform, OSVersion: ver,
			Managed: r.chance(0.4), Registered: true, DiskEncryptionType: "FULL", ScreenLockType: "BIOMETRIC",
			Jailbreak: false, SecureHardwarePresent: true}
		u.Groups = []*oktaGroup{w.groups[0], w.groups[1+r.intn(5)]}
		if i < 4 {
			// The first accounts are the IT administrators.
			u.Admin = true
			u.Groups = append(u.Groups, w.groups[6])
			w.admins = append(w.admins, u)
		}
		for _, a := range w.apps {
			if a.Slug == "google" || a.Slug == "slack" || a.Slug == "zoomus" || r.chance(0.35) {
				u.Apps = append(u.Apps, a)
			}
		}
		w.users = append(w.users, u)
	}
	w.clients = []*oktaClient{
		{ID: oktaID(r, "0oa"), Name: "HR Sync Service", Scopes: "okta.users.manage okta.groups.manage",
			Agent: agent{"okta-sdk-python/2.9.8 python/3.11.9 Linux/6.1.0-21-amd64", "Linux", "UNKNOWN", "Unknown"}},
		{ID: oktaID(r, "0oa"), Name: "Expense Portal Backend", Scopes: "openid profile email",
			Agent: agent{"okta-sdk-java/16.0.0 java/17.0.11 Linux/5.15.0", "Linux", "UNKNOWN", "Unknown"}},
		{ID: oktaID(r, "0oa"), Name: "Deploy Pipeline", Scopes: "okta.apps.read okta.groups.read",
			Agent: agent{"okta-sdk-golang/2.20.0 golang/go1.22.4 linux/amd64", "Linux", "UNKNOWN", "Unknown"}},
	}
	for i := 0; i < 254; i++ {
		site := hostileSites[i%len(hostileSites)]
		w.hostile = append(w.hostile, address{IP: fmt.Sprintf("203.0.113.%d", i+1), Place: site.Place, Net: site.Net})
	}
	return w
}

// userIPv4 gives the i-th employee a home address from the documentation
// ranges 192.0.2.0/24 and 198.51.100.0/24 (hosts 1-200; .201 and up are kept
// for infrastructure); later employees get IPv6 addresses.
func userIPv4(i int) string {
	switch {
	case i < 200:
		return fmt.Sprintf("192.0.2.%d", i+1)
	case i < 400:
		return fmt.Sprintf("198.51.100.%d", i-199)
	}
	return ""
}

// hostileAddr returns the attacker address with index i (wrapping).
func (w *world) hostileAddr(i int) address { return w.hostile[i%len(w.hostile)] }
