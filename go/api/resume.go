package api

import (
	"bufio"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// EventLog is an optional part of Service: a stream of complete
// Server-Sent Events frames carrying ids ("id: <seq>"), which replays what
// came after lastID (the Last-Event-ID a reconnecting browser sends).
type EventLog interface {
	SubscribeSSE(lastID string, buf int) (<-chan []byte, func())
}

// eventsResumable serves GET /api/events from an EventLog when the service
// has one; false: it has none (the plain stream follows).
func (s *Server) eventsResumable(ctx *fasthttp.RequestCtx) bool {
	log, ok := s.svc.(EventLog)
	if !ok {
		return false
	}
	tok := parseAuthorization(ctx.Request.Header.Peek("Authorization"))
	if tok == nil {
		tok = ctx.QueryArgs().Peek("token")
	}
	if !s.tokens.check(tok, s.now(), s.cfg.TokenTTL) {
		unauthorized(ctx)
		return true
	}
	select {
	case <-s.stop:
		writeError(ctx, fasthttp.StatusServiceUnavailable, "server is shutting down")
		return true
	default:
	}
	if n := s.streams.Add(1); int(n) > s.cfg.MaxEventStreams {
		s.streams.Add(-1)
		writeError(ctx, fasthttp.StatusServiceUnavailable, "too many event streams open (limit "+strconv.Itoa(s.cfg.MaxEventStreams)+")")
		return true
	}
	last := string(ctx.Request.Header.Peek("Last-Event-ID"))
	if last == "" {
		last = string(ctx.QueryArgs().Peek("lastEventId")) // for clients that cannot set headers
	}
	ch, unsubscribe := log.SubscribeSSE(last, eventBuffer)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	stop, heartbeat := s.stop, s.cfg.Heartbeat
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.streams.Add(-1)
		defer unsubscribe()
		_, _ = w.WriteString("retry: 3000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case frame, ok := <-ch:
				if !ok {
					return
				}
				_, _ = w.Write(frame)
				// Write what else is ready in one flush.
				for more := true; more && w.Buffered() < 32<<10; {
					select {
					case f := <-ch:
						_, _ = w.Write(f)
					default:
						more = false
					}
				}
			case <-t.C:
				_, _ = w.WriteString(": ping\n\n")
			}
			if w.Flush() != nil {
				return
			}
		}
	})
	return true
}
