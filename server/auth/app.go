package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/server/config"
)

// Defaults of an [[auth.issuers]] entry's limits, taken where the
// configuration leaves them zero.
const (
	DefaultAppTokenBytes = 8192
	DefaultJWKSRefresh   = time.Hour
	DefaultJWKSTimeout   = 5 * time.Second
	DefaultJWKSRefetch   = time.Minute
	DefaultJWKSBytes     = 64 << 10
)

// Apps verifies the tokens of the applications the configuration trusts
// ([[auth.issuers]]), each picked by its token's "iss". It is safe for
// concurrent use; Close stops its JWKS refreshes.
type Apps struct {
	byName   map[string]*AppIssuer
	maxBytes int // the largest MaxTokenBytes
	stop     context.CancelFunc
}

// AppIssuer verifies the tokens of one application.
type AppIssuer struct {
	name     string
	keys     []appKey
	jwks     keyfunc.Keyfunc // nil without a JWKS document
	timeout  time.Duration   // of a JWKS fetch for an unknown kid
	maxBytes int
	grants   grants
	users    *Users // accounts that bound tokens naming them; may be nil
	parser   *jwt.Parser
}

// AppOption configures [NewApps].
type AppOption func(*appOptions)

type appOptions struct {
	now       func() time.Time
	log       *slog.Logger
	transport http.RoundTripper
	users     *Users
}

// WithAppClock makes the issuers read the time from now, for "exp", "nbf"
// and "iat".
func WithAppClock(now func() time.Time) AppOption {
	return func(o *appOptions) { o.now = now }
}

// WithAppLogger sets the logger of failed JWKS fetches.
func WithAppLogger(l *slog.Logger) AppOption {
	return func(o *appOptions) { o.log = l }
}

// WithTransport sets the HTTP transport that fetches JWKS documents.
func WithTransport(rt http.RoundTripper) AppOption {
	return func(o *appOptions) { o.transport = rt }
}

// WithAccounts makes a token whose subject names an account of us act
// within the account's permissions as well as its own.
func WithAccounts(us *Users) AppOption {
	return func(o *appOptions) { o.users = us }
}

// NewApps builds the issuers of the configuration entries, loading their
// keys and fetching their JWKS documents. It fails, naming the entry, on
// a missing or duplicate issuer name, a key that does not fit its
// algorithm, an unreadable key or JWKS file, or an invalid pattern.
func NewApps(entries []config.Issuer, opts ...AppOption) (*Apps, error) {
	o := &appOptions{now: time.Now, log: slog.Default(), transport: http.DefaultTransport}
	for _, opt := range opts {
		opt(o)
	}
	ctx, stop := context.WithCancel(context.Background())
	a := &Apps{byName: make(map[string]*AppIssuer, len(entries)), stop: stop}
	for i, e := range entries {
		iss, err := newAppIssuer(ctx, e, o)
		if err == nil && a.byName[e.Name] != nil {
			err = errors.New("duplicate issuer")
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("auth.issuers[%d] (%q): %w", i, e.Name, err)
		}
		a.byName[e.Name] = iss
		a.maxBytes = max(a.maxBytes, iss.maxBytes)
	}
	return a, nil
}

// Close stops refetching JWKS documents. A nil Apps may be closed.
func (a *Apps) Close() {
	if a != nil {
		a.stop()
	}
}

// Len returns the number of issuers.
func (a *Apps) Len() int { return len(a.byName) }

// Issuer returns the issuer named by token's "iss", read without
// verifying anything, or nil when token names none of a's issuers: it is
// then no application's token.
func (a *Apps) Issuer(token string) *AppIssuer {
	if a == nil || len(a.byName) == 0 || len(token) > a.maxBytes {
		return nil
	}
	_, rest, ok := strings.Cut(token, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(data, &c) != nil {
		return nil
	}
	return a.byName[c.Iss]
}

// newAppIssuer checks one entry and loads its keys, taking the defaults
// of its zero limits.
func newAppIssuer(ctx context.Context, e config.Issuer, o *appOptions) (*AppIssuer, error) {
	if e.Name == "" {
		return nil, errors.New("empty issuer")
	}
	e = withDefaults(e)
	i := &AppIssuer{name: e.Name, timeout: e.JWKSTimeout, maxBytes: e.MaxTokenBytes, users: o.users}
	algs := map[string]bool{}
	for n, ke := range e.Keys {
		k, err := newAppKey(ke)
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", n, err)
		}
		i.keys = append(i.keys, k)
		algs[k.alg] = true
	}
	var err error
	if i.jwks, err = newJWKS(ctx, e, o); err != nil {
		return nil, err
	}
	if i.jwks != nil {
		for _, alg := range publicAlgs {
			algs[alg] = true
		}
	}
	if len(algs) == 0 {
		return nil, errors.New("no keys: set keys, jwks_url or jwks_file")
	}
	if i.grants, err = newGrants(e.Publish, e.Subscribe); err != nil {
		return nil, err
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(slices.Sorted(maps.Keys(algs))),
		jwt.WithIssuer(e.Name),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(e.Leeway),
		jwt.WithTimeFunc(o.now),
	}
	if len(e.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(e.Audience...))
	}
	i.parser = jwt.NewParser(popts...)
	return i, nil
}

// withDefaults returns e with its zero limits set to the defaults.
func withDefaults(e config.Issuer) config.Issuer {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&e.JWKSRefresh, DefaultJWKSRefresh)
	def(&e.JWKSTimeout, DefaultJWKSTimeout)
	def(&e.JWKSRefetch, DefaultJWKSRefetch)
	if e.MaxTokenBytes <= 0 {
		e.MaxTokenBytes = DefaultAppTokenBytes
	}
	if e.JWKSMaxBytes <= 0 {
		e.JWKSMaxBytes = DefaultJWKSBytes
	}
	return e
}

// Name returns the issuer's name, the "iss" of its tokens.
func (i *AppIssuer) Name() string { return i.name }

// appClaims are the claims an application's token may carry.
type appClaims struct {
	jwt.RegisteredClaims
	Whispeer *GrantClaim `json:"whispeer,omitempty"`
}

// Verify checks token's signature with a key pinned to its "alg" (and
// "kid", when the key has one), its "iss", "aud", "exp", "nbf" and "iat",
// and its "whispeer" claim, and returns its claims and the user it
// authenticates. The error wraps ErrTokenExpired, ErrTokenNotYetValid or,
// for every other failure, ErrTokenInvalid; its text never repeats the
// token.
func (i *AppIssuer) Verify(token string) (Claims, *User, error) {
	if len(token) > i.maxBytes {
		return Claims{}, nil, fmt.Errorf("%w: longer than %d bytes", ErrTokenInvalid, i.maxBytes)
	}
	var ac appClaims
	rc := &ac.RegisteredClaims
	if _, err := i.parser.ParseWithClaims(token, &ac, i.key); err != nil {
		return Claims{}, nil, classify(err)
	}
	if rc.Subject == "" {
		return Claims{}, nil, fmt.Errorf("%w: no subject", ErrTokenInvalid)
	}
	if len(rc.Subject) > MaxUsernameBytes {
		return Claims{}, nil, fmt.Errorf("%w: subject longer than %d bytes", ErrTokenInvalid, MaxUsernameBytes)
	}
	u, err := i.grants.user(rc.Subject, ac.Whispeer)
	if err != nil {
		return Claims{}, nil, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if i.users != nil {
		u.within, _ = i.users.Lookup(rc.Subject)
	}
	c := Claims{Subject: rc.Subject, ExpiresAt: rc.ExpiresAt.Time, ID: rc.ID, Issuer: i.name}
	if rc.IssuedAt != nil {
		c.IssuedAt = rc.IssuedAt.Time
	}
	return c, u, nil
}

// classify maps a parser error to the package's errors.
func classify(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrTokenNotYetValid
	}
	return fmt.Errorf("%w: %v", ErrTokenInvalid, err)
}

// key is the jwt.Keyfunc: the configured keys pinned to the token's
// algorithm whose kid, if they have one, is the token's, and the JWKS
// document's key for the token's kid if it fits the algorithm. An HMAC
// algorithm never takes a key from a JWKS document.
func (i *AppIssuer) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, _ := t.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, k := range i.keys {
		if k.alg == alg && (k.kid == "" || k.kid == kid) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	var jwksErr error
	if i.jwks != nil && slices.Contains(publicAlgs, alg) {
		ctx, cancel := context.WithTimeout(context.Background(), i.timeout)
		key, err := i.jwks.KeyfuncCtx(ctx)(t)
		cancel()
		jwksErr = err
		keys := []jwt.VerificationKey{key}
		if ks, ok := key.(jwt.VerificationKeySet); ok {
			keys = ks.Keys
		}
		for _, k := range keys {
			if err == nil && fits(alg, k) == nil {
				set.Keys = append(set.Keys, k)
			}
		}
	}
	switch len(set.Keys) {
	case 0:
		if jwksErr != nil {
			return nil, fmt.Errorf("no key for alg %q and kid %q: %w", alg, kid, jwksErr)
		}
		return nil, fmt.Errorf("no key for alg %q and kid %q", alg, kid)
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}
