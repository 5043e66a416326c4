package whispeer_test

import (
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// TestHistoryStore checks the in-memory history of a broker without a
// store against the contract every Store meets, with room enough that it
// drops nothing the suite appends.
func TestHistoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) whispeer.Store { return whispeer.NewHistoryStore(1 << 16) })
}
