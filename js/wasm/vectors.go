//go:build js && wasm && whispeer_vectors

package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/whispeer-io/whispeer/envelope"
)

// vector is an entry of envelope/testdata/vectors.json, the fields that
// build its engine.
type vector struct {
	AEAD        envelope.AEAD        `json:"aead"`
	Compression envelope.Compression `json:"compression"`
	KeySource   string               `json:"key_source"`
	Pattern     string               `json:"pattern"`
	Key         string               `json:"key"`
	KeyID       uint32               `json:"key_id"`
	Nonce       string               `json:"nonce"`
}

// sealVector and openVector take a vector's JSON, its topic, id and
// plaintext or envelope (the input), and seal or open with an engine built
// as envelope/vectors_test.go builds it: the vector's key, algorithms and
// nonce, compressing from the first byte.
//
//go:wasmexport whispeer_seal_vector
func sealVector(vec, topic, id, n int32) int32 {
	return vectorCall((*envelope.Engine).Seal, vec, topic, id, n)
}

//go:wasmexport whispeer_open_vector
func openVector(vec, topic, id, n int32) int32 {
	return vectorCall((*envelope.Engine).Open, vec, topic, id, n)
}

func vectorCall(fn sealOrOpen, vec, topic, id, n int32) int32 {
	a, ok := args(vec, topic, id, n)
	if !ok {
		return fail(errArgs)
	}
	e, err := vectorEngine(a[0])
	if err != nil {
		return fail(err)
	}
	return result(fn(e, reuse(), string(a[1]), string(a[2]), a[3]))
}

func vectorEngine(text []byte) (*envelope.Engine, error) {
	var v vector
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, err
	}
	nonce, err := hex.DecodeString(v.Nonce)
	if err != nil {
		return nil, err
	}
	opts := []envelope.Option{envelope.WithCompression(v.Compression), envelope.WithCompressThreshold(0),
		envelope.WithFixedNonces(func(b []byte) error {
			if len(b) != len(nonce) {
				return errors.New("vector nonce has the wrong length")
			}
			copy(b, nonce)
			return nil
		})}
	if v.AEAD != envelope.Unsealed {
		key, err := hex.DecodeString(v.Key)
		if err != nil {
			return nil, err
		}
		kr := envelope.NewKeyring()
		if v.KeySource == "pattern" {
			err = kr.SetTopicKey(v.Pattern, v.KeyID, key)
		} else {
			err = kr.Add(v.KeyID, key)
		}
		if err != nil {
			return nil, err
		}
		opts = append(opts, envelope.WithKeyring(kr), envelope.WithAEAD(v.AEAD))
	}
	return envelope.NewEngine(opts...)
}
