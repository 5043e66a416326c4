package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// WhispeerBuild is the whispeer server binary that the whispeer targets
// share: built once from the repository at Root (or taken from Bin) and
// removed by Close.
type WhispeerBuild struct {
	Root string // repository root; cmd/whispeer is built from here
	Rev  string // commit to build, "HEAD" for the last; "" builds the working tree
	Bin  string // prebuilt binary; built from Root when empty
	// Base marks the build an A/B run compares against: the names of its
	// targets end in BaseSuffix, so that each stands beside its twin.
	Base bool

	build    sync.Once
	bin      string
	commit   string // Rev resolved, once built
	buildErr error
	mu       sync.Mutex
	removed  bool
}

// BaseSuffix ends the name of a target whose server is the A/B base build,
// e.g. "whispeer-tcp@base" beside "whispeer-tcp".
const BaseSuffix = "@base"

// suffix is what the names of b's targets end in: BaseSuffix for the base
// build, nothing otherwise.
func (b *WhispeerBuild) suffix() string {
	if b != nil && b.Base {
		return BaseSuffix
	}
	return ""
}

// binary returns the whispeer binary, building it once.
func (b *WhispeerBuild) binary() (string, error) {
	b.build.Do(func() {
		if b.Bin != "" {
			b.bin = b.Bin
			return
		}
		if b.Rev != "" {
			out, err := exec.Command("git", "-C", b.Root, "rev-parse", "--short=12", b.Rev).Output()
			if err != nil {
				b.buildErr = fmt.Errorf("%w: git rev-parse %s: %v", ErrUnavailable, b.Rev, err)
				return
			}
			b.commit = strings.TrimSpace(string(out))
		}
		b.bin, b.buildErr = buildWhispeer(b.Root, b.commit)
	})
	return b.bin, b.buildErr
}

// revision describes the whispeer commit measured.
func (b *WhispeerBuild) revision() string {
	if b.Bin != "" {
		return strings.TrimSpace(commandOutput(b.Bin, "version"))
	}
	if b.commit != "" {
		return b.commit
	}
	out, err := exec.Command("git", "-C", b.Root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown)"
	}
	return strings.TrimSpace(string(out))
}

// Close removes the binary that binary built; closing twice is a no-op.
func (b *WhispeerBuild) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed || b.Bin != "" || b.bin == "" {
		return nil
	}
	b.removed = true
	return os.RemoveAll(filepath.Dir(b.bin))
}
