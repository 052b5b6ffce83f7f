package oidctest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// Client is a client registered at the test provider.
type Client struct {
	ID     string
	Secret string // empty: a public client, which authenticates with PKCE alone

	// RedirectURIs are the registered redirect URIs, matched exactly. If
	// empty, any redirect URI is accepted.
	RedirectURIs []string

	// PostLogoutRedirectURIs are the registered post-logout redirect URIs.
	// If empty, any is accepted.
	PostLogoutRedirectURIs []string

	// BackchannelLogoutURI, if set, receives a logout token when a session
	// of this client ends at the provider (end_session or Server.Logout).
	BackchannelLogoutURI string

	// AuthMethod is how the client must authenticate at the token and
	// revocation endpoints: AuthClientSecretBasic, AuthClientSecretPost,
	// AuthClientSecretJWT (an assertion signed with Secret),
	// AuthPrivateKeyJWT (an assertion signed with a key of JWKS) or
	// AuthNone. If empty, any method its credentials allow: the secret
	// methods with a Secret, private_key_jwt with JWKS, none with neither.
	AuthMethod string

	// JWKS is the client's public key set (RFC 7517), as the "jwks" client
	// metadata: its keys verify the client's private_key_jwt assertions,
	// the one whose kid the assertion names. NewServer panics on a set that
	// does not parse or holds a private key.
	JWKS []byte

	// RequirePushedAuthorizationRequests makes the authorization endpoint
	// refuse this client's requests that were not pushed (RFC 9126
	// section 5), without saying so in the discovery document, as
	// providers with a per-client setting do.
	RequirePushedAuthorizationRequests bool
}

// User is an account at the test provider.
type User struct {
	Subject string
	// Claims are the user's claims, such as "name" and "email". The standard
	// ones are released per scope (profile, email, address, phone) in the ID
	// token and at userinfo; others are always released.
	Claims map[string]any
}

// Config configures a Server. Its zero value serves one confidential client
// and one user.
type Config struct {
	// Clients are the registered clients. If empty, DefaultClient.
	Clients []Client

	// Users are the accounts. The first logs in unless an authorization
	// request's login_hint names another by subject or email. If empty,
	// DefaultUser.
	Users []User

	// SigningAlg signs ID tokens, access tokens and logout tokens: RS256,
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA.
	// If empty, RS256.
	SigningAlg string

	// AccessTokenTTL and IDTokenTTL are token lifetimes. If zero, one hour.
	AccessTokenTTL, IDTokenTTL time.Duration

	// AlwaysIssueRefreshToken issues a refresh token with every code grant.
	// If false, only when the offline_access scope was requested.
	AlwaysIssueRefreshToken bool

	// RotateRefreshTokens issues a new refresh token at every refresh and
	// invalidates the one redeemed; redeeming it again is refused
	// (invalid_grant) and counted in Stats.RefreshTokenReuses.
	RotateRefreshTokens bool

	// DeviceCodeTTL is how long a device code is valid (RFC 8628). If
	// zero, 10 minutes.
	DeviceCodeTTL time.Duration

	// DeviceInterval is the device flow's polling interval: advertised in
	// whole seconds (rounded up) and enforced as is, so that a test may
	// use milliseconds: a poll sooner than it after the previous one gets
	// slow_down, and the interval grows by 5 seconds. If zero, 5 seconds.
	DeviceInterval time.Duration

	// RequirePushedAuthorizationRequests makes every authorization
	// request go through the pushed authorization request endpoint (RFC
	// 9126), and the discovery document say so. The endpoint serves
	// either way.
	RequirePushedAuthorizationRequests bool

	// DPoPNonce makes every DPoP proof carry the provider's current nonce
	// (RFC 9449 section 8): a proof without it, or with an old one, is
	// answered use_dpop_nonce (400 at the token endpoint, 401 at userinfo)
	// with the nonce in a DPoP-Nonce header. See RotateDPoPNonce.
	DPoPNonce bool

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// DefaultClient is the client a Server registers when Config.Clients is empty.
// Its secret is long enough to key HS256 (32 bytes).
var DefaultClient = Client{ID: "oidctest-client", Secret: "oidctest-secret-0123456789abcdefgh"}

// DefaultUser is the user of a Server whose Config.Users is empty.
var DefaultUser = User{
	Subject: "alice",
	Claims: map[string]any{
		"name":               "Alice Example",
		"given_name":         "Alice",
		"family_name":        "Example",
		"preferred_username": "alice",
		"email":              "alice@example.com",
		"email_verified":     true,
	},
}

// Stats counts what the provider has served.
type Stats struct {
	Authorizations      int // authorization requests answered with a code
	CodeGrants          int // codes redeemed
	RefreshGrants       int // refresh tokens redeemed successfully
	RefreshTokenReuses  int // redemptions of a rotated-out refresh token
	FailedGrants        int // token requests refused
	ClientAssertions    int // client assertions accepted (client_secret_jwt, private_key_jwt)
	AssertionReplays    int // client assertions refused because their jti was seen before
	UserInfoRequests    int
	Revocations         int
	Introspections      int // introspection requests from authenticated clients
	PushedRequests      int // pushed authorization requests accepted (RFC 9126)
	DPoPProofs          int // DPoP proofs accepted, at the token endpoint and userinfo
	DPoPNonceChallenges int // proofs answered use_dpop_nonce
	DPoPReplays         int // proofs refused because their jti was seen before
	EndSessions         int
	BackchannelLogouts  int // logout tokens delivered with a 200 answer

	ClientCredentialsGrants int // client_credentials tokens issued
	DeviceAuthorizations    int // device codes issued
	DeviceGrants            int // device codes redeemed
	SlowDowns               int // device polls answered slow_down
	TokenExchanges          int // tokens issued by token exchange
}

// Server is a running test OpenID Provider. Create it with NewServer and
// Close it when done. Its methods are safe for concurrent use.
type Server struct {
	// URL is the provider's issuer and base URL, "http://127.0.0.1:port".
	URL string

	cfg      Config
	listener net.Listener
	server   *http.Server
	mux      *http.ServeMux

	mu            sync.Mutex    // guards everything below
	keys          []*signingKey // keys[len-1] signs; all are published
	keysMade      int           // keys made so far, retired ones included: the next is poolKey(alg, keysMade)
	hooks         Hooks
	down          bool
	stats         Stats
	codes         map[string]*grant
	accessTokens  map[string]*grant
	refreshTokens map[string]*refreshToken
	sessions      map[string]*opSession // by sid
	logoutErrors  []error
	assertionIDs  map[string]time.Time      // client ID + "\x00" + jti of client assertions seen, until they expire
	devices       map[string]*deviceRequest // by device code
	userCodes     map[string]string         // device code by normalized user code
	pushed        map[string]*pushedRequest // by request_uri
	dpopNonce     string                    // the current DPoP nonce, with Config.DPoPNonce
	dpopJTIs      map[string]time.Time      // jti of DPoP proofs seen, until they could no longer be valid

	clientKeys map[string][]jose.JSONWebKey // each client's JWKS, by ID; set by NewServer, then read only
	minted     map[string]*mintedToken      // by token: AccessToken, OpaqueAccessToken
}

// grant is what a code, access token or refresh token stands for.
type grant struct {
	client    *Client
	user      *User
	scope     []string
	nonce     string
	redirect  string
	challenge string
	authTime  time.Time
	sid       string
	expires   time.Time
	used      bool
	audience  []string // of an access token minted for other audiences; nil: the client
	subject   string   // of an access token whose sub is not user's (client credentials)
	jkt       string   // the DPoP key the code (dpop_jkt) and its tokens are bound to; "" for Bearer
	acr       string   // the authentication's class: the first of the request's acr_values
}

type refreshToken struct {
	grant   *grant
	rotated bool // redeemed and replaced
	revoked bool
}

// opSession is a login at the provider: one user, one browser.
type opSession struct {
	sid     string
	user    *User
	clients map[string]*Client
}

// NewServer starts a provider on a random port of 127.0.0.1.
func NewServer(cfg Config) *Server {
	if len(cfg.Clients) == 0 {
		cfg.Clients = []Client{DefaultClient}
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{DefaultUser}
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = string(jose.RS256)
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DeviceCodeTTL == 0 {
		cfg.DeviceCodeTTL = 10 * time.Minute
	}
	if cfg.DeviceInterval == 0 {
		cfg.DeviceInterval = 5 * time.Second
	}
	first := newSigningKey(jose.SignatureAlgorithm(cfg.SigningAlg), 0) // panics on an unknown alg, before listening
	clientKeys := parseClientKeys(cfg.Clients)                         // panics on a bad client, before listening
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("oidctest: listen: " + err.Error())
	}
	s := &Server{
		URL:           "http://" + l.Addr().String(),
		cfg:           cfg,
		listener:      l,
		keys:          []*signingKey{first},
		keysMade:      1,
		codes:         make(map[string]*grant),
		accessTokens:  make(map[string]*grant),
		refreshTokens: make(map[string]*refreshToken),
		sessions:      make(map[string]*opSession),
		assertionIDs:  make(map[string]time.Time),
		devices:       make(map[string]*deviceRequest),
		userCodes:     make(map[string]string),
		pushed:        make(map[string]*pushedRequest),
		dpopNonce:     randstr.New(16),
		dpopJTIs:      make(map[string]time.Time),
		clientKeys:    clientKeys,
		minted:        make(map[string]*mintedToken),
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	s.mux.HandleFunc("GET /jwks", s.jwks)
	s.mux.HandleFunc("GET /authorize", s.authorize)
	s.mux.HandleFunc("POST /token", s.token)
	s.mux.HandleFunc("GET /userinfo", s.userinfo)
	s.mux.HandleFunc("POST /userinfo", s.userinfo)
	s.mux.HandleFunc("GET /end_session", s.endSession)
	s.mux.HandleFunc("POST /revoke", s.revoke)
	s.mux.HandleFunc("POST /introspect", s.introspect)
	s.mux.HandleFunc("POST /device_authorization", s.deviceAuthorization)
	s.mux.HandleFunc("GET /device", s.devicePage)
	s.mux.HandleFunc("POST /par", s.par)
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.server.Serve(l)
	return s
}

// Close shuts the provider down.
func (s *Server) Close() {
	s.server.Close()
}

// ServeHTTP serves the provider's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "provider down (oidctest)", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// SetDown makes every endpoint answer 503 while down is true, to test how
// a relying party copes with an unavailable provider.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Client returns the first registered client.
func (s *Server) Client() Client { return s.cfg.Clients[0] }

// RotateKeys makes a new key sign from now on. The old keys stay in the key
// set, as a provider keeps them while tokens they signed are in use.
func (s *Server) RotateKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, newSigningKey(jose.SignatureAlgorithm(s.cfg.SigningAlg), s.keysMade))
	s.keysMade++
}

// RetireOldKeys removes every key but the current one from the key set.
func (s *Server) RetireOldKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[len(s.keys)-1:]
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) findClient(id string) *Client {
	for i := range s.cfg.Clients {
		if s.cfg.Clients[i].ID == id {
			return &s.cfg.Clients[i]
		}
	}
	return nil
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"issuer":                                                s.URL,
		"authorization_endpoint":                                s.URL + "/authorize",
		"token_endpoint":                                        s.URL + "/token",
		"userinfo_endpoint":                                     s.URL + "/userinfo",
		"jwks_uri":                                              s.URL + "/jwks",
		"end_session_endpoint":                                  s.URL + "/end_session",
		"revocation_endpoint":                                   s.URL + "/revoke",
		"introspection_endpoint":                                s.URL + "/introspect",
		"device_authorization_endpoint":                         s.URL + "/device_authorization",
		"scopes_supported":                                      []string{"openid", "profile", "email", "address", "phone", "offline_access"},
		"response_types_supported":                              []string{"code"},
		"response_modes_supported":                              []string{"query", "form_post"},
		"pushed_authorization_request_endpoint":                 s.URL + "/par",
		"require_pushed_authorization_requests":                 s.cfg.RequirePushedAuthorizationRequests,
		"dpop_signing_alg_values_supported":                     dpopAlgs,
		"grant_types_supported":                                 []string{"authorization_code", "refresh_token", "client_credentials", DeviceGrantType, TokenExchangeGrantType},
		"subject_types_supported":                               []string{"public"},
		"id_token_signing_alg_values_supported":                 []string{s.cfg.SigningAlg},
		"token_endpoint_auth_methods_supported":                 authMethods,
		"token_endpoint_auth_signing_alg_values_supported":      assertionAlgs,
		"revocation_endpoint_auth_methods_supported":            authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"introspection_endpoint_auth_methods_supported":         authMethods,
		"code_challenge_methods_supported":                      []string{"S256"},
		"claims_supported":                                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "sid", "name", "email"},
		"authorization_response_iss_parameter_supported":        true,
		"backchannel_logout_supported":                          true,
		"backchannel_logout_session_supported":                  true,
		"frontchannel_logout_supported":                         true,
		"frontchannel_logout_session_supported":                 true,
	}
	s.mu.Lock()
	hook := s.hooks.Discovery
	s.mu.Unlock()
	if hook != nil {
		hook(doc)
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.public())
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, set)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// oauthError answers with an RFC 6749 section 5.2 error.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// redirectWith sends the user agent to uri with q added to its query.
func redirectWith(w http.ResponseWriter, r *http.Request, uri string, q url.Values) {
	u, err := url.Parse(uri)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusBadRequest)
		return
	}
	merged := u.Query()
	for k, v := range q {
		merged[k] = v
	}
	u.RawQuery = merged.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
