package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WhispeerJSON is `whispeer serve` speaking the PopSub JSON protocol over
// WebSocket: the binary is built from the repository at Root (or taken
// from Bin), started with a generated configuration on a free port, and
// reached with a Go WebSocket client that batches its writes.
type WhispeerJSON struct {
	Root string // repository root; cmd/whispeer is built from here
	Bin  string // prebuilt binary; built from Root when empty

	build    sync.Once
	bin      string
	buildErr error
	srv      *server
	url      string
	token    string
}

// Name implements Target.
func (*WhispeerJSON) Name() string { return "whispeer-json-ws" }

// binary returns the whispeer binary, building it once.
func (w *WhispeerJSON) binary() (string, error) {
	w.build.Do(func() {
		if w.Bin != "" {
			w.bin = w.Bin
			return
		}
		w.bin, w.buildErr = buildWhispeer(w.Root)
	})
	return w.bin, w.buildErr
}

// buildWhispeer builds cmd/whispeer from root into a temporary directory.
func buildWhispeer(root string) (string, error) {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "whispeer")); err != nil {
		return "", fmt.Errorf("%w yet: no cmd/whispeer in %s", ErrUnavailable, root)
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "whispeer")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/whispeer")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: build cmd/whispeer: %v: %s", ErrUnavailable, err, lastLines(string(out), 3))
	}
	return bin, nil
}

// Start implements Target.
func (w *WhispeerJSON) Start(ctx context.Context) (string, string, error) {
	bin, err := w.binary()
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
	conf := fmt.Sprintf("[server]\nhost = \"127.0.0.1\"\nport = %d\ntcp_port = 0\nmax_connections = 20000\n\n[log]\nlevel = \"warn\"\n", port)
	if err := os.WriteFile(filepath.Join(dir, "whispeer.toml"), []byte(conf), 0o600); err != nil {
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
	return addr, "whispeer " + w.revision() + ", JSON over WebSocket, gobwas/ws " + modVersion("github.com/gobwas/ws"), nil
}

// revision describes the checked-out whispeer commit.
func (w *WhispeerJSON) revision() string {
	if w.Bin != "" {
		return strings.TrimSpace(commandOutput(w.Bin, "version"))
	}
	out, err := exec.Command("git", "-C", w.Root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown)"
	}
	return strings.TrimSpace(string(out))
}

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

// Skip implements Limiter.
func (w *WhispeerJSON) Skip(workload string) error {
	if workload == "durable" {
		return fmt.Errorf("%w yet: durable acknowledged publishing comes with whispeer's persistence", ErrUnavailable)
	}
	return nil
}

// controlTimeout bounds waiting for a login or auth answer.
const controlTimeout = 10 * time.Second

var (
	_ Target  = (*WhispeerJSON)(nil)
	_ Process = (*WhispeerJSON)(nil)
	_ Limiter = (*WhispeerJSON)(nil)
)
