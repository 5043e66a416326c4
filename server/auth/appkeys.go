package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/whispeer-io/whispeer/server/config"
)

// MinRSABits is the smallest RSA modulus a key may have.
const MinRSABits = 2048

// MinSecretBytes is the shortest secret an HMAC key of an application may
// have: the size of an HS256 tag.
const MinSecretBytes = 32

// maxKeyFileBytes bounds a PEM file read for a public key.
const maxKeyFileBytes = 64 << 10

// hmacAlgs and publicAlgs are the algorithms an application's keys may be
// pinned to. "none" is not among them, and no algorithm of one list
// accepts a key of the other.
var (
	hmacAlgs   = []string{"HS256", "HS384", "HS512"}
	publicAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// appKey is a key of an application, pinned to one algorithm.
type appKey struct {
	kid string
	alg string
	key any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// newAppKey checks and loads one configured key.
func newAppKey(e config.IssuerKey) (appKey, error) {
	k := appKey{kid: e.KID, alg: e.Algorithm}
	secret := e.Secret.Reveal()
	sources := 0
	for _, set := range []bool{secret != "", e.PublicKey != "", e.PublicKeyFile != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return k, errors.New("set exactly one of secret, public_key and public_key_file")
	}
	if secret != "" {
		if len(secret) < MinSecretBytes {
			return k, fmt.Errorf("secret shorter than %d bytes", MinSecretBytes)
		}
		k.key = []byte(secret)
	} else {
		data := []byte(e.PublicKey)
		if e.PublicKeyFile != "" {
			var err error
			if data, err = readLimited(e.PublicKeyFile, maxKeyFileBytes); err != nil {
				return k, err
			}
		}
		var err error
		if k.key, err = parsePublicKey(data); err != nil {
			return k, err
		}
	}
	if err := fits(k.alg, k.key); err != nil {
		return k, err
	}
	return k, nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is longer than %d bytes", path, limit)
	}
	return data, nil
}

// parsePublicKey parses a PEM "PUBLIC KEY" (PKIX) block, or an "RSA PUBLIC
// KEY" (PKCS #1) one.
func parsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("public key: PEM block %q, want PUBLIC KEY", block.Type)
}

// fits reports why key cannot verify tokens of algorithm alg, or nil when
// it can. It keeps every algorithm to its own kind of key, so that a
// public key is never taken for an HMAC secret.
func fits(alg string, key any) error {
	ok := false
	switch k := key.(type) {
	case []byte:
		ok = alg == "HS256" || alg == "HS384" || alg == "HS512"
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits: at least %d are needed", k.N.BitLen(), MinRSABits)
		}
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			ok = true
		}
	case *ecdsa.PublicKey:
		ok = alg == "ES256" && k.Curve == elliptic.P256() ||
			alg == "ES384" && k.Curve == elliptic.P384() ||
			alg == "ES512" && k.Curve == elliptic.P521()
	case ed25519.PublicKey:
		ok = alg == "EdDSA"
	}
	if !ok {
		return fmt.Errorf("algorithm %q does not fit a key of type %T", alg, key)
	}
	return nil
}
