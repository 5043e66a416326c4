package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/whispeer-io/whispeer/server/config"
)

// ErrJWKSTooLarge reports a JWKS document longer than the issuer's
// jwks_max_bytes.
var ErrJWKSTooLarge = errors.New("whispeer: JWKS document too large")

// newJWKS returns the key set of an issuer's JWKS document, nil when it
// has none. A document from a URL is fetched now, refetched every
// e.JWKSRefresh and, at most once per e.JWKSRefetch, when a token names a
// "kid" the set lacks, each fetch bounded by e.JWKSTimeout and
// e.JWKSMaxBytes, until ctx ends. A failed first fetch is logged, not
// fatal: tokens are refused until a fetch succeeds.
func newJWKS(ctx context.Context, e config.Issuer, o *appOptions) (keyfunc.Keyfunc, error) {
	switch {
	case e.JWKSURL != "" && e.JWKSFile != "":
		return nil, errors.New("set jwks_url or jwks_file, not both")
	case e.JWKSFile != "":
		data, err := readLimited(e.JWKSFile, e.JWKSMaxBytes)
		if err != nil {
			return nil, err
		}
		var set jwkset.JWKSMarshal
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("jwks_file: %w", err)
		}
		store, err := set.ToStorage()
		if err != nil {
			return nil, fmt.Errorf("jwks_file: %w", err)
		}
		return keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store})
	case e.JWKSURL == "":
		return nil, nil
	}
	client := &http.Client{Transport: limitedTransport{rt: o.transport, max: int64(e.JWKSMaxBytes)}}
	log := o.log
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{e.JWKSURL}, keyfunc.Override{
		Client:            client,
		HTTPTimeout:       e.JWKSTimeout,
		RefreshInterval:   e.JWKSRefresh,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(e.JWKSRefetch), 1),
		// A token whose kid is unknown while the limiter holds fetches
		// back is refused at once rather than left waiting.
		RateLimitWaitMax: e.JWKSTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				log.Warn("whispeer: JWKS fetch failed", "issuer", e.Name, "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks_url: %w", err)
	}
	return k, nil
}

// limitedTransport fails a response body longer than max bytes.
type limitedTransport struct {
	rt  http.RoundTripper
	max int64
}

// RoundTrip implements http.RoundTripper.
func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody is a response body that fails past its limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, ErrJWKSTooLarge
	}
	return n, err
}

// Close implements io.Closer.
func (b *limitedBody) Close() error { return b.rc.Close() }
