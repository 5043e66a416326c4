package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// watch ends a client command with the server's reason. The server
// refuses some frames with an ERROR that answers no call of the client (a
// QoS 0 PUB, a frame sent before authenticating), and it may end the
// connection; watch takes these from the client's error and disconnect
// handlers, keeps the first, and cancels the command's context with it, so
// that every wait of the command returns at once. Other errors from the
// server are printed as warnings.
type watch struct {
	parent context.Context // ended by an interrupt
	ctx    context.Context
	cancel context.CancelCauseFunc
	refs   []wire.Type // the frames whose refusal ends the command
	warn   io.Writer
}

// failure is the cause with which watch cancels a command's context.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// newWatch returns a watch whose context is a child of parent, ended by
// the refusal of a frame of one of the types refs or by a lost
// connection.
func newWatch(parent context.Context, warn io.Writer, refs ...wire.Type) *watch {
	ctx, cancel := context.WithCancelCause(parent)
	return &watch{parent: parent, ctx: ctx, cancel: cancel, refs: refs, warn: warn}
}

// options returns the client options that report to w.
func (w *watch) options() []client.Option {
	return []client.Option{client.WithErrorHandler(w.onError), client.WithDisconnectHandler(w.onDisconnect)}
}

// onError is the client's error handler. It runs on the client's reading
// goroutine, before the frames that follow the error are handled, so a
// refusal is seen before the answer to a later Flush. A delivery that
// failed, or a refusal of a frame not in w.refs, is a warning; anything
// else, a lost connection among them, ends the command.
func (w *watch) onError(err error) {
	se, isServer := errors.AsType[*client.ServerError](err)
	_, isDelivery := errors.AsType[*client.DeliveryError](err)
	switch {
	case isServer && (se.Fatal || slices.Contains(w.refs, se.Ref)):
		w.fail(se)
	case isServer || isDelivery || errors.Is(err, client.ErrGap):
		if w.ctx.Err() == nil {
			fmt.Fprintln(w.warn, "whispeer: warning:", trimPrefix(err.Error()))
		}
	default:
		w.fail(err)
	}
}

// onDisconnect is the client's disconnect handler.
func (w *watch) onDisconnect(err error) {
	w.fail(fmt.Errorf("connection lost: %w", err))
}

// fail ends the command with err, unless it has ended already.
func (w *watch) fail(err error) { w.cancel(&failure{err}) }

// err returns the server's error that ended the command, or nil if it
// did not end or ended otherwise (interrupted, or done).
func (w *watch) err() error {
	if f, ok := errors.AsType[*failure](context.Cause(w.ctx)); ok {
		return f.err
	}
	return nil
}

// result returns the server's error if there is one, else err: a wait
// cut short by the server's refusal reports the refusal.
func (w *watch) result(err error) error {
	if werr := w.err(); werr != nil && err != nil {
		return werr
	}
	return err
}

// authHint adds to a refusal for want of authentication how to log in.
func authHint(err error) error {
	if se, ok := errors.AsType[*client.ServerError](err); ok && se.Code == wire.CodeUnauthorized && !se.Fatal {
		return fmt.Errorf("%w (log in with --user and --password, or --token)", err)
	}
	return err
}

// close closes c: politely (see client.Client.Close) when the command
// succeeded, at once when it failed or was interrupted, so that a server
// that stopped answering holds the command no longer.
func (w *watch) close(c *client.Client, failed bool) {
	if !failed && w.err() == nil && w.parent.Err() == nil {
		c.Close()
		return
	}
	now, cancel := context.WithCancel(context.Background())
	cancel()
	c.Drain(now) // a done context: stops at once
}
