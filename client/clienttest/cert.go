package clienttest

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/whispeer-io/whispeer/internal/testcert"
)

// selfSigned returns a certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) { return testcert.New() }
