package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WhispeerJSON is `whispeer serve` speaking the PopSub JSON protocol over
// WebSocket: the binary comes from Build, is started with a generated
// configuration on a free port, and is reached with a Go WebSocket client
// that batches its writes.
type WhispeerJSON struct {
	Build *WhispeerBuild

	srv   *server
	url   string
	token string
	admin string // the admin token, for the HTTP API
}

// Name implements Target.
func (w *WhispeerJSON) Name() string { return "whispeer-json-ws" + w.Build.suffix() }

// buildWhispeer builds cmd/whispeer as committed at rev in the repository
// at root (the working tree when rev is empty) into a temporary directory,
// so that other work in progress in the checkout is not measured.
func buildWhispeer(root, rev string) (bin string, err error) {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-bin-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	src := root
	if rev != "" {
		src = filepath.Join(dir, "src")
		if err := exportTree(root, rev, src); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(src, "cmd", "whispeer")); err != nil {
		return "", fmt.Errorf("%w yet: no cmd/whispeer in %s at %s", ErrUnavailable, root, cmp.Or(rev, "the working tree"))
	}
	bin = filepath.Join(dir, "whispeer")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/whispeer")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: build cmd/whispeer: %v: %s", ErrUnavailable, err, lastLines(string(out), 3))
	}
	return bin, nil
}

// exportTree writes the files of rev in the repository at root to dst.
func exportTree(root, rev, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	var stderr strings.Builder
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", rev)
	archive.Stderr = &stderr
	untar := exec.Command("tar", "-x", "-C", dst)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	untar.Stderr = &stderr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		untar.Wait()
		return fmt.Errorf("git archive %s: %v: %s", rev, err, stderr.String())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("untar %s: %v: %s", rev, err, stderr.String())
	}
	return nil
}

// Start implements Target.
func (w *WhispeerJSON) Start(ctx context.Context) (string, string, error) {
	bin, err := w.Build.binary()
	if err != nil {
		return "", "", err
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-whispeer-")
	if err != nil {
		return "", "", err
	}
	w.admin = randomHex(24)
	conf := fmt.Sprintf(whispeerConfig, port) + "\n[admin]\ntoken = \"" + w.admin + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "whispeer.toml"), []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	w.url = "ws://" + addr + "/"
	w.srv, err = startServer(ctx, dir, addr, bin, "serve", "--config", filepath.Join(dir, "whispeer.toml"))
	if err != nil {
		return "", "", err
	}
	if w.token, err = wsLogin(ctx, w.url, "admin", "password"); err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	return addr, "whispeer " + w.Build.revision() + ", JSON over WebSocket, gobwas/ws " + modVersion("github.com/gobwas/ws"), nil
}

// Close removes the binary that Build built.
func (w *WhispeerJSON) Close() error { return w.Build.Close() }

// Stop implements Target.
func (w *WhispeerJSON) Stop() error {
	err := w.srv.stop()
	w.srv = nil
	return err
}

// PID implements Process.
func (w *WhispeerJSON) PID() int { return w.srv.pid() }

// Connect implements Target: a WebSocket connection authenticated with the
// token of the login made at Start.
func (w *WhispeerJSON) Connect(ctx context.Context) (Client, error) {
	c, err := dialJSON(ctx, w.url)
	if err != nil {
		return nil, err
	}
	if err := c.auth(ctx, w.token); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// HTTPAPI implements HTTPPublisher: the admin API on the WebSocket port,
// with the admin token, publishing at QoS 0.
func (w *WhispeerJSON) HTTPAPI() HTTPAPI {
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(w.url, "ws"), "/")
	return HTTPAPI{
		PublishURL: base + "/api/publish", BatchURL: base + "/api/publish/batch",
		Header: "Authorization", Credential: "Bearer " + w.admin,
		Single: func(topic string, payload []byte) []byte {
			return fmt.Appendf(nil, `{"topic":%q,"payload":%s}`, topic, payload)
		},
		Batch: func(topic string, payloads [][]byte) []byte {
			b := []byte(`{"messages":[`)
			for i, p := range payloads {
				if i > 0 {
					b = append(b, ',')
				}
				b = fmt.Appendf(b, `{"topic":%q,"payload":%s}`, topic, p)
			}
			return append(b, "]}"...)
		},
		Failed: func(body []byte) bool { return bytes.Contains(body, []byte(`"error"`)) },
	}
}

// Skip implements Limiter.
func (w *WhispeerJSON) Skip(workload string) error {
	if workload == "durable" {
		return fmt.Errorf("%w: durable runs use the whispeer-durable-* targets (native protocol, QoS 1)", ErrNotApplicable)
	}
	return nil
}

// controlTimeout bounds waiting for a login or auth answer.
const controlTimeout = 10 * time.Second

var (
	_ Target    = (*WhispeerJSON)(nil)
	_ Process   = (*WhispeerJSON)(nil)
	_ Limiter   = (*WhispeerJSON)(nil)
	_ io.Closer = (*WhispeerJSON)(nil)
)

// whispeerConfig is the server's configuration for a run: the shipped
// defaults, but on a free port, without the TCP listener, with room for the
// idle workload's connections and without the per-connection publish rate
// limit (10,000/s by default), which would cap every throughput figure,
// and without a store (the default is SQLite with a sync every 5 ms): these
// workloads publish at QoS 0 and measure delivery, not the disk.
const whispeerConfig = `[server]
host = "127.0.0.1"
port = %d
tcp_port = 0
max_connections = 20000
max_publish_rate = 0

[store]
kind = "none"

[log]
level = "warn"
`
