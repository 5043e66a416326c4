// Command app-backend is an application's backend that plugs whispeer into
// its own users: it logs them in with its own passwords, mints whispeer
// tokens for them (EdDSA, with the topics they may use in the "whispeer"
// claim), and publishes to them over whispeer's HTTP API with a key of its
// own. A Go client of a user connects with the token the backend gave it
// and receives what the backend publishes.
//
// It starts whispeer in process on free loopback ports, runs the story once
// and exits. In production whispeer runs on its own, configured as in
// whispeerConfig below (docs/http-api.md, docs/security.md#application-tokens).
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// issuer is the "iss" of the backend's tokens, and audience their "aud".
const (
	issuer   = "https://shop.example"
	audience = "whispeer"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The backend signs tokens with its private key; whispeer trusts the
	// public half. The API key is the backend's credential for publishing.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	apiKey := randomHex(32)
	ws, err := startWhispeer(pub, apiKey)
	if err != nil {
		return err
	}
	defer ws.stop()

	app := newBackend(priv, "http://"+ws.adminAddr, apiKey)
	appURL, stopApp, err := serve(app.handler())
	if err != nil {
		return err
	}
	defer stopApp()

	// Alice logs in to the application, not to whispeer.
	var login struct{ Session string }
	if err := call(ctx, "POST", appURL+"/login", "", `{"username":"alice","password":"wonderland"}`, &login); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Println("alice logged in to the shop")

	// Her whispeer client asks the backend for a token before connecting
	// and before the token expires, and refreshes it on the live connection.
	tokens := func(ctx context.Context) (string, error) {
		var t struct{ Token string }
		err := call(ctx, "POST", appURL+"/whispeer-token", login.Session, "", &t)
		return t.Token, err
	}
	c, err := client.Dial(ctx, "ws://"+ws.addr+"/ws", client.WithTokenSource(tokens), client.WithoutReconnect())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	got := make(chan *client.Message, 1)
	if _, err := c.Subscribe("users/alice/#", func(_ context.Context, m *client.Message) error {
		got <- m
		return nil
	}); err != nil {
		return err
	}
	fmt.Println("alice's client subscribed to users/alice/# with the backend's token")
	if _, err := c.Subscribe("users/bob/#", func(context.Context, *client.Message) error { return nil }); err != nil {
		fmt.Println("and may not subscribe to bob's topics:", err)
	}

	// Alice orders; the backend tells her client over whispeer's HTTP API.
	var order struct{ Offset uint64 }
	if err := call(ctx, "POST", appURL+"/orders", login.Session, `{"item":"tea"}`, &order); err != nil {
		return fmt.Errorf("order: %w", err)
	}
	fmt.Printf("the backend published the order at offset %d\n", order.Offset)
	select {
	case m := <-got:
		fmt.Printf("alice's client received %s on %s\n", m.Payload, m.Topic)
	case <-ctx.Done():
		return errors.New("the order never arrived")
	}

	// The backend reads the topic's history back.
	var hist struct {
		Messages []struct {
			Offset  uint64
			Payload json.RawMessage
		}
	}
	path := "/api/topics/" + url.PathEscape("users/alice/orders") + "/history"
	if err := call(ctx, "GET", "http://"+ws.adminAddr+path, apiKey, "", &hist); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	fmt.Printf("history of users/alice/orders holds %d message(s), the first %s\n", len(hist.Messages), hist.Messages[0].Payload)
	return nil
}

// —— whispeer, configured to trust the backend.

// instance is a whispeer server run in process.
type instance struct {
	srv             *server.Server
	addr, adminAddr string
	done            chan error
}

// whispeerConfig returns whispeer's configuration: the backend as a token issuer
// whose tokens may grant the chat and each user's own topics, and the
// backend's API key, which may publish to the users' topics.
func whispeerConfig(pub ed25519.PublicKey, apiKey string) (*config.Config, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Server.Host, cfg.Server.TCPPort = "127.0.0.1", 0
	cfg.Server.JWTSecret = config.Secret(randomHex(32)) // whispeer's own logins: none here
	cfg.Auth.Users = []config.User{}                    // every user is the application's
	cfg.Store.Kind = config.StoreMemory
	cfg.Auth.Issuers = []config.Issuer{{
		Name:      issuer,
		Audience:  []string{audience},
		Publish:   []string{"chat/#"},
		Subscribe: []string{"chat/#", "users/{sub}/#"},
		Keys: []config.IssuerKey{{Algorithm: "EdDSA",
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}},
	}}
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Admin.Keys = []config.APIKey{{Name: "shop", Key: config.Secret(apiKey),
		Publish: []string{"users/#", "chat/#"}, Read: []string{"users/#"}}}
	return cfg, cfg.Validate()
}

// startWhispeer starts whispeer on free loopback ports.
func startWhispeer(pub ed25519.PublicKey, apiKey string) (*instance, error) {
	cfg, err := whispeerConfig(pub, apiKey)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(cfg, server.WithLogger(quiet))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	aln, err := srv.ListenAdmin()
	if err != nil {
		ln.Close()
		return nil, err
	}
	w := &instance{srv: srv, addr: ln.Addr().String(), adminAddr: aln.Addr().String(), done: make(chan error, 2)}
	go func() { w.done <- srv.Serve(ln) }()
	go func() { w.done <- srv.ServeAdmin(aln) }()
	return w, nil
}

// stop shuts whispeer down.
func (w *instance) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	for range 2 {
		if err := <-w.done; err != nil {
			log.Print(err)
		}
	}
}

// —— The application's backend.

// backend is the application: its users, their sessions, the key that
// signs their whispeer tokens and the API key it publishes with.
type backend struct {
	signing ed25519.PrivateKey
	api     string // whispeer's admin listener
	apiKey  string
	users   map[string]string // demo users and their passwords

	mu       sync.Mutex
	sessions map[string]string // session id → user
	orders   int
}

func newBackend(signing ed25519.PrivateKey, api, apiKey string) *backend {
	return &backend{signing: signing, api: api, apiKey: apiKey,
		users:    map[string]string{"alice": "wonderland", "bob": "builder"},
		sessions: map[string]string{}}
}

// handler returns the backend's endpoints.
func (b *backend) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", b.login)
	mux.HandleFunc("POST /whispeer-token", b.withUser(b.token))
	mux.HandleFunc("POST /orders", b.withUser(b.order))
	return mux
}

func (b *backend) login(w http.ResponseWriter, r *http.Request) {
	var req struct{ Username, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	want, ok := b.users[req.Username]
	if !ok || subtle.ConstantTimeCompare([]byte(req.Password), []byte(want)) != 1 {
		http.Error(w, "wrong user name or password", http.StatusUnauthorized)
		return
	}
	session := randomHex(16)
	b.mu.Lock()
	b.sessions[session] = req.Username
	b.mu.Unlock()
	writeJSON(w, map[string]string{"session": session})
}

// withUser runs f for the user of the request's session.
func (b *backend) withUser(f func(user string, w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		user, ok := b.sessions[bearer(r)]
		b.mu.Unlock()
		if !ok {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		f(user, w, r)
	}
}

// tokenClaims are the claims of a whispeer token: the registered ones and
// the topics granted, "{sub}" standing for the user.
type tokenClaims struct {
	jwt.RegisteredClaims
	Whispeer struct {
		Pub []string `json:"pub"`
		Sub []string `json:"sub"`
	} `json:"whispeer"`
}

// token mints a whispeer token for user, valid for ten minutes.
func (b *backend) token(user string, w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: user, Audience: jwt.ClaimStrings{audience}, ID: randomHex(8),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	}}
	claims.Whispeer.Pub = []string{"chat/{sub}"}
	claims.Whispeer.Sub = []string{"chat/#", "users/{sub}/#"}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(b.signing)
	if err != nil {
		http.Error(w, "cannot sign", http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]string{"token": signed})
}

// order records an order and tells the user's clients over whispeer's
// HTTP API, at QoS 1: answered once whispeer has it durable.
func (b *backend) order(user string, w http.ResponseWriter, r *http.Request) {
	var req struct{ Item string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Item == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.orders++
	n := b.orders
	b.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"order": n, "item": req.Item, "status": "placed"})
	body, _ := json.Marshal(map[string]any{"topic": "users/" + user + "/orders", "payload": json.RawMessage(payload),
		"qos": 1, "message_id": fmt.Sprintf("order-%d", n), "headers": map[string]string{"source": "shop"}})
	var published struct{ Offset, Epoch uint64 }
	if err := call(r.Context(), "POST", b.api+"/api/publish", b.apiKey, string(body), &published); err != nil {
		http.Error(w, "whispeer: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, published)
}

// —— HTTP plumbing.

// serve serves h on a free loopback port and returns its URL.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// httpClient is shared by the calls, keeping their connections alive.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends body to url with the bearer token tok, when not empty, and
// decodes the JSON answer into out.
func call(ctx context.Context, method, url, tok, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}

// bearer returns the bearer token of r.
func bearer(r *http.Request) string {
	const prefix = "Bearer "
	if h := r.Header.Get("Authorization"); len(h) > len(prefix) && h[:len(prefix)] == prefix {
		return h[len(prefix):]
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) // the caller went away
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
