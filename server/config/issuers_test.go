package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const issuersTOML = `
[[auth.issuers]]
issuer = "https://app.example"
audience = ["whispeer"]
leeway = "5s"
publish = ["chat/#"]
subscribe = ["chat/#", "users/{sub}/#"]
jwks_url = "https://app.example/jwks.json"
jwks_refetch = "30s"

[[auth.issuers.keys]]
kid = "k1"
algorithm = "HS256"
secret = "a secret of thirty-two bytes or more"
`

func TestLoad_Issuers(t *testing.T) {
	c, err := Load(Options{ConfigFile: writeFile(t, "whispeer.toml", issuersTOML), Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.Issuers) != 1 {
		t.Fatalf("issuers = %+v", c.Auth.Issuers)
	}
	iss := c.Auth.Issuers[0]
	if iss.Name != "https://app.example" || iss.Leeway != 5*time.Second || iss.JWKSRefetch != 30*time.Second ||
		len(iss.Subscribe) != 2 || len(iss.Keys) != 1 || iss.Keys[0].Secret.Reveal() != "a secret of thirty-two bytes or more" {
		t.Fatalf("issuer = %+v", iss)
	}
	if strings.Contains(fmt.Sprintf("%+v", c), "thirty-two") {
		t.Fatal("the key's secret is printed")
	}
}

func TestLoad_IssuersStrict(t *testing.T) {
	bad := strings.Replace(issuersTOML, "leeway", "lee_way", 1)
	if _, err := Load(Options{ConfigFile: writeFile(t, "whispeer.toml", bad), Environ: []string{}}); err == nil {
		t.Fatal("an unknown key of an issuer was accepted")
	}
}
