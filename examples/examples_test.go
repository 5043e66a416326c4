// Package examples_test builds and runs every Go example, so that each one
// keeps compiling and finishing cleanly.
package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every example")
	}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "testdata" || !hasGo(d.Name()) {
			continue // js-node is run by the JavaScript package's tests
		}
		t.Run(d.Name(), func(t *testing.T) {
			exe := filepath.Join(bin, d.Name())
			if out, err := exec.Command("go", "build", "-o", exe, "./"+d.Name()).CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe)
			cmd.Dir = t.TempDir()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
		})
	}
}

// hasGo reports whether dir holds Go files.
func hasGo(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}
