package service

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/publish"
)

// Status is what `nwayacd status` and health checks show.
type Status struct {
	Version        string         `json:"version"`
	Uptime         string         `json:"uptime"`
	Extensions     int            `json:"extensions"`
	Groups         int            `json:"groups"`
	Calls          int            `json:"calls"`
	Waiting        int            `json:"waiting"`
	AgentsByState  map[string]int `json:"agents_by_state"` // logged-in agents
	LoggedOut      int            `json:"logged_out"`
	WaitingByGroup map[string]int `json:"waiting_by_group"`
	HostDropped    uint64         `json:"host_commands_dropped"`
	HostFailed     uint64         `json:"host_commands_failed"`
	EventsIn       uint64         `json:"channel_events"`
	Subscribers    int            `json:"live_subscribers"`
	LiveDropped    uint64         `json:"live_dropped"`
	WrapUpSeconds  int            `json:"wrapup_seconds"`
	NoAnswerLimit  int            `json:"no_answer_limit"`
	MemoryExpiry   string         `json:"memory_expiry"`
	Extra          map[string]any `json:"extra,omitempty"`
}

// Status returns the node's current state.
func (s *Service) Status() Status {
	s.mu.Lock()
	c := s.eng.Counts()
	pol := s.eng.Config()
	s.mu.Unlock()
	st := Status{Version: s.opt.Version, Extensions: c.Extensions, Groups: c.Groups, Calls: c.Calls, Waiting: c.Waiting, LoggedOut: c.LoggedOut,
		AgentsByState: map[string]int{}, WaitingByGroup: c.WaitingByGroup,
		HostDropped: s.hostDropped.Load(), HostFailed: s.hostFailed.Load(), EventsIn: s.eventsIn.Load(),
		WrapUpSeconds: max(int(pol.WrapUp/time.Second), 0), NoAnswerLimit: max(pol.NoAnswerLimit, 0), MemoryExpiry: "never"}
	if pol.MemoryExpiry > 0 {
		st.MemoryExpiry = pol.MemoryExpiry.String()
	}
	if s.started.Load() {
		st.Uptime = s.clock.Now().Sub(s.startedAt).Round(time.Second).String()
	}
	for k, v := range c.ByCallState {
		st.AgentsByState[string(k)] = v
	}
	s.subMu.Lock()
	st.Subscribers = len(s.subs)
	st.LiveDropped = s.fanDropped.Load()
	s.subMu.Unlock()
	if s.opt.Status != nil {
		st.Extra = s.opt.Status()
	}
	return st
}

// StatusLines renders Status as "key: value" lines.
func (s *Service) StatusLines() []string {
	st := s.Status()
	lines := []string{
		"version: " + st.Version,
		"uptime: " + st.Uptime,
		fmt.Sprintf("extensions: %d", st.Extensions),
		fmt.Sprintf("groups: %d", st.Groups),
		fmt.Sprintf("calls: %d", st.Calls),
		fmt.Sprintf("waiting: %d", st.Waiting),
		fmt.Sprintf("extensions logged out: %d", st.LoggedOut),
	}
	lines = append(lines, sortedLines("agents ", st.AgentsByState)...)
	lines = append(lines, sortedLines("waiting in ", st.WaitingByGroup)...)
	lines = append(lines,
		fmt.Sprintf("host commands dropped: %d", st.HostDropped),
		fmt.Sprintf("host commands failed: %d", st.HostFailed),
		fmt.Sprintf("channel events: %d", st.EventsIn),
		fmt.Sprintf("live subscribers: %d (messages dropped: %d)", st.Subscribers, st.LiveDropped),
		fmt.Sprintf("wrap-up: %ds, no-answer limit: %d (0: none), memory expiry: %s", st.WrapUpSeconds, st.NoAnswerLimit, st.MemoryExpiry))
	keys := make([]string, 0, len(st.Extra))
	for k := range st.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(st.Extra[k])
		lines = append(lines, k+": "+string(b))
	}
	return lines
}

func sortedLines(prefix string, m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s%s: %d", prefix, k, m[k]))
	}
	return out
}

// StatusJSON is Status as JSON.
func (s *Service) StatusJSON() []byte {
	b, err := json.Marshal(s.Status())
	if err != nil {
		return []byte(`{"error":"status unavailable"}`)
	}
	return b
}

// Reload re-reads configuration (through Options.Reload) .
func (s *Service) Reload() error {
	if s.opt.Reload == nil {
		return nil
	}
	if err := s.opt.Reload(); err != nil {
		return acd.Errorf(acd.ErrUnavailable, "reload: %v", err)
	}
	return nil
}

// SetPolicies applies node-wide policies (wrap-up, no-answer limit, memory
// expiry, defaults) from a reloaded configuration.
func (s *Service) SetPolicies(c acd.Config) {
	s.mu.Lock()
	s.eng.SetPolicies(c)
	s.unlock()
}

// --- live subscribers (SSE / WebSocket) ---

type subscriber struct {
	ch   chan []byte
	once sync.Once
}

// Subscribe returns a stream of the JSON messages RabbitMQ would get. A slow
// reader loses messages rather than slowing calls. cancel ends the stream.
func (s *Service) Subscribe(buf int) (<-chan []byte, func()) {
	if buf <= 0 {
		buf = 256
	}
	sub := &subscriber{ch: make(chan []byte, buf)}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.nsubs.Store(int32(len(s.subs)))
	s.subMu.Unlock()
	return sub.ch, func() {
		s.subMu.Lock()
		delete(s.subs, sub)
		s.nsubs.Store(int32(len(s.subs)))
		s.subMu.Unlock()
		sub.once.Do(func() { close(sub.ch) })
	}
}

// fanOut hands m to the live subscribers. It runs under the core's lock on
// the call path, so a running service only enqueues (never blocks; a full
// queue drops, as slow readers do) and renders on its own goroutine.
func (s *Service) fanOut(m publish.Message) {
	if s.nsubs.Load() == 0 {
		return
	}
	if !s.started.Load() {
		s.deliver(m)
		return
	}
	select {
	case s.fanQ <- m:
	default:
		s.fanDropped.Add(1)
	}
}

// fanLoop renders queued messages for the subscribers until Stop, then
// delivers what is left.
func (s *Service) fanLoop() {
	defer s.wg.Done()
	for {
		select {
		case m := <-s.fanQ:
			s.deliver(m)
		case <-s.stop:
			for {
				select {
				case m := <-s.fanQ:
					s.deliver(m)
				default:
					return
				}
			}
		}
	}
}

func (s *Service) deliver(m publish.Message) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if len(s.subs) == 0 {
		return
	}
	b := m.AppendJSON(nil, s.ctiIP())
	for sub := range s.subs {
		select {
		case sub.ch <- b:
		default:
		}
	}
}

func (s *Service) unsubscribeAll() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		delete(s.subs, sub)
		sub.once.Do(func() { close(sub.ch) })
	}
	s.nsubs.Store(0)
}

// CTIIP is set by the owner so live streams carry the same cti_ip as RabbitMQ.
func (s *Service) SetCTIIP(ip string) { s.cti.Store(&ip) }

func (s *Service) ctiIP() string {
	if p := s.cti.Load(); p != nil {
		return *p
	}
	return ""
}
