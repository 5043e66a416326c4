package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
	"go.uber.org/goleak"
)

// TestMain runs main itself when the test binary is started as the
// whispeer command by a test below.
func TestMain(m *testing.M) {
	if os.Getenv("WHISPEER_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// command returns the test binary set up to run as whispeer with args, in
// an empty directory and with no WHISPEER_ variables but those in env.
func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"WHISPEER_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

// startServe starts `whispeer serve` with env and args. It returns the
// process, its standard output to read the listening lines from, and its
// standard error as collected so far; the process is killed when the test
// ends, unless it has exited.
func startServe(t *testing.T, env []string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := command(t, env, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, bufio.NewReader(stdout), stderr
}

func TestServe_ListensAndStopsGracefullyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			port := freePort(t)
			cmd, stdout, stderr := startServe(t, nil, "--server.port="+strconv.Itoa(port), "--server.tcp_port=0")
			line, err := stdout.ReadString('\n')
			if err != nil {
				t.Fatalf("no listening line: %v\n%s", err, stderr.String())
			}
			url := "ws://127.0.0.1:" + strconv.Itoa(port)
			if want := "WebSocket server listening on " + url + "\n"; line != want {
				t.Fatalf("printed %q, want %q", line, want)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","token":"x"}`)); err != nil {
				t.Fatal(err)
			}
			if _, data, err := c.Read(ctx); err != nil || !strings.Contains(string(data), "authentication failed") {
				t.Fatalf("read %s, %v", data, err)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Fatalf("want close 1001, got %v", err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "shutting down") {
				t.Fatalf("stderr:\n%s", stderr.String())
			}
		})
	}
}

func TestServe_RefusesInsecureSettingsOffLoopback(t *testing.T) {
	cmd := command(t, nil, "serve", "--server.host=0.0.0.0", "--server.port="+strconv.Itoa(freePort(t)))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("started on 0.0.0.0 with the shipped secret:\n%s", out)
	}
	for _, want := range []string{"jwt_secret", "plain-text passwords"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestServe_WarnsOnLoopback(t *testing.T) {
	// config.Load reads the environment; the configuration file is absent,
	// so built-in defaults apply.
	port := freePort(t)
	cmd := command(t, []string{config.EnvVar("server.port") + "=" + strconv.Itoa(port), config.EnvVar("server.tcp_port") + "=0"}, "serve")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasSuffix(line, ":"+strconv.Itoa(port)+"\n") {
		t.Fatalf("printed %q", line)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "level=WARN") || !strings.Contains(stderr.String(), "jwt_secret") {
		t.Fatalf("no warning:\n%s", stderr.String())
	}
}

func TestServe_ConfigFile(t *testing.T) {
	port := freePort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "my.toml")
	toml := "[server]\nport = " + strconv.Itoa(port) + "\ntcp_port = 0\n[log]\nformat = \"json\"\n"
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := command(t, nil, "serve", "--config", file)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "WebSocket server listening on ws://127.0.0.1:"+strconv.Itoa(port)+"\n" {
		t.Fatalf("printed %q\n%s", line, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stderr.String(), "{") {
		t.Fatalf("log is not JSON:\n%s", stderr.String())
	}
}

func TestPasswd(t *testing.T) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs([]string{"passwd"})
	root.SetIn(strings.NewReader("correct horse\n"))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSpace(out.String())
	if err := auth.CheckHash(hash); err != nil {
		t.Fatalf("%q: %v", hash, err)
	}
	users, err := auth.NewUsers([]config.User{{Username: "u", Password: config.Secret(hash)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Authenticate("u", "correct horse"); err != nil {
		t.Fatalf("the hash does not accept its password: %v", err)
	}
	if strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Fatal("the password was printed")
	}
}

func TestPasswd_Empty(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"passwd"})
	root.SetIn(strings.NewReader("\n"))
	root.SetOut(&bytes.Buffer{})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "empty password") {
		t.Fatalf("got %v", err)
	}
}

func TestVersion(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs([]string{"version"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil || !strings.HasPrefix(out.String(), "whispeer ") {
		t.Fatalf("%q, %v", out.String(), err)
	}
}

func TestVersionLine(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	info := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}
		for i := 0; i < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	const rev = "1d83a8930ebc175b8feb70edbdcea40f6a228f2e"
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"stamped", info("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-06T13:40:10Z", "vcs.modified", "false"),
			"whispeer (devel) commit 1d83a8930ebc (2026-12-06T13:40:10Z) go1.26.0" + platform},
		{"modified", info("vcs.revision", rev, "vcs.time", "2026-12-06T13:40:10Z", "vcs.modified", "true"),
			"whispeer (devel) commit 1d83a8930ebc (2026-12-06T13:40:10Z, modified) go1.26.0" + platform},
		{"short revision", info("vcs.revision", "abc"), "whispeer (devel) commit abc go1.26.0" + platform},
		{"not stamped", info(), "whispeer (devel) commit unknown (built without VCS information) go1.26.0" + platform},
	} {
		if got := versionLine(tc.info, true); got != tc.want {
			t.Errorf("%s: %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if got := versionLine(nil, false); !strings.HasPrefix(got, "whispeer (unknown) go") {
		t.Errorf("no build information: %q", got)
	}
}
