package envelope

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseKeyFile parses arbitrary bytes as a key file: bad input is an
// ErrKeyFile, never a panic, and a file that parses writes back to a file
// that parses to the same keyring.
func FuzzParseKeyFile(f *testing.F) {
	kr := newTestKeyring(f)
	if err := kr.SetTopicKey("chat/#", 10, testKey(10)); err != nil {
		f.Fatal(err)
	}
	good, err := MarshalKeyFile(kr)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"current":0,"keys":[]}`))
	f.Add([]byte(`{"version":1,"current":7,"keys":[{"id":7,"key":"AAAA"}]}`))
	f.Add([]byte(`{"version":1,"topics":[{"pattern":"a/+","current":1,"keys":[]}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		kr, err := ParseKeyFile(data)
		if !bytes.Equal(in, data) {
			t.Fatal("ParseKeyFile modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrKeyFile) {
				t.Fatalf("error %v does not wrap ErrKeyFile", err)
			}
			return
		}
		out, err := MarshalKeyFile(kr)
		if err != nil {
			t.Fatalf("a parsed keyring does not marshal: %v", err)
		}
		again, err := ParseKeyFile(out)
		if err != nil {
			t.Fatalf("a marshalled keyring does not parse: %v\n%s", err, out)
		}
		out2, err := MarshalKeyFile(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the keyring:\n%s\n%s", out, out2)
		}
	})
}
