package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Defaults of Dial.
const (
	// DefaultTimeout bounds the handshake, a SUBACK, a write and Close's
	// flush.
	DefaultTimeout = 10 * time.Second
	// DefaultReconnectWait and DefaultReconnectMaxWait bound the backoff
	// between reconnection attempts.
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultReconnectMaxWait = 10 * time.Second
	// DefaultPublishBuffer is how many bytes of publishes are buffered while
	// the client is disconnected.
	DefaultPublishBuffer = 8 << 20
	// DefaultMaxInflight is how many QoS 1 publishes may await their PUBACK
	// at once.
	DefaultMaxInflight = 1000
	// DefaultQueueSize is a subscription's queue capacity, in messages.
	DefaultQueueSize = 1024
	// DefaultSlowConsumerWait is how long the connection's reader waits for
	// room in a full subscription queue before it drops (WithSlowConsumerWait);
	// the server's default server.max_stall.
	DefaultSlowConsumerWait = 2 * time.Second
	// DefaultName is the client software named in HELLO.
	DefaultName = "whispeer-go/1.0"
	// DefaultPort is the native protocol's TCP port, used when a tcp:// or
	// tls:// URL names none.
	DefaultPort = "4250"
	// DefaultPath is the WebSocket path used when a ws:// or wss:// URL
	// names none.
	DefaultPath = "/ws"
)

// Option configures a Client; pass options to Dial, which validates them.
type Option func(*config)

type config struct {
	token, user, pass string
	keyring           *envelope.Keyring
	engineOpts        []envelope.Option
	acceptPlain       bool
	name              string
	tls               *tls.Config
	onError           func(error)
	onConnect         func()
	onDisconnect      func(error)
	reconnect         bool
	waitMin, waitMax  time.Duration
	buffer            int
	logger            *slog.Logger
	maxFrame          int
	timeout           time.Duration
	ping              time.Duration
	maxInflight       int
	clientID          string
	dial              func(ctx context.Context, network, addr string) (net.Conn, error)
	tokenSource       func(ctx context.Context) (string, error)
}

func defaultConfig() config {
	return config{
		name:        DefaultName,
		reconnect:   true,
		waitMin:     DefaultReconnectWait,
		waitMax:     DefaultReconnectMaxWait,
		buffer:      DefaultPublishBuffer,
		maxFrame:    wire.MaxFrameSize,
		timeout:     DefaultTimeout,
		maxInflight: DefaultMaxInflight,
	}
}

func (c *config) validate() error {
	switch {
	case c.waitMin <= 0 || c.waitMax < c.waitMin:
		return fmt.Errorf("%w: reconnect wait %v to %v", whispeer.ErrInvalidOption, c.waitMin, c.waitMax)
	case c.buffer < 0:
		return fmt.Errorf("%w: publish buffer %d", whispeer.ErrInvalidOption, c.buffer)
	case c.maxFrame < 64 || c.maxFrame > wire.MaxFrameSize:
		return fmt.Errorf("%w: max frame %d", whispeer.ErrInvalidOption, c.maxFrame)
	case c.timeout <= 0:
		return fmt.Errorf("%w: timeout %v", whispeer.ErrInvalidOption, c.timeout)
	case c.ping < 0:
		return fmt.Errorf("%w: ping interval %v", whispeer.ErrInvalidOption, c.ping)
	case c.maxInflight < 1:
		return fmt.Errorf("%w: max in-flight %d", whispeer.ErrInvalidOption, c.maxInflight)
	case len(c.name) > 255:
		return fmt.Errorf("%w: name longer than 255 bytes", whispeer.ErrInvalidOption)
	case len(c.clientID) > 255:
		return fmt.Errorf("%w: client id longer than 255 bytes", whispeer.ErrInvalidOption)
	case len(c.user) > 255 || len(c.pass) > 65535 || len(c.token) > 65535:
		return fmt.Errorf("%w: credentials too long", whispeer.ErrInvalidOption)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return nil
}

// WithClientID names the client across its connections (the HELLO's
// session): the server de-duplicates its QoS 2 publishes per user and
// client id, so that one retransmitted after a reconnect, or after the
// server restarted, is delivered once. Give a client that must recognise
// its retries across restarts of its own process the same id each time,
// and no two clients of one user the same id. Without it the client
// draws a random id that lasts as long as the Client.
func WithClientID(id string) Option { return func(c *config) { c.clientID = id } }

// WithToken authenticates with a JWT (the AUTH frame).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithCredentials authenticates with a username and password (the LOGIN
// frame). The client keeps the token the server returns and presents it
// when it reconnects, logging in again only if the server refuses it.
// Send credentials over tls:// or wss:// only (or to a loopback address).
func WithCredentials(user, password string) Option {
	return func(c *config) { c.user, c.pass = user, password }
}

// WithKeyring turns on end-to-end encryption: Publish seals every payload
// with the topic's key from kr, and subscriptions open what they receive
// with it, so the server only ever holds envelopes. A delivery that does
// not open is reported to the error handler and not delivered. With a
// keyring, a delivery that is not sealed at all is refused too, since
// anyone on the path could have written it, unless WithAcceptPlaintext.
func WithKeyring(kr *envelope.Keyring) Option { return func(c *config) { c.keyring = kr } }

// WithEngineOptions passes options to the envelope engine that seals and
// opens payloads: the AEAD (envelope.WithAEAD), the compressor and its
// threshold, topics without compression (envelope.WithUncompressedTopics),
// the largest plaintext. The keyring comes from WithKeyring.
func WithEngineOptions(opts ...envelope.Option) Option {
	return func(c *config) { c.engineOpts = append(c.engineOpts, opts...) }
}

// WithAcceptPlaintext makes a client with a keyring also deliver payloads
// that are not sealed (published by clients without the keyring, or
// compressed but unsealed envelopes). They carry no proof of origin.
func WithAcceptPlaintext() Option { return func(c *config) { c.acceptPlain = true } }

// WithName sets the client software named in HELLO (default
// "whispeer-go/1.0"); the server may log it.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithTLSConfig sets the TLS configuration for tls:// and wss:// URLs, for
// a private CA or a client certificate. Without it the system roots are
// used and the server name comes from the URL.
func WithTLSConfig(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithErrorHandler sets f to receive the errors that no call returns: a
// lost connection, a failed reconnection attempt, a delivery that failed
// (a [*DeliveryError]), a QoS 0 publish the server refused, a resume with
// a gap (ErrGap). f is called from the client's goroutines, possibly
// concurrently: keep it fast and safe for concurrent use. The default logs
// at warning level.
func WithErrorHandler(f func(error)) Option { return func(c *config) { c.onError = f } }

// WithConnectHandler sets f to be called after every connection is
// established and authenticated, the first (in Dial) included.
func WithConnectHandler(f func()) Option { return func(c *config) { c.onConnect = f } }

// WithDisconnectHandler sets f to be called with the cause whenever an
// established connection is lost (not when Close ends it).
func WithDisconnectHandler(f func(error)) Option { return func(c *config) { c.onDisconnect = f } }

// WithReconnect sets the backoff between reconnection attempts: the wait
// before each attempt is drawn uniformly from zero to a ceiling that
// starts at initial and doubles after every failure, up to max (full
// jitter). Reconnection is on by default, from 100ms to 10s.
func WithReconnect(initial, max time.Duration) Option {
	return func(c *config) { c.reconnect, c.waitMin, c.waitMax = true, initial, max }
}

// WithoutReconnect turns reconnection off: when the connection is lost,
// the client closes, pending QoS 1 publishes fail and subscriptions end.
func WithoutReconnect() Option { return func(c *config) { c.reconnect = false } }

// WithPublishBuffer sets how many bytes of encoded publishes the client
// buffers while it is disconnected (default 8 MiB); they are sent, in
// order, once it reconnects. A publish that does not fit fails with
// ErrBufferFull. 0 turns buffering off: every publish while disconnected
// fails at once with ErrDisconnected. Unacknowledged QoS 1 publishes are
// always kept and sent again, whatever this is.
func WithPublishBuffer(bytes int) Option { return func(c *config) { c.buffer = bytes } }

// WithLogger sets the logger of the default error handler (default
// slog.Default).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxFrame sets the largest frame, in bytes, the client accepts from
// the server (announced in HELLO; default 16 MiB, the protocol's ceiling).
// A larger frame closes the connection.
func WithMaxFrame(n int) Option { return func(c *config) { c.maxFrame = n } }

// WithTimeout sets how long the client waits for the server: to connect
// and authenticate, to answer a SUB, to accept a write, and for Close to
// flush (default 10s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithPingInterval makes the client check the connection every d while it
// is idle, instead of at the interval the server asks for in WELCOME:
// it sends a PING, and a PING left without any answer for another d closes
// the connection as dead (ErrTimeout). 0 keeps the server's interval.
func WithPingInterval(d time.Duration) Option { return func(c *config) { c.ping = d } }

// WithMaxInflight bounds how many QoS 1 publishes may await their PUBACK at
// once (default 1000); Publish waits for room, up to its context.
func WithMaxInflight(n int) Option { return func(c *config) { c.maxInflight = n } }

// WithDialer sets the function that opens the connections to the server
// (default a net.Dialer's DialContext), for a proxy, a Unix socket or an
// in-memory connection in tests. It is called with network "tcp" and the
// URL's host and port; on tls:// the client runs the TLS handshake over the
// connection it returns, and on ws:// and wss:// the WebSocket (and TLS)
// handshake.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) { c.dial = dial }
}
