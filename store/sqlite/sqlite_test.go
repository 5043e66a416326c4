package sqlite_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/sqlite"
	"github.com/whispeer-io/whispeer/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashHelper(openSync)
	goleak.VerifyTestMain(m)
}

func openSync(dir string, p whispeer.SyncPolicy) (whispeer.Store, error) {
	return sqlite.Open(filepath.Join(dir, "whispeer.db"), sqlite.WithFsync(p))
}

func TestStore(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncNever} {
		t.Run(p.String(), func(t *testing.T) {
			storetest.RunDurable(t, func(t *testing.T, dir string) whispeer.Store {
				s, err := openSync(dir, p)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			})
		})
	}
}

func TestStore_Crash(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncEvery(2e6)} {
		t.Run(p.String(), func(t *testing.T) { storetest.Crash(t, p, openSync) })
	}
}
