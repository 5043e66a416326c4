package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
	"github.com/whispeer-io/whispeer/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) whispeer.Store { return memory.New() })
}
