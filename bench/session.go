package bench

import (
	"context"
	"errors"
	"sync"
)

// session is a started target and the clients a workload opened on it.
type session struct {
	t       Target
	version string
	mu      sync.Mutex
	clients []Client
}

// skip returns why t cannot run workload w, or nil.
func skip(t Target, w string) error {
	if l, ok := t.(Limiter); ok {
		return l.Skip(w)
	}
	return nil
}

// open checks that workload w can run on t, and starts t.
func open(ctx context.Context, t Target, w string) (*session, error) {
	if err := skip(t, w); err != nil {
		return nil, err
	}
	_, v, err := t.Start(ctx)
	if err != nil {
		t.Stop()
		return nil, err
	}
	return &session{t: t, version: v}, nil
}

// connect opens one client, closed with the session.
func (s *session) connect(ctx context.Context) (Client, error) {
	c, err := s.t.Connect(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c, nil
}

// connectPublisher opens the publisher's client, on the node a Placer
// chooses, closed with the session.
func (s *session) connectPublisher(ctx context.Context) (Client, error) {
	p, ok := s.t.(Placer)
	if !ok {
		return s.connect(ctx)
	}
	c, err := p.ConnectPublisher(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c, nil
}

// connectMany opens n clients, par at a time, calling setup(i, c) on each.
func (s *session) connectMany(ctx context.Context, n, par int, setup func(int, Client) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range par {
		wg.Go(func() {
			for i := range next {
				c, err := s.connect(ctx)
				if err == nil && setup != nil {
					err = setup(i, c)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// close closes every client, a few at a time, then stops the target.
func (s *session) close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range s.clients {
		sem <- struct{}{}
		wg.Go(func() {
			c.Close()
			<-sem
		})
	}
	wg.Wait()
	s.t.Stop()
}

// outcome wraps m with the session's version.
func (s *session) outcome(m Metrics, err error) (Outcome, error) {
	return Outcome{Version: s.version, Metrics: m}, err
}
