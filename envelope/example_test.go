package envelope_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/whispeer-io/whispeer/envelope"
)

// A publisher and a subscriber share a keyring; the broker in between
// only ever holds the envelope.
func Example() {
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		log.Fatal(err)
	}
	e, err := envelope.NewEngine(envelope.WithKeyring(kr))
	if err != nil {
		log.Fatal(err)
	}
	env, err := e.Seal(nil, "chat/room1", "msg-1", []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("envelope:", envelope.IsEnvelope(env), len(env), "bytes")

	msg, err := e.Open(nil, "chat/room1", "msg-1", env)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("opened: %s\n", msg)

	_, err = e.Open(nil, "chat/room2", "msg-1", env) // moved to another topic
	fmt.Println(errors.Is(err, envelope.ErrAuthFailed))
	// Output:
	// envelope: true 54 bytes
	// opened: hello
	// true
}

// Seal appends to dst, so a caller can reuse one buffer for every message;
// with SealBound bytes of spare capacity Seal does not allocate.
func ExampleEngine_Seal() {
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		log.Fatal(err)
	}
	e, err := envelope.NewEngine(envelope.WithKeyring(kr), envelope.WithAEAD(envelope.AES256GCM))
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 0, e.SealBound(1024))
	for i, msg := range []string{"first", "second"} {
		var err error
		buf, err = e.Seal(buf[:0], "sensors/kitchen", fmt.Sprint(i), []byte(msg))
		if err != nil {
			log.Fatal(err)
		}
		h, _ := envelope.ParseHeader(buf)
		fmt.Println(h.AEAD, "key", h.KeyID, len(buf), "bytes")
	}
	// Output:
	// aes-256-gcm key 1 42 bytes
	// aes-256-gcm key 1 43 bytes
}

// Open reads the algorithms from the envelope: an engine configured with
// other defaults opens it as long as its keyring has the key.
func ExampleEngine_Open() {
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		log.Fatal(err)
	}
	sender, _ := envelope.NewEngine(envelope.WithKeyring(kr), envelope.WithAEAD(envelope.ChaCha20Poly1305),
		envelope.WithCompression(envelope.CompressLZ4))
	receiver, _ := envelope.NewEngine(envelope.WithKeyring(kr))

	doc := []byte(`{"readings":[` + strings.Repeat(`21.5,`, 250) + `21.5]}`)
	env, err := sender.Seal(nil, "sensors/kitchen", "42", doc)
	if err != nil {
		log.Fatal(err)
	}
	h, _ := envelope.ParseHeader(env)
	fmt.Println(h.AEAD, h.Compression, len(doc), "->", len(env))

	msg, err := receiver.Open(nil, "sensors/kitchen", "42", env)
	fmt.Println(len(msg), err)
	// Output:
	// chacha20-poly1305 lz4 1269 -> 81
	// 1269 <nil>
}

// Rotation: new seals use the new key id, history sealed under the old one
// still opens.
func ExampleKeyring_Rotate() {
	kr := envelope.NewKeyring()
	_, _ = kr.Generate()
	e, _ := envelope.NewEngine(envelope.WithKeyring(kr))
	old, _ := e.Seal(nil, "t", "1", []byte("before"))

	id, err := kr.Rotate()
	if err != nil {
		log.Fatal(err)
	}
	fresh, _ := e.Seal(nil, "t", "2", []byte("after"))

	h1, _ := envelope.ParseHeader(old)
	h2, _ := envelope.ParseHeader(fresh)
	msg, err := e.Open(nil, "t", "1", old)
	fmt.Println(id, h1.KeyID, h2.KeyID, string(msg), err)
	fmt.Println(kr)
	// Output:
	// 2 1 2 before <nil>
	// Keyring{current: 2, masters: [1 2], topics: []}
}

// An explicit key for a pattern overrides derivation; "#" is a global key
// for every topic without a more specific one.
func ExampleKeyring_SetTopicKey() {
	kr := envelope.NewKeyring()
	_, _ = kr.Generate() // master 1: derived keys for every other topic
	billing := make([]byte, envelope.KeySize)
	if err := kr.SetTopicKey("billing/#", 7, billing); err != nil {
		log.Fatal(err)
	}
	for _, topic := range []string{"billing", "billing/invoices/2025", "chat/room1"} {
		id, _ := kr.KeyIDFor(topic)
		fmt.Println(topic, id)
	}
	// Output:
	// billing 7
	// billing/invoices/2025 7
	// chat/room1 1
}

// Without a keyring an engine writes unsealed, compression-only envelopes.
func ExampleNewEngine() {
	e, err := envelope.NewEngine(envelope.WithCompression(envelope.CompressZstd), envelope.WithCompressThreshold(64))
	if err != nil {
		log.Fatal(err)
	}
	msg := []byte(`{"status":"ok","status":"ok","status":"ok","status":"ok","status":"ok","status":"ok"}`)
	env, _ := e.Seal(nil, "status", "1", msg)
	h, _ := envelope.ParseHeader(env)
	fmt.Println(h.Sealed(), h.Compression, len(msg), "->", len(env))
	// Output:
	// false zstd 85 -> 40
}

func ExampleIsEnvelope() {
	fmt.Println(envelope.IsEnvelope([]byte(`{"type":"message"}`)))
	fmt.Println(envelope.IsEnvelope([]byte{0xC1, 'W', 1, 0, 0}))
	// Output:
	// false
	// true
}

// GenerateKeyFile writes a fresh keyring readable by its owner only;
// LoadKeyFile refuses a key file that others may read.
func ExampleGenerateKeyFile() {
	dir, _ := os.MkdirTemp("", "whispeer")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.json")

	if _, err := envelope.GenerateKeyFile(path); err != nil {
		log.Fatal(err)
	}
	kr, err := envelope.LoadKeyFile(path)
	fmt.Println(kr, err)

	_, err = envelope.GenerateKeyFile(path) // never overwrites by accident
	fmt.Println(errors.Is(err, os.ErrExist))

	_ = os.Chmod(path, 0o644)
	_, err = envelope.LoadKeyFile(path)
	fmt.Println(errors.Is(err, envelope.ErrKeyFilePermissions))
	// Output:
	// Keyring{current: 1, masters: [1], topics: []} <nil>
	// true
	// true
}
