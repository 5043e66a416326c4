package client_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
)

// TestServer_InteropHeaders sends headers through whispeer's own server,
// from a client (the subscriber itself) and from a library publisher, to a
// client over TCP and over WebSocket: the subscriber receives the bytes the publisher
// encoded, in its order and with its repeated keys.
func TestServer_InteropHeaders(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	urls := startReal(t, b, "", "").urls
	h, err := whispeer.NewHeaders("trace", "t-1", "b", "2", "a", "1", "b", "3", "empty", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"trace", "t-1", "b", "2", "a", "1", "b", "3", "empty", ""}
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			// The server hashes the password, which under load may take
			// longer than the default timeout.
			c := dial(t, urls[scheme], client.WithCredentials("admin", "password"), client.WithTimeout(hang))
			handler, got := collect(4)
			if _, err := c.Subscribe("hdr/"+scheme+"/#", handler); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			topic := "hdr/" + scheme + "/x"
			for _, q := range []client.QoS{client.AtMostOnce, client.AtLeastOnce} {
				if err := c.Publish(ctx, topic, []byte("p"), client.WithQoS(q), client.WithEncodedHeaders(h)); err != nil {
					t.Fatal(err)
				}
				checkHeaders(t, recv(t, got), h, want)
			}
			m := &whispeer.Message{Topic: topic, Payload: []byte("lib"), Headers: h}
			if err := b.PublishMessage(ctx, m, nil, nil); err != nil {
				t.Fatal(err)
			}
			checkHeaders(t, recv(t, got), h, want)

			// A map's keys go sorted; a received message's headers go on as
			// they came.
			if err := c.Publish(ctx, topic, []byte("map"), client.WithHeaders(map[string]string{"z": "1", "a": "2"})); err != nil {
				t.Fatal(err)
			}
			fromMap := recv(t, got)
			sorted, _ := whispeer.NewHeaders("a", "2", "z", "1")
			checkHeaders(t, fromMap, sorted, []string{"a", "2", "z", "1"})
		})
	}
}

// checkHeaders fails t unless m's headers are h's bytes and give kv, in
// order.
func checkHeaders(t *testing.T, m *client.Message, h whispeer.Headers, kv []string) {
	t.Helper()
	if !bytes.Equal(m.Headers.Encoded(), h.Encoded()) {
		t.Errorf("%s: headers % x, want % x", m.Payload, m.Headers.Encoded(), h.Encoded())
	}
	var all []string
	for k, v := range m.Headers.All() {
		all = append(all, k, v)
	}
	if !slices.Equal(all, kv) || m.Headers.Len() != len(kv)/2 {
		t.Errorf("%s: headers %q (%d), want %q", m.Payload, all, m.Headers.Len(), kv)
	}
}

// TestPublish_EncodedHeadersInvalid refuses headers that the protocol
// cannot carry before anything is sent.
func TestPublish_EncodedHeadersInvalid(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL("tcp"))
	h, err := whispeer.NewHeaders("", "no key")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Publish(ctxT(t), "t", []byte("x"), client.WithEncodedHeaders(h))
	if !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("empty key: %v, want ErrInvalidOption", err)
	}
}
