package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkAPI_PublishBatch posts batches of 100 QoS 0 messages of 128
// bytes to the admin API's handler, with one JSON subscriber.
func BenchmarkAPI_PublishBatch(b *testing.B) {
	ts := newTestServer(b, withKeysTB)
	js := ts.authed(b, "admin")
	js.subscribe("chat/#")
	go func() {
		for {
			if _, _, err := js.c.Read(b.Context()); err != nil {
				return
			}
		}
	}()
	item := `{"topic":"chat/a","payload":"` + strings.Repeat("x", 126) + `"}`
	body := `{"messages":[` + strings.Repeat(item+",", 99) + item + `]}`
	h := ts.AdminHandler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/publish/batch", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}
