package api

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// retryListener keeps Accept going through errors: when the process runs out
// of descriptors (EMFILE/ENFILE) or a client resets before accept
// (ECONNABORTED), fasthttp would end its Serve loop for good. Here the error
// is logged (at most once a minute), Accept waits with backoff and tries
// again; only a closed listener ends it.
type retryListener struct {
	net.Listener
	stop    <-chan struct{}
	log     *slog.Logger
	lastLog time.Time
}

func (l *retryListener) Accept() (net.Conn, error) {
	bo := backoff{min: 5 * time.Millisecond, max: time.Second}
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if time.Since(l.lastLog) > time.Minute {
			l.lastLog = time.Now()
			l.log.Warn("rest: accept failed; retrying", "err", err)
		}
		if !bo.sleep(l.stop) {
			return nil, net.ErrClosed
		}
	}
}

// backoff doubles a wait from min to max.
type backoff struct {
	min, max, cur time.Duration
}

// sleep waits the next interval; false when stop closed first.
func (b *backoff) sleep(stop <-chan struct{}) bool {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
