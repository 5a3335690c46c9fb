// Package hostexec runs FreeSWITCH API commands on a few goroutines of its
// own, from a bounded queue, so that no caller ever waits on the switch
// unless it asks for the answer (Do), and then only for a bounded time.
package hostexec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/logx"
)

// Switch runs one FreeSWITCH API command and returns its reply.
type Switch interface {
	API(cmd, args string) (string, error)
}

// Why a command did not happen. Callers map them (REST: 502, 504, 503).
var (
	// ErrRefused: FreeSWITCH answered -ERR (or the call into it failed).
	ErrRefused = errors.New("FreeSWITCH refused the command")
	// ErrTimeout: no answer within the wait; the command may still run.
	ErrTimeout = errors.New("FreeSWITCH did not answer in time")
	// ErrQueueFull: the queue was full, the command was dropped unrun.
	ErrQueueFull = errors.New("FreeSWITCH command queue is full")
	// ErrStopped: the executor is not running, the command was dropped unrun.
	ErrStopped = errors.New("FreeSWITCH command executor is not running")
)

// Error is a command that did not happen (or not in time). Err is one of the
// sentinels above; Reply is the switch's own words, when it said any.
type Error struct {
	Cmd   string
	Reply string
	Err   error
}

func (e *Error) Error() string {
	if e.Reply == "" {
		return e.Cmd + ": " + e.Err.Error()
	}
	return e.Cmd + ": " + e.Err.Error() + ": " + e.Reply
}

func (e *Error) Unwrap() error { return e.Err }

// Options configure an Executor. Zero values take defaults.
type Options struct {
	Switch  Switch       // nil: commands are dropped (logged at debug)
	Queue   int          // pending commands; default 4096
	Workers int          // goroutines running commands; default 4
	Logger  *slog.Logger // nil: discard
	// Routine says which failed commands are expected (a wake or take-back
	// for a channel that just went): logged at debug instead of warning.
	Routine func(cmd string) bool
}

type job struct {
	cmd, args string
	done      chan result // nil: nobody waits
}

type result struct {
	out string
	err error
}

// Executor runs commands posted to it. Its methods are safe for concurrent use.
type Executor struct {
	opt     Options
	log     *slog.Logger
	mu      sync.RWMutex // guards q against Stop closing the running state
	q       chan job
	stop    chan struct{}
	wg      sync.WaitGroup
	running bool
	dropped atomic.Uint64
	failed  atomic.Uint64
}

// New builds an executor; Start begins its goroutines.
func New(opt Options) *Executor {
	if opt.Queue <= 0 {
		opt.Queue = 4096
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Routine == nil {
		opt.Routine = func(string) bool { return false }
	}
	return &Executor{opt: opt, log: logx.OrDiscard(opt.Logger)}
}

// Start runs the workers; Start after Stop starts again.
func (x *Executor) Start() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.running {
		return
	}
	x.running = true
	x.q = make(chan job, x.opt.Queue)
	x.stop = make(chan struct{})
	for i := 0; i < x.opt.Workers; i++ {
		x.wg.Add(1)
		go x.work(x.q, x.stop)
	}
}

// Stop returns after the commands already queued have run.
func (x *Executor) Stop() {
	x.mu.Lock()
	if !x.running {
		x.mu.Unlock()
		return
	}
	x.running = false
	close(x.stop)
	x.mu.Unlock()
	x.wg.Wait()
}

// Running tells whether Post and Do queue commands.
func (x *Executor) Running() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.running
}

func (x *Executor) work(q chan job, stop chan struct{}) {
	defer x.wg.Done()
	for {
		select {
		case j := <-q:
			x.finish(j)
		case <-stop:
			for {
				select {
				case j := <-q:
					x.finish(j)
				default:
					return
				}
			}
		}
	}
}

func (x *Executor) finish(j job) {
	out, err := x.Run(j.cmd, j.args)
	if j.done != nil {
		j.done <- result{out, err} // buffered: a waiter that gave up never blocks us
	}
}

// enqueue queues j; it never blocks.
func (x *Executor) enqueue(j job) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.running {
		return ErrStopped
	}
	select {
	case x.q <- j:
		return nil
	default:
		x.dropped.Add(1)
		x.log.Warn("host command queue full: dropped", "cmd", j.cmd, "args", j.args)
		return ErrQueueFull
	}
}

// Post queues a command nobody waits for. It never blocks; a full queue or a
// stopped executor drops the command (counted in Dropped, and reported).
func (x *Executor) Post(cmd, args string) error {
	if err := x.enqueue(job{cmd: cmd, args: args}); err != nil {
		return &Error{Cmd: cmd, Err: err}
	}
	return nil
}

// Do queues a command and waits, until ctx ends, for the switch's answer.
// It returns the reply, or an *Error: refused, timed out, queue full, stopped.
func (x *Executor) Do(ctx context.Context, cmd, args string) (string, error) {
	j := job{cmd: cmd, args: args, done: make(chan result, 1)}
	if err := x.enqueue(j); err != nil {
		return "", &Error{Cmd: cmd, Err: err}
	}
	select {
	case r := <-j.done:
		return r.out, r.err
	case <-ctx.Done():
		return "", &Error{Cmd: cmd, Err: ErrTimeout}
	}
}

// DoWithin is Do with a timeout instead of a context.
func (x *Executor) DoWithin(d time.Duration, cmd, args string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return x.Do(ctx, cmd, args)
}

// Run runs a command on the calling goroutine (the executor's workers, and
// owners that need determinism). A panic in the switch is recovered.
func (x *Executor) Run(cmd, args string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			x.failed.Add(1)
			x.log.Error("host command panicked", "cmd", cmd, "args", args, "panic", r)
			out, err = "", &Error{Cmd: cmd, Reply: fmt.Sprint(r), Err: ErrRefused}
		}
	}()
	if x.opt.Switch == nil {
		x.log.Debug("no switch: dropped", "cmd", cmd, "args", args)
		return "", nil
	}
	out, err = x.opt.Switch.API(cmd, args)
	if err == nil && !strings.HasPrefix(out, "-ERR") {
		return out, nil
	}
	x.failed.Add(1)
	reply := strings.TrimSpace(out) // the switch's own words first: the host's error repeats them
	if reply == "" && err != nil {
		reply = err.Error()
	}
	lvl := slog.LevelWarn // a failed operator command is worth a warning
	if x.opt.Routine(cmd) {
		lvl = slog.LevelDebug
	}
	x.log.Log(context.Background(), lvl, "host command failed", "cmd", cmd, "args", args, "reply", reply)
	return out, &Error{Cmd: cmd, Reply: oneLine(reply), Err: ErrRefused}
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// Dropped counts commands dropped unrun (queue full).
func (x *Executor) Dropped() uint64 { return x.dropped.Load() }

// Failed counts commands the switch refused or that panicked.
func (x *Executor) Failed() uint64 { return x.failed.Load() }
