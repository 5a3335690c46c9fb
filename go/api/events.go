package api

import (
	"bufio"
	"bytes"
	_ "embed"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// eventBuffer is how many events a slow stream may fall behind before the
// service drops them for it.
const eventBuffer = 256

// events streams the service's JSON events as Server-Sent Events. Browsers'
// EventSource cannot set headers, so ?token= is accepted too.
func (s *Server) events(ctx *fasthttp.RequestCtx, _ string) {
	if s.eventsResumable(ctx) { // ids and Last-Event-ID (resume.go)
		return
	}
	tok := parseAuthorization(ctx.Request.Header.Peek("Authorization"))
	if tok == nil {
		tok = ctx.QueryArgs().Peek("token")
	}
	if !s.tokens.check(tok, s.now(), s.cfg.TokenTTL) {
		unauthorized(ctx)
		return
	}
	select {
	case <-s.stop:
		writeError(ctx, fasthttp.StatusServiceUnavailable, "server is shutting down")
		return
	default:
	}
	if n := s.streams.Add(1); int(n) > s.cfg.MaxEventStreams {
		s.streams.Add(-1)
		writeError(ctx, fasthttp.StatusServiceUnavailable, "too many event streams open (limit "+strconv.Itoa(s.cfg.MaxEventStreams)+")")
		return
	}
	ch, unsubscribe := s.svc.Subscribe(eventBuffer)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	stop, heartbeat := s.stop, s.cfg.Heartbeat
	// The writer runs on its own goroutine after the handler returns; a
	// write or flush fails once the client has gone, which ends it.
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
			case msg, ok := <-ch:
				if !ok {
					return
				}
				writeEvent(w, msg)
			case <-t.C:
				_, _ = w.WriteString(": ping\n\n")
			}
			if w.Flush() != nil {
				return
			}
		}
	})
}

// writeEvent writes one message as "data:" lines (one per line of msg, so a
// multi-line message cannot end the event early).
func writeEvent(w *bufio.Writer, msg []byte) {
	for {
		i := bytes.IndexByte(msg, '\n')
		line := msg
		if i >= 0 {
			line = msg[:i]
		}
		_, _ = w.WriteString("data: ")
		_, _ = w.Write(bytes.TrimSuffix(line, []byte{'\r'}))
		_ = w.WriteByte('\n')
		if i < 0 {
			break
		}
		msg = msg[i+1:]
	}
	_ = w.WriteByte('\n')
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(ctx *fasthttp.RequestCtx, _ string) {
	ctx.SetContentType(contentJSON)
	ctx.SetBody(openAPIDoc)
}
