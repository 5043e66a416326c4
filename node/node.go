package node

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// Node is a broker with the store and the listeners that Build gave it.
// The embedded *whispeer.Broker is the broker itself: publish and subscribe
// on the Node, or pass n.Broker where a *whispeer.Broker is wanted.
type Node struct {
	*whispeer.Broker

	keys    *envelope.Keyring
	engine  *envelope.Engine // opens what clients sealed, with keys
	srv     *server.Server   // nil without listeners
	ws, tcp net.Listener
	tls     bool       // the listeners speak TLS
	wantTLS bool       // the WebSocket address was https:// or wss://
	served  chan error // one result per listener

	closeOnce sync.Once
	closeErr  error
}

// Build returns a Node configured by opts. With no options it is
// whispeer.New(): an in-memory broker, in the clear, with no listener. The
// listeners are serving when Build returns.
func Build(opts ...Option) (*Node, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	n := &Node{}
	if err := n.openBroker(&o); err != nil {
		return nil, err
	}
	if err := n.listen(&o); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// openBroker opens the store, the keyring and the broker that o names.
func (n *Node) openBroker(o *options) error {
	bopts, err := n.engines(o)
	if err != nil {
		return err
	}
	bopts = append(bopts, whispeer.WithLogger(o.logger))
	var st whispeer.Store
	if o.persistence != nil {
		if st, err = o.persistence.openStore(o.logger); err != nil {
			return err
		}
		bopts = append(bopts, whispeer.WithStore(st))
	}
	b, err := whispeer.New(append(bopts, o.broker...)...)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return fmt.Errorf("broker: %w", err)
	}
	n.Broker = b
	return nil
}

// engines returns the broker's options for o's encryption and compression,
// and makes the engine that Open uses.
func (n *Node) engines(o *options) ([]whispeer.Option, error) {
	var bopts []whispeer.Option
	var eopts []envelope.Option
	if o.compression != envelope.CompressNone {
		bopts = append(bopts, whispeer.WithCompression(o.compression))
	}
	if o.encrypt {
		kr, err := keyring(o)
		if err != nil {
			return nil, err
		}
		n.keys = kr
		bopts = append(bopts, whispeer.WithEncryption(kr))
		eopts = append(eopts, envelope.WithKeyring(kr))
	}
	var err error
	if n.engine, err = envelope.NewEngine(eopts...); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return bopts, nil
}

// keyring returns the keyring that o's encryption uses: the one given, the
// one in the key file (made if missing), or a new random one in memory.
func keyring(o *options) (*envelope.Keyring, error) {
	if o.keys != nil {
		return o.keys, nil
	}
	path := o.keyFile
	if path == "" && o.persistence != nil {
		path = o.persistence.path + ".key"
	}
	if path == "" {
		kr := envelope.NewKeyring()
		if _, err := kr.Generate(); err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		return kr, nil
	}
	return loadOrCreateKeyFile(path)
}

// listen opens the listeners that o names and serves them.
func (n *Node) listen(o *options) error {
	if o.wsAddr == "" && o.tcpAddr == "" {
		return nil
	}
	if err := n.openListeners(o); err != nil {
		return err
	}
	cfg, err := serverConfig(o.serverCfg, n.ws, n.tcp)
	if err != nil {
		return err
	}
	if err := n.withTLS(cfg.TLS); err != nil {
		return err
	}
	if n.wantTLS && !n.tls {
		return fmt.Errorf("%w: WebSocket address %q: wss:// needs tls.cert_file and tls.key_file (WithServerConfig)",
			whispeer.ErrInvalidOption, o.wsAddr)
	}
	if n.srv, err = server.New(cfg, server.WithBroker(n.Broker), server.WithLogger(o.logger)); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	n.served = make(chan error, 2)
	if n.ws != nil {
		go func() { n.served <- n.srv.Serve(n.ws) }()
	}
	if n.tcp != nil {
		go func() { n.served <- n.srv.ServeTCP(n.tcp) }()
	}
	return nil
}

// openListeners opens the WebSocket and TCP listeners that o names.
func (n *Node) openListeners(o *options) error {
	if o.wsAddr != "" {
		addr, secure, err := listenAddr(o.wsAddr)
		if err != nil {
			return err
		}
		n.wantTLS = secure
		if n.ws, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	if o.tcpAddr != "" {
		var err error
		if n.tcp, err = net.Listen("tcp", o.tcpAddr); err != nil {
			return fmt.Errorf("listen tcp: %w", err)
		}
	}
	return nil
}

// withTLS wraps the listeners in TLS when c names a certificate and a key.
func (n *Node) withTLS(c config.TLS) error {
	if !c.Enabled() {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	conf := func(protos ...string) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: protos}
	}
	if n.ws != nil {
		n.ws = tls.NewListener(n.ws, conf("http/1.1"))
	}
	if n.tcp != nil {
		n.tcp = tls.NewListener(n.tcp, conf())
	}
	n.tls = true
	return nil
}

// serverConfig returns a copy of base (config.Default() with a random JWT
// secret when nil) whose host and ports are those of the listeners, so
// that the server judges the security of the address actually served.
func serverConfig(base *config.Config, ws, tcp net.Listener) (*config.Config, error) {
	var cfg config.Config
	if base != nil {
		cfg = *base
	} else {
		cfg = *config.Default()
		secret := make([]byte, 32)
		rand.Read(secret)
		cfg.Server.JWTSecret = config.Secret(hex.EncodeToString(secret))
	}
	cfg.Server.Host = ""
	for _, ln := range []net.Listener{ws, tcp} {
		if ln == nil {
			continue
		}
		host, port, err := net.SplitHostPort(ln.Addr().String())
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		if cfg.Server.Host == "" || !config.IsLoopback(host) {
			cfg.Server.Host = host // the least private address is the one judged
		}
		if p, _ := strconv.Atoi(port); ln == ws && p > 0 {
			cfg.Server.Port = p
		}
	}
	cfg.Server.TCPPort = 0 // the Node serves TCP on its own listener
	return &cfg, nil
}
