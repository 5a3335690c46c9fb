package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// Call control of a call another node holds (cluster mode): the command
// goes to that node through the pool's Redis and runs there; the caller
// waits, bounded and never under the core's lock, for that node's outcome,
// so that OK still means it happened. The holder is taken from the pool's
// view the membership reads every tick.

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

// forwardSlack is how much longer than its own HostWait a forwarder waits
// for the holder's outcome: the holder waits HostWait for its switch, plus
// two Redis round trips.
const forwardSlack = 500 * time.Millisecond

// ControlForwarder is what a pool offers to forward call control.
type ControlForwarder interface {
	Control(ctx context.Context, node string, fields []string) error
	NextControl(ctx context.Context, wait time.Duration) ([]string, bool, error)
	ControlReply(ctx context.Context, id string, fields []string) error
	AwaitControl(ctx context.Context, id string, wait time.Duration) ([]string, bool, error)
}

// replyTag marks a forwarded command's reply id (the second field): a
// command without one (an older forwarder) runs unanswered.
const replyTag = "r:"

// orForward returns err unless it says the call is not here and the pool
// names another node holding it: then the command goes there and the
// answer is that node's outcome.
func (s *Service) orForward(err error, cmd string, args ...string) error {
	if err == nil || s.pool == nil {
		return err
	}
	if c := acd.CodeOf(err); c != acd.ErrNoCall && c != acd.ErrUnknownCall {
		return err
	}
	f, ok := s.pool.p.(ControlForwarder)
	if !ok {
		return err
	}
	s.lock()
	ps := s.pool
	node := ""
	if byUUID[cmd] {
		node = ps.holderOf(args[0])
	} else if a, ok := ps.agents[args[0]]; ok && a.Call != "" {
		node = a.CallNode
	}
	self := ps.node
	s.release()
	if node == "" || node == self {
		return err
	}
	return s.forward(f, node, cmd, args)
}

// forward runs cmd on node and waits, at most HostWait plus forwardSlack,
// for its outcome. The reply id is made here, never taken from outside.
func (s *Service) forward(f ControlForwarder, node, cmd string, args []string) error {
	id := uuid.NewString()
	wait := s.opt.HostWait + forwardSlack
	ctx, cancel := context.WithTimeout(context.Background(), wait+time.Second)
	defer cancel()
	fields := append([]string{strconv.FormatInt(time.Now().UnixMilli(), 10), replyTag + id, cmd}, args...)
	if err := f.Control(ctx, node, fields); err != nil {
		s.log.Warn("nwayacd cluster: forward control", "node", node, "err", err)
		return acd.Errorf(acd.ErrUnavailable, "cannot reach node %s, which holds the call: %v", node, err)
	}
	out, ok, err := f.AwaitControl(ctx, id, wait)
	if err != nil {
		s.log.Warn("nwayacd cluster: forwarded control reply", "node", node, "err", err)
		return &forwardedError{node: node, msg: "no answer (" + err.Error() + "); the command may still run", err: hostexec.ErrTimeout}
	}
	if !ok {
		return &forwardedError{node: node, msg: fmt.Sprintf("no answer within %v; the command may still run", wait), err: hostexec.ErrTimeout}
	}
	return outcomeErr(node, out)
}

// forwardedError is the outcome of a command another node ran: err is what
// transports map (an acd code, or why FreeSWITCH did not do it).
type forwardedError struct {
	node, msg string
	err       error
}

func (e *forwardedError) Error() string { return "on node " + e.node + ": " + e.msg }
func (e *forwardedError) Unwrap() error { return e.err }

// Outcomes on the wire: "ok", or a kind and the holder's message.
const (
	outOK      = "ok"
	outRefused = "refused"
	outTimeout = "timeout"
	outFull    = "full"
	outStopped = "stopped"
	outCode    = "code" // an acd code: "code", the number, the message
	outFailed  = "failed"
)

// outcomeFields encodes err, the holder's outcome, for the wire.
func outcomeFields(err error) []string {
	if err == nil {
		return []string{outOK}
	}
	msg := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, err.Error())
	kind := outFailed
	switch {
	case errors.Is(err, hostexec.ErrRefused):
		kind = outRefused
	case errors.Is(err, hostexec.ErrTimeout):
		kind = outTimeout
	case errors.Is(err, hostexec.ErrQueueFull):
		kind = outFull
	case errors.Is(err, hostexec.ErrStopped):
		kind = outStopped
	case acd.CodeOf(err) != 0:
		return []string{outCode, strconv.Itoa(int(acd.CodeOf(err))), msg}
	}
	return []string{kind, msg}
}

// outcomeErr decodes the outcome node sent: nil when the command ran.
func outcomeErr(node string, out []string) error {
	if len(out) == 1 && out[0] == outOK {
		return nil
	}
	if len(out) == 0 {
		out = []string{outFailed, "an empty answer"}
	}
	e := &forwardedError{node: node, msg: out[len(out)-1]}
	switch out[0] {
	case outRefused:
		e.err = hostexec.ErrRefused
	case outTimeout:
		e.err = hostexec.ErrTimeout
	case outFull:
		e.err = hostexec.ErrQueueFull
	case outStopped:
		e.err = hostexec.ErrStopped
	case outCode:
		if len(out) == 3 {
			if c, err := strconv.Atoi(out[1]); err == nil && c >= int(acd.ErrBadArgument) && c <= int(acd.ErrUnavailable) {
				e.err = &acd.Error{Code: acd.ErrCode(c), Msg: e.msg}
			}
		}
	}
	if e.err == nil {
		e.err = errors.New(e.msg)
	}
	return e
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
			s.pollFailed(ctx, "forwarded control", err)
			continue
		}
		if ok {
			s.runForwarded(f, fields)
		}
	}
}

// runForwarded runs one forwarded command and, when it carries a reply id,
// hands its outcome back.
func (s *Service) runForwarded(f ControlForwarder, fields []string) {
	id := ""
	if len(fields) > 1 && strings.HasPrefix(fields[1], replyTag) {
		id = fields[1][len(replyTag):]
		fields = append(fields[:1:1], fields[2:]...)
		if ident.UUID(id) != nil {
			s.log.Warn("nwayacd cluster: bad forwarded control reply id", "fields", fields)
			id = ""
		}
	}
	answer, err := s.execForwarded(fields)
	if !answer || id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if rerr := f.ControlReply(ctx, id, outcomeFields(err)); rerr != nil {
		s.log.Warn("nwayacd cluster: forwarded control reply", "err", rerr)
	}
}

// execForwarded runs f (at, cmd, args): its outcome, and whether anyone may
// still wait for it (false for a command too old).
func (s *Service) execForwarded(f []string) (answer bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("nwayacd cluster: forwarded control panicked", "panic", r)
			answer, err = true, errors.New("the command failed on the holding node")
		}
	}()
	if len(f) < 3 {
		s.log.Warn("nwayacd cluster: bad forwarded control", "fields", f)
		return true, acd.Errorf(acd.ErrBadArgument, "bad forwarded command")
	}
	at, _ := strconv.ParseInt(f[0], 10, 64)
	if time.Since(time.UnixMilli(at)) > forwardMaxAge {
		s.log.Warn("nwayacd cluster: forwarded control too old, dropped", "fields", f)
		return false, nil
	}
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
		return true, acd.Errorf(acd.ErrBadArgument, "unknown forwarded command %q", f[1])
	}
	if err != nil {
		s.log.Warn("nwayacd cluster: forwarded control failed", "fields", f, "err", err)
	}
	return true, err
}
