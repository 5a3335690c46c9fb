package service

import (
	"context"
	"strconv"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Call control of a call another node holds (cluster mode): the command
// goes to that node (through the pool's Redis, on the pool worker) and runs
// there; the answer here only says it was forwarded. The holder is taken
// from the pool's view the membership reads every tick.

// Transfer: see transferExt; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) Transfer(ext, to, gateway string) error {
	return s.orForward(s.transferExt(ext, to, gateway), "transferExt", ext, to, gateway)
}

// TransferUUID: see transferUUID; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) TransferUUID(uuid, to string) error {
	return s.orForward(s.transferUUID(uuid, to), "transferUUID", uuid, to)
}

// Hangup: see hangup; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) Hangup(ext string) error {
	return s.orForward(s.hangup(ext), "hangup", ext)
}

// Hold: see hold; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) Hold(ext string) error {
	return s.orForward(s.hold(ext), "hold", ext)
}

// Unhold: see unhold; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) Unhold(ext string) error {
	return s.orForward(s.unhold(ext), "unhold", ext)
}

// HoldUUID: see holdUUID; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) HoldUUID(uuid string) error {
	return s.orForward(s.holdUUID(uuid), "holdUUID", uuid)
}

// UnholdUUID: see unholdUUID; in cluster mode a call held on another node is
// forwarded to it.
func (s *Service) UnholdUUID(uuid string) error {
	return s.orForward(s.unholdUUID(uuid), "unholdUUID", uuid)
}

// byUUID are the forwarded commands that name a channel (the others name
// an extension).
var byUUID = map[string]bool{"transferUUID": true, "holdUUID": true, "unholdUUID": true}

// forwardMaxAge drops a forwarded command that waited longer (its node was
// away): call control is for now.
const forwardMaxAge = 5 * time.Second

// ControlForwarder is what a pool offers to forward call control.
type ControlForwarder interface {
	Control(ctx context.Context, node string, fields []string) error
	NextControl(ctx context.Context, wait time.Duration) ([]string, bool, error)
}

// orForward returns err unless it says the call is not here and the pool
// names another node holding it: then the command goes there.
func (s *Service) orForward(err error, cmd string, args ...string) error {
	if err == nil || s.pool == nil {
		return err
	}
	if c := acd.CodeOf(err); c != acd.ErrNoCall && c != acd.ErrUnknownCall {
		return err
	}
	if _, ok := s.pool.p.(ControlForwarder); !ok {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.pool
	node := ""
	if byUUID[cmd] {
		node = ps.holderOf(args[0])
	} else if a, ok := ps.agents[args[0]]; ok && a.Call != "" {
		node = a.CallNode
	}
	if node == "" || node == ps.node {
		return err
	}
	fields := append([]string{strconv.FormatInt(time.Now().UnixMilli(), 10), cmd}, args...)
	s.push(poolOp{kind: opControl, ext: node, grps: fields})
	return nil
}

// holderOf is the node holding call uuid, as the pool last showed it.
func (ps *poolState) holderOf(uuid string) string {
	for _, w := range ps.remote {
		if w.UUID == uuid {
			return w.Node
		}
	}
	for _, a := range ps.agents {
		if a.Call == uuid {
			return a.CallNode
		}
	}
	return ""
}

// controlLoop runs the commands other nodes forward to this one.
func (s *Service) controlLoop(ctx context.Context, f ControlForwarder) {
	for ctx.Err() == nil {
		fields, ok, err := f.NextControl(ctx, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("nwayacd cluster: forwarded control", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		if ok {
			s.runForwarded(fields)
		}
	}
}

func (s *Service) runForwarded(f []string) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("nwayacd cluster: forwarded control panicked", "panic", r)
		}
	}()
	if len(f) < 3 {
		s.log.Warn("nwayacd cluster: bad forwarded control", "fields", f)
		return
	}
	at, _ := strconv.ParseInt(f[0], 10, 64)
	if time.Since(time.UnixMilli(at)) > forwardMaxAge {
		s.log.Warn("nwayacd cluster: forwarded control too old, dropped", "fields", f)
		return
	}
	var err error
	a := f[2:]
	arg := func(i int) string {
		if i < len(a) {
			return a[i]
		}
		return ""
	}
	switch f[1] {
	case "transferExt":
		err = s.transferExt(arg(0), arg(1), arg(2))
	case "transferUUID":
		err = s.transferUUID(arg(0), arg(1))
	case "hangup":
		err = s.hangup(arg(0))
	case "hold":
		err = s.hold(arg(0))
	case "unhold":
		err = s.unhold(arg(0))
	case "holdUUID":
		err = s.holdUUID(arg(0))
	case "unholdUUID":
		err = s.unholdUUID(arg(0))
	default:
		s.log.Warn("nwayacd cluster: unknown forwarded control", "fields", f)
		return
	}
	if err != nil {
		s.log.Warn("nwayacd cluster: forwarded control failed", "fields", f, "err", err)
	}
}
