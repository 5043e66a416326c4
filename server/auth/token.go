package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors returned by [Issuer.Verify]. Every error from Verify wraps exactly
// one of them.
var (
	// ErrTokenInvalid reports a token that is malformed, signed with
	// another key or algorithm, or missing a required claim.
	ErrTokenInvalid = errors.New("whispeer: invalid token")
	// ErrTokenExpired reports a well-signed token past its "exp".
	ErrTokenExpired = errors.New("whispeer: token expired")
	// ErrTokenNotYetValid reports a well-signed token whose "nbf" or "iat"
	// lies in the future.
	ErrTokenNotYetValid = errors.New("whispeer: token not yet valid")
)

// MaxTokenBytes is the longest token Verify parses; longer ones are
// refused before any decoding.
const MaxTokenBytes = 4096

// Claims are the verified contents of a token.
type Claims struct {
	Subject   string    // the user name
	IssuedAt  time.Time // zero if the token has no "iat"
	ExpiresAt time.Time
	ID        string // the "jti" of an application's token, which a [DenyList] may revoke
	Issuer    string // the application that issued the token; "" for the server's own
}

// Issuer signs and verifies HS256 login tokens with one secret.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	leeway time.Duration
	stamps StampFunc // nil: tokens carry no password stamp
	parser *jwt.Parser
}

// StampFunc returns the password stamp of the user named username (see
// [User.PasswordStamp]), and false for a user that does not exist.
type StampFunc func(username string) ([]byte, bool)

// WithPasswordStamps binds tokens to their user's password: Issue adds a
// "pwd" claim, an HMAC of the user's password stamp under the issuer's
// secret, and Verify refuses a token without it or whose claim does not
// match the user's stamp now. Changing a user's password (its hash, or
// its plain text) thus invalidates every token issued before. Pass
// [Users.Stamp].
func WithPasswordStamps(f StampFunc) Option {
	return func(i *Issuer) { i.stamps = f }
}

// stampClaims are the registered claims and the password stamp.
type stampClaims struct {
	jwt.RegisteredClaims
	Password string `json:"pwd,omitempty"`
}

// passwordClaim returns the "pwd" claim for username, or false for an
// unknown user.
func (i *Issuer) passwordClaim(username string) (string, bool) {
	stamp, ok := i.stamps(username)
	if !ok {
		return "", false
	}
	mac := hmac.New(sha256.New, i.secret)
	mac.Write([]byte("whispeer password stamp\x00"))
	mac.Write([]byte(username))
	mac.Write([]byte{0})
	mac.Write(stamp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16]), true
}

// Option configures an [Issuer].
type Option func(*Issuer)

// WithClock makes the Issuer read the time from now instead of time.Now,
// for issuing and for checking "exp", "nbf" and "iat".
func WithClock(now func() time.Time) Option {
	return func(i *Issuer) { i.now = now }
}

// WithLeeway tolerates clock skew of up to d when checking "exp", "nbf"
// and "iat". The default is none, right for tokens that the same server
// issues and verifies.
func WithLeeway(d time.Duration) Option {
	return func(i *Issuer) { i.leeway = d }
}

// NewIssuer returns an Issuer that signs with secret and issues tokens
// valid for ttl. The secret is copied. It fails when the secret is empty
// or ttl is not positive.
func NewIssuer(secret []byte, ttl time.Duration, opts ...Option) (*Issuer, error) {
	if len(secret) == 0 {
		return nil, errors.New("whispeer: empty JWT secret")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("whispeer: token lifetime must be positive, got %s", ttl)
	}
	i := &Issuer{secret: append([]byte(nil), secret...), ttl: ttl, now: time.Now}
	for _, o := range opts {
		o(i)
	}
	i.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(i.leeway),
		jwt.WithTimeFunc(i.now),
	)
	return i, nil
}

// Issue returns a signed token for username with "sub", "iat" and "exp"
// set, "exp" being the issuer's ttl from now (whole seconds), and with
// [WithPasswordStamps] "pwd". It fails for a user that the stamps do not
// know.
func (i *Issuer) Issue(username string) (string, error) {
	if username == "" {
		return "", errors.New("whispeer: token for an empty user name")
	}
	now := i.now()
	claims := stampClaims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   username,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
	}}
	if i.stamps != nil {
		pwd, ok := i.passwordClaim(username)
		if !ok {
			return "", fmt.Errorf("whispeer: token for unknown user %q", username)
		}
		claims.Password = pwd
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(i.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks token's signature, algorithm (HS256 only), expiry and
// issue time and, with [WithPasswordStamps], that it was issued for the
// user's current password, and returns its claims. The error wraps
// ErrTokenExpired, ErrTokenNotYetValid or, for every other failure,
// ErrTokenInvalid; its text says why but never repeats the token.
func (i *Issuer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrTokenInvalid, MaxTokenBytes)
	}
	var sc stampClaims
	rc := &sc.RegisteredClaims
	if _, err := i.parser.ParseWithClaims(token, &sc, i.key); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return Claims{}, ErrTokenExpired
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return Claims{}, ErrTokenNotYetValid
		}
		return Claims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if rc.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrTokenInvalid)
	}
	if i.stamps != nil {
		want, ok := i.passwordClaim(rc.Subject)
		if !ok || !hmac.Equal([]byte(sc.Password), []byte(want)) {
			return Claims{}, fmt.Errorf("%w: issued for another password of the user, or for no user", ErrTokenInvalid)
		}
	}
	c := Claims{Subject: rc.Subject, ExpiresAt: rc.ExpiresAt.Time}
	if rc.IssuedAt != nil {
		c.IssuedAt = rc.IssuedAt.Time
	}
	return c, nil
}

// key is the jwt.Keyfunc: it returns the secret for HS256 tokens only. The
// parser already refuses other algorithms; this check keeps that true
// whatever the parser options become.
func (i *Issuer) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	return i.secret, nil
}
