package service

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
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
	s.lock()
	c := s.eng.Counts()
	pol := s.eng.Config()
	s.release()
	st := Status{Version: s.opt.Version, Extensions: c.Extensions, Groups: c.Groups, Calls: c.Calls, Waiting: c.Waiting, LoggedOut: c.LoggedOut,
		AgentsByState: map[string]int{}, WaitingByGroup: c.WaitingByGroup,
		HostDropped: s.exec.Dropped(), HostFailed: s.exec.Failed(), EventsIn: s.eventsIn.Load(),
		Subscribers: s.live.Subscribers(), LiveDropped: s.live.Dropped(),
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
	if s.opt.Status != nil {
		st.Extra = s.opt.Status()
	}
	if st.Extra == nil {
		st.Extra = map[string]any{}
	}
	lw := s.lockWait.view()
	lw["combined"] = s.comb.ran.Load() // session bodies another waiting session ran (combine.go)
	st.Extra["service_lock_waits"] = lw
	if s.opt.SIPCapture {
		ended, packets, bad := s.EarlyByes()
		s.bye.mu.Lock()
		n := len(s.bye.legs)
		s.bye.mu.Unlock()
		sc := map[string]any{"bridges_ended_by_bye": ended, "packets": packets, "bad_packets": bad, "legs_followed": n}
		if by := s.captureBy.Load(); by != nil {
			sc["read_by"] = *by
		}
		st.Extra["sip_capture"] = sc
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

// Reload re-reads configuration through Options.Reload; without one it does
// nothing and reports success (policies are applied by SetPolicies).
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
	s.lock()
	s.eng.SetPolicies(c)
	s.unlock()
}

// Subscribe returns a stream of the JSON messages RabbitMQ would get. A slow
// reader loses messages rather than slowing calls. cancel ends the stream.
func (s *Service) Subscribe(buf int) (<-chan []byte, func()) { return s.live.Subscribe(buf) }

// SetCTIIP is set by the owner so live streams carry the same cti_ip as RabbitMQ.
func (s *Service) SetCTIIP(ip string) { s.cti.Store(&ip) }

func (s *Service) ctiIP() string {
	if p := s.cti.Load(); p != nil {
		return *p
	}
	return ""
}
