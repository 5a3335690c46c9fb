package pg

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the channel the triggers of migrations 0003 and 0004
// notify on every change to ext_group, ext_group_map, nwayacd_group,
// nwayacd_extension and nwayacd_list.
const NotifyChannel = "nwayacd_config"

// Watch LISTENs on NotifyChannel on a connection of its own and calls fn
// (from Watch's goroutine) whenever another writer — FSGUI, another node —
// changes groups, logins, extensions or lists; this Store's own writes are
// skipped.
// fn is also called after every (re)connect, since changes made while not
// listening were missed: reload from Load then. Changes arriving within
// 50 ms of each other make one call. Lost connections are
// re-established with backoff. Watch returns ctx.Err() when ctx ends.
func (s *Store) Watch(ctx context.Context, fn func()) error {
	backoff := 100 * time.Millisecond
	for {
		if s.listen(ctx, fn) {
			backoff = 100 * time.Millisecond // was listening: retry soon
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// listen serves one connection until it fails; it reports whether LISTEN
// was established.
func (s *Store) listen(ctx context.Context, fn func()) bool {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(c)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false
	}
	fn()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		if s.own(n.Payload) {
			continue
		}
		// One save in FSGUI may be several transactions: gather what comes
		// within coalesceWindow into one call. A timed-out wait leaves the
		// connection usable.
		for {
			wctx, cancel := context.WithTimeout(ctx, coalesceWindow)
			_, err := conn.WaitForNotification(wctx)
			quiet := wctx.Err() != nil && ctx.Err() == nil
			cancel()
			if quiet {
				break
			}
			if err != nil {
				return true // fn runs after the reconnect
			}
		}
		fn()
	}
}

// coalesceWindow is how long Watch waits for more changes before calling fn.
const coalesceWindow = 50 * time.Millisecond

// own reports whether a payload ("<table> <op> <origin>") came from this Store.
func (s *Store) own(payload string) bool {
	i := strings.LastIndexByte(payload, ' ')
	return i >= 0 && payload[i+1:] == s.origin
}
