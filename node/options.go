package node

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/store/file"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// Option configures a Node; see [Build].
type Option func(*options)

type options struct {
	broker      []whispeer.Option
	encrypt     bool
	keys        *envelope.Keyring
	keyFile     string
	compression envelope.Compression
	persistence *Persistence
	wsAddr      string
	tcpAddr     string
	serverCfg   *config.Config
	logger      *slog.Logger
}

// WithBrokerOptions passes opts to whispeer.New, after the options that the
// Node derives from its own (encryption, compression, store, logger), so
// that they may refine them: WithHistory, WithRetention, ForTopics…
func WithBrokerOptions(opts ...whispeer.Option) Option {
	return func(o *options) { o.broker = append(o.broker, opts...) }
}

// WithEncryption seals every payload with a key from kr. A nil kr means the
// default keyring: one in the key file beside the store with
// [WithPersistence], otherwise a random one in memory (see the package
// documentation).
func WithEncryption(kr *envelope.Keyring) Option {
	return func(o *options) { o.encrypt, o.keys, o.keyFile = true, kr, "" }
}

// WithKeyFile seals every payload with the keyring in the key file at path,
// which is created with one random master key (mode 0600) if it does not
// exist. Pass the same file to clients that must read the payloads.
func WithKeyFile(path string) Option {
	return func(o *options) { o.encrypt, o.keys, o.keyFile = true, nil, path }
}

// WithoutEncryption leaves payloads in the clear, undoing the encryption
// that the Default constructors turn on.
func WithoutEncryption() Option {
	return func(o *options) { o.encrypt, o.keys, o.keyFile = false, nil, "" }
}

// WithCompression compresses payloads of the compression threshold (1 KiB)
// and more with c; envelope.CompressNone turns compression off.
func WithCompression(c envelope.Compression) Option {
	return func(o *options) { o.compression = c }
}

// WithPersistence keeps the broker's messages in the store p opens, which
// the Node closes.
func WithPersistence(p Persistence) Option {
	return func(o *options) { o.persistence = &p }
}

// WithWebSocket serves the broker over WebSocket on addr: "host:port", or a
// URL such as "http://localhost:8080" or "ws://localhost:8080", whose host
// and port are taken. Port 0 picks a free port. The listener speaks TLS
// when the server configuration names a certificate (see
// [WithServerConfig]); an https:// or wss:// address requires one.
func WithWebSocket(addr string) Option { return func(o *options) { o.wsAddr = addr } }

// WithTCP serves the broker to native clients over TCP on addr, "host:port";
// port 0 picks a free port.
func WithTCP(addr string) Option { return func(o *options) { o.tcpAddr = addr } }

// WithServerConfig configures the server behind WithWebSocket and WithTCP:
// users and their permissions, the JWT secret, limits, timeouts and TLS
// (tls.cert_file and tls.key_file, for both listeners). Its host, ports and
// store are not used: the Node's options give them. The default is
// config.Default() with a random JWT secret.
func WithServerConfig(cfg *config.Config) Option { return func(o *options) { o.serverCfg = cfg } }

// WithLogger sets the logger of the broker, its store and its server; the
// default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Persistence names a store for [WithPersistence]: [SQLite] or [File].
type Persistence struct {
	path string
	open func(path string, log *slog.Logger) (whispeer.Store, error)
}

// Path returns the path of the store's database file or directory.
func (p Persistence) Path() string { return p.path }

// SQLite keeps messages in the SQLite database at path, created with its
// directory if missing. opts refine the store, such as
// sqlite.WithFsync(whispeer.SyncEvery(5*time.Millisecond)).
func SQLite(path string, opts ...sqlite.Option) Persistence {
	return Persistence{path: path, open: func(path string, log *slog.Logger) (whispeer.Store, error) {
		return sqlite.Open(path, append([]sqlite.Option{sqlite.WithLogger(log)}, opts...)...)
	}}
}

// File keeps messages in a segmented append-only log in the directory dir,
// created if missing. opts refine the store.
func File(dir string, opts ...file.Option) Persistence {
	return Persistence{path: dir, open: func(dir string, log *slog.Logger) (whispeer.Store, error) {
		return file.Open(dir, append([]file.Option{file.WithLogger(log)}, opts...)...)
	}}
}

// openStore opens p's store, creating the directory it lives in.
func (p Persistence) openStore(log *slog.Logger) (whispeer.Store, error) {
	if p.open == nil || p.path == "" {
		return nil, fmt.Errorf("%w: persistence needs node.SQLite(path) or node.File(dir)", whispeer.ErrInvalidOption)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(p.path)), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := p.open(p.path, log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// listenAddr returns the host:port of addr, a host:port or a URL, and
// whether the URL asks for TLS (https://, wss://).
func listenAddr(addr string) (hostport string, secure bool, err error) {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return addr, false, nil // "host:port" parses as a scheme and an opaque part, or fails
	}
	switch u.Scheme {
	case "http", "ws":
		return u.Host, false, nil
	case "https", "wss":
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("%w: WebSocket address %q: want host:port or an http, https, ws or wss URL",
		whispeer.ErrInvalidOption, addr)
}
