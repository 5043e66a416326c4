package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/metrics/metricstest"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/store/file"
)

// TestServer_StoreCorruptReported starts a server on a file store with a
// damaged record: its start-up log names the segment and offset, and
// /metrics counts it.
func TestServer_StoreCorruptReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	st, err := file.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := st.Append(context.Background(), &whispeer.Message{Topic: "t", ID: "x", Payload: []byte("payload")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	seg := filepath.Join(dir, "00000000000000000001.log")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // the second record's payload
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *config.Config) {
		c.Store.Kind, c.Store.Path = config.StoreFile, dir
	}, WithMetrics(metrics.New(metrics.Options{})))
	if log := ts.logs.String(); !strings.Contains(log, "file="+seg+" offset=") {
		t.Errorf("the start-up log does not name the damaged record:\n%s", log)
	}
	f := metricstest.ScrapeURL(t, http.DefaultClient, ts.httpURL()+"/metrics")
	if v, ok := f.Value("whispeer_store_corrupt_records_total"); v != 1 {
		t.Errorf("whispeer_store_corrupt_records_total = %v (found %t), want 1", v, ok)
	}
}
