package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/server/config"
)

// BenchmarkAppVerify measures the verification of an application's token
// with a "whispeer" claim, per algorithm: reading its issuer, checking its
// signature and claims, and building its user.
func BenchmarkAppVerify(b *testing.B) {
	for _, c := range algCases(b) {
		b.Run(c.method.Alg(), func(b *testing.B) {
			a := newTestApps(b, config.Issuer{Keys: []config.IssuerKey{c.key}})
			tok := signApp(b, c.method, c.good, "", jwt.MapClaims{"whispeer": GrantClaim{
				Pub: []string{"chat/room1"}, Sub: []string{"chat/+", "users/{sub}/#"},
			}})
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := a.Issuer(tok).Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
