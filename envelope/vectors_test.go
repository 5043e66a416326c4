package envelope

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seed corpus")

// vectorFile is testdata/vectors.json; docs/envelope.md describes it.
type vectorFile struct {
	Comment string   `json:"comment"`
	Version int      `json:"format_version"`
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name        string      `json:"name"`
	AEAD        AEAD        `json:"aead"`
	Compression Compression `json:"compression"`
	KeySource   string      `json:"key_source,omitempty"` // "master" (HKDF) or "pattern" (explicit)
	Pattern     string      `json:"pattern,omitempty"`
	Key         string      `json:"key,omitempty"`
	KeyID       uint32      `json:"key_id,omitempty"`
	TopicKey    string      `json:"topic_key,omitempty"` // the key the AEAD uses
	Topic       string      `json:"topic"`
	ID          string      `json:"id"`
	Plaintext   string      `json:"plaintext"`
	Nonce       string      `json:"nonce,omitempty"`
	AD          string      `json:"associated_data,omitempty"`
	Envelope    string      `json:"envelope"`
}

// vectorCases lists the vectors; the expected bytes come from the file.
func vectorCases() []vector {
	master := hex.EncodeToString(testKey(0x00))
	explicit := hex.EncodeToString(testKey(0x80))
	nonce24 := hex.EncodeToString(testKey(0x40)[:24])
	nonce12 := hex.EncodeToString(testKey(0x60)[:12])
	hello := hex.EncodeToString([]byte("hello, whispeer"))
	json := hex.EncodeToString([]byte(strings.Repeat(`{"sensor":"kitchen","temperature":21.5,"unit":"C"},`, 8)))
	m := func(name string, a AEAD, c Compression, topic, id, pt string) vector {
		n := nonce24
		if a.NonceSize() == 12 {
			n = nonce12
		}
		return vector{Name: name, AEAD: a, Compression: c, KeySource: "master", Key: master, KeyID: 1,
			Topic: topic, ID: id, Plaintext: pt, Nonce: n}
	}
	vs := []vector{
		m("xchacha20-poly1305", XChaCha20Poly1305, CompressNone, "chat/room1", "msg-1", hello),
		m("chacha20-poly1305", ChaCha20Poly1305, CompressNone, "chat/room1", "msg-1", hello),
		m("aes-256-gcm", AES256GCM, CompressNone, "chat/room1", "msg-1", hello),
		m("xchacha20-poly1305, empty plaintext and id", XChaCha20Poly1305, CompressNone, "t", "", ""),
		m("xchacha20-poly1305, unicode topic", XChaCha20Poly1305, CompressNone, "capteurs/cuisine/température", "7", hello),
		m("xchacha20-poly1305, zstd", XChaCha20Poly1305, CompressZstd, "sensors/kitchen", "42", json),
		m("chacha20-poly1305, lz4", ChaCha20Poly1305, CompressLZ4, "sensors/kitchen", "42", json),
		m("aes-256-gcm, zstd", AES256GCM, CompressZstd, "sensors/kitchen", "42", json),
		{Name: "xchacha20-poly1305, explicit pattern key", AEAD: XChaCha20Poly1305, Compression: CompressNone,
			KeySource: "pattern", Pattern: "billing/#", Key: explicit, KeyID: 9,
			Topic: "billing/invoices", ID: "inv-2024-001", Plaintext: hello, Nonce: nonce24},
		{Name: "unsealed", AEAD: Unsealed, Compression: CompressNone, Topic: "public", ID: "1", Plaintext: hello},
		{Name: "unsealed, zstd", AEAD: Unsealed, Compression: CompressZstd, Topic: "public", ID: "1", Plaintext: json},
		{Name: "unsealed, lz4", AEAD: Unsealed, Compression: CompressLZ4, Topic: "public", ID: "1", Plaintext: json},
	}
	return vs
}

// vectorEngine builds the engine that reproduces v.
func vectorEngine(t *testing.T, v vector) *Engine {
	t.Helper()
	nonce, err := hex.DecodeString(v.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	opts := []Option{WithCompression(v.Compression), WithCompressThreshold(0),
		withFixedNonces(func(b []byte) error {
			if len(b) != len(nonce) {
				return fmt.Errorf("vector nonce is %d bytes, want %d", len(nonce), len(b))
			}
			copy(b, nonce)
			return nil
		})}
	if v.AEAD != Unsealed {
		key, err := hex.DecodeString(v.Key)
		if err != nil {
			t.Fatal(err)
		}
		kr := NewKeyring()
		if v.KeySource == "pattern" {
			err = kr.SetTopicKey(v.Pattern, v.KeyID, key)
		} else {
			err = kr.Add(v.KeyID, key)
		}
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, WithKeyring(kr), WithAEAD(v.AEAD))
	}
	return newTestEngine(t, opts...)
}

// fill computes the derived key, the associated data and the envelope.
func (v *vector) fill(t *testing.T) {
	e := vectorEngine(t, *v)
	pt, _ := hex.DecodeString(v.Plaintext)
	env := mustSeal(t, e, v.Topic, v.ID, pt)
	v.Envelope = hex.EncodeToString(env)
	if v.AEAD == Unsealed {
		return
	}
	h := mustParse(t, env)
	v.AD = hex.EncodeToString(appendAD(nil, env[:h.Size], v.Topic, v.ID))
	key, _ := hex.DecodeString(v.Key)
	if v.KeySource == "master" {
		key, _ = deriveTopicKey(key, v.AEAD, v.Topic)
	}
	v.TopicKey = hex.EncodeToString(key)
}

const vectorsPath = "testdata/vectors.json"

func TestVectors(t *testing.T) {
	if *update {
		vf := vectorFile{
			Comment: "whispeer envelope test vectors; see docs/envelope.md. Hex fields are bytes; " +
				"compressed vectors reproduce byte for byte only with the same compressor (github.com/klauspost/compress zstd " +
				"at SpeedDefault, github.com/pierrec/lz4/v4); every implementation must open all of them.",
			Version: Version,
		}
		for _, v := range vectorCases() {
			v.fill(t)
			vf.Vectors = append(vf.Vectors, v)
		}
		b, err := json.MarshalIndent(vf, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t, vf.Vectors)
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) != len(vectorCases()) {
		t.Fatalf("%s has %d vectors, want %d (run go test -run TestVectors -update)", vectorsPath, len(vf.Vectors), len(vectorCases()))
	}
	for _, want := range vf.Vectors {
		t.Run(want.Name, func(t *testing.T) {
			got := want
			got.fill(t)
			if got != want {
				t.Fatalf("reproduced\n%+v\nwant\n%+v", got, want)
			}
			env, _ := hex.DecodeString(want.Envelope)
			pt, err := vectorEngine(t, want).Open(nil, want.Topic, want.ID, env)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if hex.EncodeToString(pt) != want.Plaintext {
				t.Fatalf("Open = %x, want %s", pt, want.Plaintext)
			}
			if h := mustParse(t, env); h.Compression != want.Compression || h.AEAD != want.AEAD || h.KeyID != want.KeyID {
				t.Fatalf("header %+v does not match the vector", h)
			}
		})
	}
}

// writeFuzzSeeds writes the seed corpus of FuzzOpen and FuzzParseHeader:
// every vector, and a few damaged envelopes.
func writeFuzzSeeds(t *testing.T, vs []vector) {
	seeds := map[string][]byte{}
	for i, v := range vs {
		env, _ := hex.DecodeString(v.Envelope)
		seeds[fmt.Sprintf("vector-%02d", i)] = env
	}
	first, _ := hex.DecodeString(vs[0].Envelope)
	zstdEnv, _ := hex.DecodeString(vs[5].Envelope)
	flipped := bytes.Clone(first)
	flipped[len(flipped)-1] ^= 1
	lying := bytes.Clone(zstdEnv)
	seeds["truncated-header"] = first[:7]
	seeds["truncated-tag"] = first[:len(first)-1]
	seeds["flipped-tag"] = flipped
	seeds["bad-version"] = append([]byte{magic0, magic1, 9}, first[3:]...)
	seeds["bad-aead"] = append([]byte{magic0, magic1, Version, 0, 7}, first[5:]...)
	seeds["unsealed-zstd-bomb-claim"] = append([]byte{magic0, magic1, Version, byte(CompressZstd), 0}, withLength(1<<40, []byte{0x28, 0xb5, 0x2f, 0xfd})...)
	seeds["unsealed-lz4-garbage"] = append([]byte{magic0, magic1, Version, byte(CompressLZ4), 0}, withLength(200, []byte{0xf0, 0xff, 0xff, 0x01})...)
	seeds["sealed-zstd-lying-key"] = append(lying[:5], append([]byte{0, 0, 0, 99}, lying[9:]...)...)
	seeds["json"] = []byte(`{"type":"message","payload":"hi"}`)
	seeds["empty"] = nil
	for _, dir := range []string{"FuzzOpen", "FuzzParseHeader"} {
		dir = filepath.Join("testdata", "fuzz", dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
