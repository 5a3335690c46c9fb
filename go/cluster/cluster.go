// Package cluster is the shared agent pool of several nodes (FreeSWITCH
// boxes) in one Redis: the members and their leases, every agent's state
// and registered node, the waiting calls of every group, reservations with
// fencing tokens, caller memory and cyclic cursors.
//
// Lua scripts (lua/) are the only writers of that state, each one atomic
// step; Go never reads, modifies and writes. A node's core decides (which
// agents, in its routing mode's order); a Member turns that decision into
// one script and hands back the outcome as a fact. Nothing here blocks a
// FreeSWITCH thread: the service calls it from its own goroutines.
package cluster

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key of the pool.
const DefaultPrefix = "nwayacd:cluster:"

// vipBand puts every VIP (score = arrival ms) before every other caller
// (arrival ms + vipBand) in one sorted set; ms since 1970 stay below it
// until the year 2286.
const vipBand = 1e13

// ErrFenced means this node's lease expired and the pool reaped it: it must
// Rejoin and put back what it still holds before it acts on shared state.
var ErrFenced = errors.New("cluster: this node was reaped (lease expired); rejoin")

// ErrDup means the call is in the pool already (an Enqueue retried after a
// lost reply).
var ErrDup = errors.New("cluster: call already in the pool")

//go:embed lua/*.lua
var luaFS embed.FS

// script is the prelude's header and the prelude functions body uses
// (directly or through each other), then body. Redis runs a script's whole
// text on every call, and making the prelude's closures was about a
// quarter of its time per script: a function a script never calls is left
// out of it.
func script(name string) *redis.Script {
	return redis.NewScript(compose(prelude, luaFile(name)))
}

func luaFile(name string) string {
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return string(body)
}

// chunk is one top-level function of the prelude with its comment; call
// matches a call of it.
type chunk struct {
	name, text string
	call       *regexp.Regexp
}

// prelude is split once, for every script composed at start.
var prelude = preludeChunks()

var preludeFn = regexp.MustCompile(`^local function ([A-Za-z_][A-Za-z0-9_]*)`)

// preludeChunks splits the prelude at its top-level functions; the first
// chunk (no name) is the header every script gets.
func preludeChunks() []chunk {
	pre, err := luaFS.ReadFile("lua/prelude.lua")
	if err != nil {
		panic(err)
	}
	lines := strings.SplitAfter(string(pre), "\n")
	var out []chunk
	cur := chunk{}
	for i := 0; i < len(lines); i++ {
		m := preludeFn.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		// The function's own comment (the lines right above) goes with it.
		j := i
		for j > 0 && strings.HasPrefix(lines[j-1], "--") {
			j--
		}
		cur.text = strings.Join(lines[:j], "")
		out = append(out, cur)
		lines, i = lines[j:], i-j
		cur = chunk{name: m[1], call: regexp.MustCompile(`\b` + m[1] + `\(`)}
	}
	cur.text = strings.Join(lines, "")
	return append(out, cur)
}

// compose keeps the header and the chunks body needs, in prelude order (a
// local function is visible only below its definition).
func compose(chunks []chunk, body string) string {
	need := map[string]bool{}
	// Walk backwards: a chunk can only call the ones defined above it.
	for i := len(chunks) - 1; i > 0; i-- {
		c := chunks[i]
		if c.call.MatchString(body) {
			need[c.name] = true
			continue
		}
		for _, d := range chunks[i+1:] {
			if need[d.name] && c.call.MatchString(d.text) {
				need[c.name] = true
				break
			}
		}
	}
	var b strings.Builder
	for i, c := range chunks {
		if i == 0 || need[c.name] {
			b.WriteString(c.text)
		}
	}
	b.WriteString("\n")
	b.WriteString(body)
	return b.String()
}

var (
	sJoin    = script("join")
	sTick    = script("tick")
	sRestore = script("restore")
	sAudit   = script("audit")
	sLeave   = script("leave")
)

// Options configure one member.
type Options struct {
	Node string // this node's id (unique in the pool)
	Addr string // where the other nodes reach this one (forwarded call control)
	// Prefix starts every key; "" = DefaultPrefix. Nodes of one pool share it.
	Prefix string
	// NodeLease is how long a node counts as alive after its last
	// heartbeat; default 3 s. A dead node is reaped within NodeLease + Tick.
	NodeLease time.Duration
	// Tick is the heartbeat (and reaper) period; default NodeLease/3.
	Tick time.Duration
}

func (o *Options) fill() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.NodeLease <= 0 {
		o.NodeLease = 3 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = o.NodeLease / 3
	}
}

// Member is this node in the pool. Safe for concurrent use.
type Member struct {
	rdb   redis.UniversalClient
	o     Options
	epoch atomic.Value // string

	replay atomic.Bool // Next failed: deliver the processing list again
	again  []Msg       // Next's goroutine only

	batch  batcher
	useLib atomic.Bool // the batch runs as a Redis Function
}

// Join registers the node (reaping a previous incarnation of the same id,
// whose calls died with it) and returns its membership.
func Join(ctx context.Context, rdb redis.UniversalClient, o Options) (*Member, error) {
	if o.Node == "" || strings.ContainsAny(o.Node, "\t:") {
		return nil, fmt.Errorf("cluster: bad node id %q", o.Node)
	}
	o.fill()
	m := &Member{rdb: rdb, o: o}
	m.epoch.Store("")
	m.loadLibrary(ctx)
	if err := m.Rejoin(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Options returns the member's effective options.
func (m *Member) Options() Options { return m.o }

// Epoch is the current incarnation's fencing number.
func (m *Member) Epoch() string { return m.epoch.Load().(string) }

// Kept is a call bridged on this node to Ext, put back by Rejoin.
type Kept struct {
	Call Call
	Ext  string
}

// Rejoin starts a new incarnation (after ErrFenced): the old one's calls and
// agents are gone from the pool, except the bridged calls in keep, which go
// back in the same step (as Restore; one whose agent the pool has on
// another call is dropped, as the reap would). The caller puts back what it still holds
// (Enqueue, Restore, Agent).
func (m *Member) Rejoin(ctx context.Context, keep ...Kept) error {
	rejoin := "0"
	if m.Epoch() != "" {
		rejoin = "1"
	}
	args := m.args(m.o.Node, ms(m.o.NodeLease), m.o.Addr, rejoin)
	for _, k := range keep {
		c := k.Call
		args = append(args, c.UUID, c.Caller, strings.Join(c.Groups, ","), Score(c.VIP, c.Arrival), k.Ext)
	}
	ep, err := sJoin.Run(ctx, m.rdb, nil, args...).Int64()
	if err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	m.epoch.Store(strconv.FormatInt(ep, 10))
	return nil
}

func (m *Member) args(a ...any) []any {
	return append([]any{m.o.Prefix, "0"}, a...)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// Tick renews the lease (load is what status shows) and reaps for the pool:
// nodes whose lease expired (with the reservations of their calls), the
// end of a hold after a data loss, wrap-ups due.
// It returns the nodes it reaped, or ErrFenced.
func (m *Member) Tick(ctx context.Context, load int) ([]string, error) {
	r, err := sTick.Run(ctx, m.rdb, nil, m.args(m.o.Node, m.Epoch(), ms(m.o.NodeLease), load)...).Slice()
	if err != nil {
		return nil, fmt.Errorf("cluster: tick: %w", err)
	}
	if len(r) == 0 || r[0] == int64(0) {
		return nil, ErrFenced
	}
	var dead []string
	for _, d := range r[1:] {
		dead = append(dead, fmt.Sprint(d))
	}
	return dead, nil
}

// Leave reaps this node at once (an orderly stop).
func (m *Member) Leave(ctx context.Context) error {
	if err := sLeave.Run(ctx, m.rdb, nil, m.args(m.o.Node, m.Epoch())...).Err(); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// Call is a caller starting to wait, with the core's decision of whom to try.
type Call struct {
	UUID    string
	Caller  string // caller number (memory)
	Groups  []string
	VIP     bool
	Arrival time.Time // keeps its place across overflow and a rejoin
	// MemoryFirst tries the agent who last talked with Caller first.
	MemoryFirst bool
	// Rotate names the group whose cyclic cursor starts Candidates.
	Rotate string
	// Candidates are the agents the core would offer, best first (its
	// routing mode's order); each is reserved only if still idle.
	Candidates []string
	// Strict: only the Eligible agents may take the call (the core's
	// skills and tiers, which the pool does not judge itself). Eligible
	// holds at most MaxEligible agents.
	Strict   bool
	Eligible []string
}

// MaxEligible bounds the agents a strict call names.
const MaxEligible = 1000

// eligArg is the pool's form of a call's eligibility: "" for any member,
// else ",ext,ext," ("," when none may take it yet).
func (c *Call) eligArg() (string, error) {
	if !c.Strict {
		return "", nil
	}
	if len(c.Eligible) == 0 {
		return ",", nil
	}
	if len(c.Eligible) > MaxEligible {
		return "", fmt.Errorf("cluster: call %s names %d eligible agents, at most %d", c.UUID, len(c.Eligible), MaxEligible)
	}
	for _, e := range c.Eligible {
		if err := checkID("extension", e); err != nil {
			return "", err
		}
	}
	return "," + strings.Join(c.Eligible, ",") + ",", nil
}

// Score is a call's place in a queue: VIP first, then the oldest.
func Score(vip bool, arrival time.Time) int64 {
	s := arrival.UnixMilli()
	if !vip {
		s += vipBand
	}
	return s
}

// Offer is a granted reservation: offer Call to Agent under Token.
type Offer struct {
	Call, Agent string
	Token       int64
	AgentNode   string // the node the agent's phone is registered on
}

// Enqueue puts a call in the pool. ok: an agent was reserved at once (the
// offer is this node's to make); else the call waits in its groups' queues
// until an agent frees up anywhere, and the offer arrives through Next.
func (m *Member) Enqueue(ctx context.Context, c Call) (o Offer, ok bool, err error) {
	if err := checkID("call", c.UUID); err != nil {
		return Offer{}, false, err
	}
	mf := ""
	if c.MemoryFirst {
		mf = "1"
	}
	elig, err := c.eligArg()
	if err != nil {
		return Offer{}, false, err
	}
	v, err := m.do(ctx, "enqueue", m.o.Node, m.Epoch(), c.UUID, c.Caller,
		strings.Join(c.Groups, ","), Score(c.VIP, c.Arrival), mf, c.Rotate, strings.Join(c.Candidates, ","), elig)
	var r []string
	if err == nil {
		r, err = strs(v)
	}
	return offerReply("enqueue", c.UUID, r, err)
}

// offerReply reads an enqueue's or a qualify's answer.
func offerReply(op, uuid string, r []string, err error) (Offer, bool, error) {
	if err != nil {
		return Offer{}, false, fmt.Errorf("cluster: %s %s: %w", op, uuid, err)
	}
	switch r[0] {
	case "offer":
		if len(r) < 4 {
			return Offer{}, false, fmt.Errorf("cluster: %s %s: unexpected reply %v", op, uuid, r)
		}
		tok, _ := strconv.ParseInt(r[2], 10, 64)
		return Offer{Call: uuid, Agent: r[1], Token: tok, AgentNode: r[3]}, true, nil
	case "queued":
		return Offer{}, false, nil
	case "fenced":
		return Offer{}, false, ErrFenced
	case "dup":
		return Offer{}, false, ErrDup
	case "gone":
		return Offer{}, false, ErrGone
	default:
		return Offer{}, false, fmt.Errorf("cluster: %s %s: %s", op, uuid, r[0])
	}
}

// ErrGone: the call is not in the pool as this node's (it ended, or the
// node was reaped).
var ErrGone = errors.New("cluster: call not in the pool")

// Qualify tells the pool who may take c now (c.Strict, c.Eligible), after
// the core's constraints changed (skills relaxed, a tier joined, members
// changed), and c.Groups when the call moved (overflow after entry; nil:
// unchanged). ok: a waiting c was reserved at once, the offer is this
// node's to make.
func (m *Member) Qualify(ctx context.Context, c Call) (o Offer, ok bool, err error) {
	if err := checkID("call", c.UUID); err != nil {
		return Offer{}, false, err
	}
	elig, err := c.eligArg()
	if err != nil {
		return Offer{}, false, err
	}
	for _, g := range c.Groups {
		if err := checkID("group", g); err != nil {
			return Offer{}, false, err
		}
	}
	v, err := m.do(ctx, "qualify", m.o.Node, m.Epoch(), c.UUID, elig, strings.Join(c.Groups, ","))
	var r []string
	if err == nil {
		r, err = strs(v)
	}
	return offerReply("qualify", c.UUID, r, err)
}

func checkID(what, s string) error {
	if s == "" || strings.ContainsAny(s, "\t,") {
		return fmt.Errorf("cluster: bad %s id %q", what, s)
	}
	return nil
}

// Outcome is how an offer ended.
type Outcome int

// Outcomes of an offer.
const (
	Answered Outcome = iota
	NoAnswer         // counts toward the agent's no-answer limit
	Failed           // not the agent's fault (unreachable, caller gone)
	Rested           // the switch's fault (saturated): the agent rests, then is idle; not counted
)

// Result says what became of an offer after its outcome.
type Result struct {
	Stale      bool   // the token was no longer current: the pool took it back
	Talking    bool   // answered and recorded
	NoAnswers  int    // the agent's consecutive no-answers (not answered)
	AgentState string // idle, away or wrap (Rested) when not answered
}

// Result reports an offer's outcome. limit is the core's no-answer limit
// (≤ 0: never away); memory is how long caller memory lasts (0 = forever);
// rest is how long a Rested agent stays out of matching (in wrap, which the
// heartbeat ends, so a node that dies meanwhile does not strand it).
// A stale Result means the offer must not go on (its agent leg is killed).
func (m *Member) Result(ctx context.Context, o Offer, out Outcome, limit int, memory, rest time.Duration, fromInbox bool) (Result, error) {
	oc := [...]string{"answered", "noanswer", "failed", "rest"}[out]
	ack := ""
	if fromInbox {
		ack = "offer\t" + o.Call + "\t" + o.Agent + "\t" + strconv.FormatInt(o.Token, 10) + "\t" + m.Epoch()
	}
	v, err := m.do(ctx, "result", m.o.Node, o.Call, o.Agent, o.Token, oc, limit, ms(memory), ack, ms(rest))
	r, _ := v.([]any)
	if err == nil && len(r) == 0 {
		err = fmt.Errorf("unexpected reply %v", v)
	}
	if err != nil {
		return Result{}, fmt.Errorf("cluster: offer result %s: %w", o.Call, err)
	}
	switch r[0] {
	case "talking":
		return Result{Talking: true}, nil
	case "stale":
		return Result{Stale: true}, nil
	}
	if len(r) < 3 {
		return Result{}, fmt.Errorf("cluster: offer result %s: unexpected reply %v", o.Call, r)
	}
	n, _ := r[1].(int64)
	st, _ := r[2].(string)
	return Result{NoAnswers: int(n), AgentState: st}, nil
}

// Finish ends a call (its caller left); its agent wraps up for wrap (0:
// idle at once, and may be reserved for the next call there and then).
func (m *Member) Finish(ctx context.Context, uuid string, wrap time.Duration) error {
	if _, err := m.do(ctx, "finish", uuid, ms(wrap)); err != nil {
		return fmt.Errorf("cluster: finish %s: %w", uuid, err)
	}
	return nil
}

// AgentOp is a change of an agent's own state.
type AgentOp string

// Agent operations.
const (
	Ready  AgentOp = "ready"  // idle: may be reserved at once
	Away   AgentOp = "away"   // logged in, not ready
	Off    AgentOp = "off"    // logged out or unregistered
	LegEnd AgentOp = "legend" // the agent's leg of call ended (seen where its phone is)
)

// AgentResult is the agent's state after an operation.
type AgentResult struct {
	// State is idle, offered, talking, away, wrap, lost or off; busy: refused
	// (on a call); held: Ready refused during the hold after a data loss
	// (the agent is away; ask again after it).
	State string
	Offer *Offer // set when Ready reserved it at once (the holding node is told)
}

// Agent applies op to ext, registering it on this node with groups (Ready,
// Away). call names the call whose leg ended (LegEnd).
func (m *Member) Agent(ctx context.Context, ext string, op AgentOp, groups []string, call string) (AgentResult, error) {
	if err := checkID("agent", ext); err != nil {
		return AgentResult{}, err
	}
	v, err := m.do(ctx, "agent", m.o.Node, m.Epoch(), ext, string(op), strings.Join(groups, ","), call)
	var r []string
	if err == nil {
		r, err = strs(v)
	}
	if err != nil {
		return AgentResult{}, fmt.Errorf("cluster: agent %s %s: %w", ext, op, err)
	}
	if r[0] == "fenced" {
		return AgentResult{}, ErrFenced
	}
	ar := AgentResult{State: r[0]}
	if r[0] == "offered" && len(r) >= 3 {
		tok, _ := strconv.ParseInt(r[2], 10, 64)
		ar.Offer = &Offer{Call: r[1], Agent: ext, Token: tok}
	}
	return ar, nil
}

// Restore puts back, after a rejoin, a call this node holds bridged to ext.
func (m *Member) Restore(ctx context.Context, c Call, ext string) (Offer, error) {
	r, err := sRestore.Run(ctx, m.rdb, nil, m.args(m.o.Node, m.Epoch(), c.UUID, c.Caller,
		strings.Join(c.Groups, ","), Score(c.VIP, c.Arrival), ext)...).StringSlice()
	if err != nil {
		return Offer{}, fmt.Errorf("cluster: restore %s: %w", c.UUID, err)
	}
	switch r[0] {
	case "ok":
		tok, _ := strconv.ParseInt(r[1], 10, 64)
		return Offer{Call: c.UUID, Agent: ext, Token: tok}, nil
	case "fenced":
		return Offer{}, ErrFenced
	}
	return Offer{}, fmt.Errorf("cluster: restore %s: agent %s is on another call", c.UUID, ext)
}

// Msg is an instruction for this node from the pool.
type Msg struct {
	Kind  string // "offer": make this offer; "revoke": the pool took it back
	Offer Offer
	Epoch string // the incarnation it is for; Current says whether that is this one
	raw   string
}

// Current reports whether msg is for this incarnation (a message queued
// for an earlier one must not be acted on).
func (m *Member) Current(msg Msg) bool { return msg.Epoch == m.Epoch() }

func parseMsg(s string) (Msg, bool) {
	f := strings.Split(s, "\t")
	if len(f) != 5 {
		return Msg{}, false
	}
	tok, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return Msg{}, false
	}
	return Msg{Kind: f[0], Offer: Offer{Call: f[1], Agent: f[2], Token: tok}, Epoch: f[4], raw: s}, true
}

// Next waits up to wait for the next instruction for this node. A message
// stays in the node's processing list until acknowledged (Result with
// fromInbox, or Ack), so a connection lost mid-way loses nothing: Pending
// returns them again.
//
// Next is for one goroutine at a time. After an error it first returns
// again what the processing list holds (a reply lost with the connection
// leaves its message there): the caller ignores what it has seen.
func (m *Member) Next(ctx context.Context, wait time.Duration) (Msg, bool, error) {
	if m.replay.Load() {
		pend, err := m.Pending(ctx)
		if err != nil {
			return Msg{}, false, err
		}
		m.replay.Store(false)
		m.again = append(m.again[:0], pend...)
	}
	if len(m.again) > 0 {
		msg := m.again[0]
		m.again = m.again[1:]
		return msg, true, nil
	}
	s, err := m.rdb.BLMove(ctx, m.o.Prefix+"inbox:"+m.o.Node, m.o.Prefix+"proc:"+m.o.Node, "LEFT", "RIGHT", wait).Result()
	if errors.Is(err, redis.Nil) {
		return Msg{}, false, nil
	}
	if err != nil {
		m.replay.Store(true)
		return Msg{}, false, fmt.Errorf("cluster: inbox: %w", err)
	}
	msg, ok := parseMsg(s)
	if !ok {
		_ = m.Ack(ctx, Msg{raw: s})
		return Msg{}, false, fmt.Errorf("cluster: inbox: bad message %q", s)
	}
	return msg, true, nil
}

// Confirm checks, before an offer from the inbox is rung, that its grant is
// still current (one round trip; an offer Enqueue returned needs none). A
// false answer means: do not ring; the message is dropped.
func (m *Member) Confirm(ctx context.Context, msg Msg) (bool, error) {
	v, err := m.do(ctx, "confirm", m.o.Node, msg.Offer.Call, msg.Offer.Agent, msg.Offer.Token, msg.raw)
	if err != nil {
		return false, fmt.Errorf("cluster: confirm %s: %w", msg.Offer.Call, err)
	}
	return v == int64(1), nil
}

// Pending returns the messages taken but not yet acknowledged.
func (m *Member) Pending(ctx context.Context) ([]Msg, error) {
	ss, err := m.rdb.LRange(ctx, m.o.Prefix+"proc:"+m.o.Node, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: pending: %w", err)
	}
	var out []Msg
	for _, s := range ss {
		if msg, ok := parseMsg(s); ok {
			out = append(out, msg)
		}
	}
	return out, nil
}

// Ack drops a message that needs no Result (a revoke, an offer for a call
// already gone).
func (m *Member) Ack(ctx context.Context, msg Msg) error {
	return m.rdb.LRem(ctx, m.o.Prefix+"proc:"+m.o.Node, 1, msg.raw).Err()
}

// Audit checks the pool's invariants atomically over groups and returns
// the problems found (none when consistent).
func (m *Member) Audit(ctx context.Context, groups []string) ([]string, error) {
	return sAudit.Run(ctx, m.rdb, nil, m.args(strings.Join(groups, ","))...).StringSlice()
}
