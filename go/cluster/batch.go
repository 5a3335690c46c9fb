package cluster

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchOps are the operations lua/batch.lua runs; each is its own file's
// body, made a function of its arguments.
var batchOps = []string{"enqueue", "result", "finish", "agent", "confirm", "qualify"}

// batchBody is the operations as functions of their arguments, then the
// dispatcher: inline (the script's own body) or as a function batch(ARGV).
func batchBody(asFunc bool) string {
	var b strings.Builder
	for _, n := range batchOps {
		fmt.Fprintf(&b, "local function op_%s(ARGV)\n%s\nend\n", n, luaFile(n))
	}
	b.WriteString("local ops = {")
	for _, n := range batchOps {
		fmt.Fprintf(&b, "%s = op_%s, ", n, n)
	}
	b.WriteString("}\n")
	if asFunc {
		b.WriteString("local function batch(ARGV)\n" + luaFile("batch") + "\nend\n")
	} else {
		b.WriteString(luaFile("batch"))
	}
	return b.String()
}

// batchSource is the batch as a script (EVALSHA).
func batchSource() string { return compose(prelude, batchBody(false)) }

// batchLibrary is the batch as a Redis Function library (Redis 7 and
// later): Redis runs a library's top level once, at load, so the dozens of
// functions a script makes at every run are made once. Its name carries a
// hash of its text, so that nodes of different versions never replace each
// other's. fn is the function to FCALL.
func batchLibrary() (src, fn string) {
	chunks := append([]chunk(nil), prelude...)
	// No ARGV at load: the prefix is set at every call.
	chunks[0].text = strings.Replace(chunks[0].text, "local P = ARGV[1]", "local P", 1)
	body := compose(chunks, batchBody(true))
	sum := sha1.Sum([]byte(body))
	h := hex.EncodeToString(sum[:6])
	fn = "nwayacd_batch_" + h
	src = "#!lua name=nwayacd_" + h + "\n" + body +
		"\nredis.register_function('" + fn + "', function(keys, args) P = args[1] return batch(args) end)\n"
	return src, fn
}

var (
	sBatch           = redis.NewScript(batchSource())
	libSrc, libBatch = batchLibrary()
)

// loadLibrary makes the batch library available (loaded already is fine).
// false: this Redis has no functions (before 7.0) or refused them; the
// batch then runs as a script.
func (m *Member) loadLibrary(ctx context.Context) bool {
	err := m.rdb.FunctionLoad(ctx, libSrc).Err()
	ok := err == nil || strings.Contains(err.Error(), "already exists")
	m.useLib.Store(ok)
	return ok
}

// runBatch sends one batch's arguments: FCALL when the library is there
// (loaded again if Redis lost it: a function not found never ran), else
// EVALSHA.
func (m *Member) runBatch(ctx context.Context, argv []any) ([]any, error) {
	if m.useLib.Load() {
		r, err := m.rdb.FCall(ctx, libBatch, nil, argv...).Slice()
		if err == nil || !strings.Contains(err.Error(), "Function not found") {
			return r, err
		}
		if m.loadLibrary(ctx) {
			return m.rdb.FCall(ctx, libBatch, nil, argv...).Slice()
		}
	}
	return sBatch.Run(ctx, m.rdb, nil, argv...).Slice()
}

const (
	// maxBatch bounds one request; the operations beyond it go in the next.
	maxBatch = 128
	// batchTimeout bounds one batch's round trip (go-redis's own read and
	// write timeouts apply too).
	batchTimeout = 5 * time.Second
)

// batcher sends a member's operations to Redis in batches: while one
// batch is in flight, the operations that arrive meanwhile queue and go
// together in the next, in their order. Under load one request and one
// script run carry many operations; alone, an operation goes at once, on
// its caller's goroutine.
//
// The caller that finds no batch in flight leads: it sends what is queued
// (its own operation first). Once its reply is in, it hands the lead to the
// oldest operation still queued, whose caller sends the next batch.
type batcher struct {
	mu      sync.Mutex
	q       []*pendingOp
	leading bool
}

type pendingOp struct {
	ctx  context.Context
	name string
	args []any
	done chan opReply // buffered: the sender never waits
}

type opReply struct {
	v    any
	err  error
	lead bool // not a reply: this caller sends the next batch
}

// do runs one operation (a batch.lua name) and returns its reply. An
// operation whose ctx ends while it is queued is not sent.
func (m *Member) do(ctx context.Context, name string, args ...any) (any, error) {
	p := &pendingOp{ctx: ctx, name: name, args: args, done: make(chan opReply, 1)}
	b := &m.batch
	b.mu.Lock()
	b.q = append(b.q, p)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	for {
		if lead {
			m.sendBatch()
		}
		select {
		case r := <-p.done:
			if r.lead {
				lead = true
				continue
			}
			return r.v, r.err
		case <-ctx.Done():
			m.abandon(p)
			return nil, ctx.Err()
		}
	}
}

// abandon takes p out of the queue if it is still there; a lead handed to
// it passes on.
func (m *Member) abandon(p *pendingOp) {
	b := &m.batch
	b.mu.Lock()
	for i, x := range b.q {
		if x == p {
			b.q = append(b.q[:i], b.q[i+1:]...)
			break
		}
	}
	var lead bool
	select {
	case r := <-p.done:
		lead = r.lead
	default:
	}
	if lead {
		m.handOff()
	}
	b.mu.Unlock()
}

// handOff gives the lead to the oldest queued operation, or ends it.
// Called with b.mu held.
func (m *Member) handOff() {
	b := &m.batch
	if len(b.q) == 0 {
		b.leading = false
		return
	}
	b.q[0].done <- opReply{lead: true}
}

// sendBatch sends up to maxBatch queued operations as one script run,
// answers each, then hands the lead on.
func (m *Member) sendBatch() {
	b := &m.batch
	b.mu.Lock()
	n := min(len(b.q), maxBatch)
	ps := make([]*pendingOp, n)
	copy(ps, b.q)
	b.q = append(b.q[:0], b.q[n:]...)
	b.mu.Unlock()
	m.run(ps)
	b.mu.Lock()
	m.handOff()
	b.mu.Unlock()
}

func (m *Member) run(ps []*pendingOp) {
	live := ps[:0:0]
	for _, p := range ps {
		if err := p.ctx.Err(); err != nil {
			p.done <- opReply{err: err}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		// A reply of a shape nothing here expects must not take the switch
		// down with it: every operation of the batch fails instead.
		if r := recover(); r != nil {
			err := fmt.Errorf("cluster: batch: %v", r)
			for _, p := range live {
				select {
				case p.done <- opReply{err: err}:
				default:
				}
			}
		}
	}()
	argv := make([]any, 0, 2+len(live)*11)
	argv = append(argv, m.o.Prefix, "0")
	for _, p := range live {
		argv = append(argv, p.name, len(p.args))
		argv = append(argv, p.args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	r, err := m.runBatch(ctx, argv)
	if err == nil && len(r) != len(live) {
		err = fmt.Errorf("%d replies for %d operations", len(r), len(live))
	}
	for i, p := range live {
		if err != nil {
			p.done <- opReply{err: err}
			continue
		}
		p.done <- opReply{v: r[i], err: opError(r[i])}
	}
}

// opError is the failure one operation of a batch answered, if any.
func opError(v any) error {
	switch x := v.(type) {
	case error:
		return x
	case []any:
		if len(x) == 2 && x[0] == "err" {
			return errors.New(fmt.Sprint(x[1]))
		}
	}
	return nil
}

// strs reads a reply that is a list of strings.
func strs(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("unexpected reply %v", v)
	}
	out := make([]string, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("unexpected reply %v", v)
		}
		out[i] = s
	}
	return out, nil
}
