// Command server embeds a whispeer server in a Go program: the program
// publishes and subscribes on its broker directly, while WebSocket clients
// (browsers, PopSub clients) reach the same broker over the network.
//
// It runs a short demonstration and exits. To serve until interrupted,
// replace Listen and Serve with
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	err := srv.ListenAndServe(ctx) // cfg's host and port; graceful shutdown on ^C
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

func main() {
	// The broker belongs to the program; the server only serves it.
	b, err := whispeer.New(whispeer.WithHistory(10))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// config.Load(config.Options{}) would read config/default.toml, .env
	// and WHISPEER_* variables; the defaults suit a demonstration.
	cfg := config.Default()
	srv, err := server.New(cfg, server.WithBroker(b))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // any free port
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	fmt.Println("WebSocket server listening on ws://" + ln.Addr().String())

	// The Go side of the program subscribes in-process.
	got := make(chan string, 1)
	if _, err := b.Subscribe("chat/#", func(_ context.Context, m *whispeer.Message) error {
		got <- fmt.Sprintf("%s on %s", m.Payload, m.Topic)
		return nil
	}); err != nil {
		log.Fatal(err)
	}

	// A WebSocket client logs in, authenticates and subscribes, as a
	// browser would.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	login := exchange(ctx, c, `{"type":"login","username":"admin","password":"password"}`)
	exchange(ctx, c, `{"type":"auth","token":"`+login["token"].(string)+`"}`)
	exchange(ctx, c, `{"type":"subscribe","topic":"chat/#"}`)

	// The client publishes; the program's subscriber gets it.
	send(ctx, c, `{"type":"publish","topic":"chat/room","payload":{"text":"hi from the browser"}}`)
	fmt.Println("Go received:", <-got)
	fmt.Println("client received:", receiveRaw(ctx, c)) // its own message, being subscribed

	// The program publishes; the client gets it.
	if err := b.Publish(ctx, "chat/room", []byte(`"hello from Go"`)); err != nil {
		log.Fatal(err)
	}
	<-got
	fmt.Println("client received:", receiveRaw(ctx, c))

	// Shutdown closes the client with 1001 after flushing its queue. The
	// broker stays open: it is the program's.
	go c.Read(ctx) // answer the close handshake
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
}

// exchange sends a frame and returns the answer, decoded.
func exchange(ctx context.Context, c *websocket.Conn, frame string) map[string]any {
	send(ctx, c, frame)
	return receive(ctx, c)
}

func send(ctx context.Context, c *websocket.Conn, frame string) {
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		log.Fatal(err)
	}
}

// receiveRaw returns the next frame as it came.
func receiveRaw(ctx context.Context, c *websocket.Conn) string {
	_, data, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	return string(data)
}

// receive returns the next frame, decoded; an error frame ends the program.
func receive(ctx context.Context, c *websocket.Conn) map[string]any {
	var f map[string]any
	if err := json.Unmarshal([]byte(receiveRaw(ctx, c)), &f); err != nil {
		log.Fatal(err)
	}
	if f["type"] == "error" {
		log.Fatalf("server error: %s", f["error"])
	}
	return f
}
