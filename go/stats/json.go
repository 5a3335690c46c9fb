package stats

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"sync"
	"time"
)

// cached is a rendered report, reused while fresh: a wallboard of many
// screens polling at once costs one rendering, not one each.
type cached struct {
	mu   sync.Mutex
	ver  uint64
	at   time.Time
	body []byte
	gz   []byte // body gzipped, made on first demand
}

// Reports are re-rendered when something changed, but at most every
// minAge; and at least every maxAge (longest wait and time in state move on).
const (
	minAge = 100 * time.Millisecond
	maxAge = time.Second
)

func (c *cached) get(ver uint64, zip bool, render func() []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	age := time.Since(c.at)
	if c.body == nil || age >= maxAge || c.ver != ver && age >= minAge {
		c.body, c.gz, c.ver, c.at = render(), nil, ver, time.Now()
	}
	if !zip {
		return c.body
	}
	if c.gz == nil {
		c.gz = gzipped(c.body)
	}
	return c.gz
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

type groupsDoc struct {
	Time                string       `json:"time"`
	ServiceLevelSeconds float64      `json:"service_level_seconds"`
	ShortAbandonSeconds float64      `json:"abandoned_short_seconds"`
	Groups              []GroupStats `json:"groups"`
}

type agentsDoc struct {
	Time   string       `json:"time"`
	Agents []AgentStats `json:"agents"`
}

// GroupsJSON renders Groups(only) as the body of GET /api/stats/groups,
// gzipped when zip. The full report is cached for up to a second (less
// when it changed).
func (s *Stats) GroupsJSON(only string, zip bool) []byte {
	render := func() []byte {
		b, _ := json.Marshal(groupsDoc{Time: s.cfg.Now().In(s.cfg.Location).Format(time.RFC3339),
			ServiceLevelSeconds: s.cfg.ServiceLevel.Seconds(), ShortAbandonSeconds: s.cfg.ShortAbandon.Seconds(),
			Groups: s.Groups(only)})
		return b
	}
	if only != "" {
		return maybeZip(render(), zip)
	}
	return s.cache[0].get(s.Version(), zip, render)
}

// AgentsJSON renders Agents(only) as the body of GET /api/stats/agents.
func (s *Stats) AgentsJSON(only string, zip bool) []byte {
	render := func() []byte {
		b, _ := json.Marshal(agentsDoc{Time: s.cfg.Now().In(s.cfg.Location).Format(time.RFC3339), Agents: s.Agents(only)})
		return b
	}
	if only != "" {
		return maybeZip(render(), zip)
	}
	return s.cache[1].get(s.Version(), zip, render)
}

func maybeZip(b []byte, zip bool) []byte {
	if zip {
		return gzipped(b)
	}
	return b
}
