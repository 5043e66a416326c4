package clustertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// build is the whispeer binary built for this test process.
var build struct {
	once sync.Once
	dir  string
	path string
	err  string
}

// EnvBinary names the environment variable that gives a prebuilt whispeer
// binary for Binary to return instead of building one.
const EnvBinary = "WHISPEER_TEST_BINARY"

// Binary returns the path of the whispeer binary, built from this module
// on the first call of the test process, with -race when the tests run
// with it; or the binary that $WHISPEER_TEST_BINARY names.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(EnvBinary); bin != "" {
		return bin
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "whispeer-clustertest-")
		if err != nil {
			build.err = err.Error()
			return
		}
		build.dir = dir
		path := filepath.Join(dir, "whispeer")
		args := []string{"build", "-o", path}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/whispeer-io/whispeer/cmd/whispeer")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			build.err = err.Error() + "\n" + string(out)
			return
		}
		build.path = path
	})
	if build.err != "" {
		t.Fatalf("clustertest: go build whispeer: %s", build.err)
	}
	return build.path
}

// Main runs the tests of m, removes the binary that Binary built and exits
// with their status: call it from TestMain.
func Main(m *testing.M) { os.Exit(Wrap(m).Run()) }

// Wrap returns m with a Run that removes the binary that Binary built
// after the tests, for a TestMain that hands m to another runner, such as
// goleak.VerifyTestMain(clustertest.Wrap(m)).
func Wrap(m *testing.M) *M { return &M{m: m} }

// M is a testing.M whose Run removes the binary that Binary built.
type M struct{ m *testing.M }

// Run runs the tests and removes the binary.
func (m *M) Run() int {
	code := m.m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}
