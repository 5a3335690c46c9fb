package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/sim"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// The fault suite's kill-under-load test: rounds of kill -9 of a real node
// process (this demo: the node, REST, console commands on stdin, simulated
// calls) at a random moment under mixed REST and console load, each followed
// by a restart on the same folder. After each restart every acknowledged
// change is there; the simulator saw no agent offered a second call; at the
// end every call that finished before a kill has its CDR, each once.

var groupsAll = []string{"110", "120", "12345"}

// ext is the expected state of one extension, as acknowledged.
type ext struct {
	job      string
	loggedIn bool
	groups   []string // sorted
	seat     string   // "" = not asserted (login and logout leave it as it was)
}

func (e ext) String() string {
	return fmt.Sprintf("job=%s in=%v groups=%v seat=%q", e.job, e.loggedIn, e.groups, e.seat)
}

// worker drives its own extensions one change at a time, so the last
// acknowledged change of each is known; the one in flight at the kill may or
// may not have happened.
type worker struct {
	exts    []string
	state   map[string]ext
	pending map[string]ext // ext → its state had the in-flight change happened
	acked   int
}

type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	mu     sync.Mutex // one console command at a time
	base   string
	token  string
	stderr *bytes.Buffer
	client *http.Client
}

func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nwayacd-demo")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func sparePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), stderr: &stderr,
		client: &http.Client{Timeout: 5 * time.Second}}
	for i, a := range args {
		if a == "-listen" {
			p.base = "http://" + args[i+1]
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		tok, err := p.login()
		if err == nil {
			p.token = tok
			return p
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("node did not come up: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) login() (string, error) {
	resp, err := p.client.Post(p.base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"admin"}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Token == "" {
		return "", fmt.Errorf("login: %d %v", resp.StatusCode, err)
	}
	return r.Token, nil
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// stop ends the process cleanly (SIGTERM: the demo stops the node).
func (p *proc) stop(t *testing.T) {
	_ = p.stdin.Close()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("clean stop: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		p.kill()
		t.Error("clean stop took over 20 s")
	}
}

// console runs one fs_cli command; an error means no answer (killed).
func (p *proc) console(line string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return "", err
	}
	b, err := p.out.ReadBytes('\n')
	if err != nil {
		return "", err
	}
	var reply string
	if err := json.Unmarshal(b, &reply); err != nil {
		return "", fmt.Errorf("reply %q: %w", b, err)
	}
	return reply, nil
}

// rest posts body; ok means 2xx, err means no answer.
func (p *proc) rest(path, body string) (ok bool, status int, err error) {
	req, _ := http.NewRequest("POST", p.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Nway "+p.token)
	resp, err := p.client.Do(req)
	if err != nil {
		return false, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2, resp.StatusCode, nil
}

func (p *proc) stats() (sim.Stats, error) {
	var st sim.Stats
	r, err := p.console("demo_stats")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(r), &st)
}

type extView struct {
	Extension  string
	AgentState string
	JobNumber  string
	LoggedIn   bool
	Groups     []string
}

func (p *proc) extensions() (map[string]extView, error) {
	req, _ := http.NewRequest("GET", p.base+"/api/get_extensions", nil)
	req.Header.Set("Authorization", "Nway "+p.token)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l []extView
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, err
	}
	m := map[string]extView{}
	for _, e := range l {
		slices.Sort(e.Groups)
		m[e.Extension] = e
	}
	return m, nil
}

func matches(v extView, e ext) bool {
	return v.JobNumber == e.job && v.LoggedIn == e.loggedIn && slices.Equal(v.Groups, e.groups) &&
		(e.seat == "" || v.AgentState == e.seat)
}

// step makes one random change to one of w's extensions, through REST or
// the console; false when the process stopped answering.
func (w *worker) step(p *proc, rng *rand.Rand, seq int) bool {
	x := w.exts[rng.IntN(len(w.exts))]
	cur := w.state[x]
	next := cur
	var acked bool
	var err error
	switch rng.IntN(7) {
	case 0, 1: // job number over the console
		next.job = fmt.Sprintf("j%d", seq)
		w.pending = map[string]ext{x: next}
		var r string
		r, err = p.console(fmt.Sprintf("nway_set_ext_jobnumber %s %s true", x, next.job))
		acked = strings.HasPrefix(r, "+OK")
	case 2: // login over REST (adds to the groups it is in)
		var gs []string
		for _, g := range groupsAll {
			if rng.IntN(2) == 0 {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 {
			gs = groupsAll[:1]
		}
		next.loggedIn, next.groups, next.seat = true, union(cur.groups, gs), ""
		w.pending = map[string]ext{x: next}
		acked, _, err = p.rest("/api/agent_up", fmt.Sprintf(`{"Extension":%q,"Groups":%q}`, x, strings.Join(gs, ",")))
	case 3: // login over the console
		gs := groupsAll[rng.IntN(3):]
		next.loggedIn, next.groups, next.seat = true, union(cur.groups, gs), ""
		w.pending = map[string]ext{x: next}
		var r string
		r, err = p.console(fmt.Sprintf("nway_login %s %s", x, strings.Join(gs, ",")))
		acked = strings.HasPrefix(r, "+OK")
	case 4: // logout, either way
		next.loggedIn, next.groups, next.seat = false, nil, ""
		w.pending = map[string]ext{x: next}
		if rng.IntN(2) == 0 {
			acked, _, err = p.rest("/api/agent_down", fmt.Sprintf(`{"Extension":%q}`, x))
		} else {
			var r string
			r, err = p.console("nway_logout " + x)
			acked = strings.HasPrefix(r, "+OK")
		}
	case 5:
		next.seat = "busy"
		w.pending = map[string]ext{x: next}
		acked, _, err = p.rest("/api/agent_busy", fmt.Sprintf(`{"Extension":%q}`, x))
	case 6:
		next.seat = "idle"
		w.pending = map[string]ext{x: next}
		acked, _, err = p.rest("/api/agent_ready", fmt.Sprintf(`{"Extension":%q}`, x))
	}
	if err != nil {
		return false // no answer: the change may or may not have happened
	}
	w.pending = nil
	if acked {
		w.state[x] = next
		w.acked++
	}
	return true
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kill-under-load runs real processes")
	}
	bin := buildDemo(t)
	t.Run("embedded", func(t *testing.T) { killUnderLoad(t, bin, "") })
	t.Run("postgresql", func(t *testing.T) {
		_, dsn := pgtest.DB(t)
		killUnderLoad(t, bin, dsn)
	})
}

// suite is one kill-under-load run: a folder (and database) the rounds share.
type suite struct {
	t        *testing.T
	bin, dsn string
	dir      string
	port     int
	rng      *rand.Rand
	workers  []*worker
	seq      atomic.Int64

	checked, losses int
	finished        []int // per round: calls that left the board, seen before the kill
}

func (s *suite) args(round int) []string {
	a := []string{"-listen", fmt.Sprintf("127.0.0.1:%d", s.port), "-redis", "", "-dir", s.dir,
		"-rate", "0.3", "-speed", "100", "-commands", "-uuid-prefix", fmt.Sprintf("r%02d-", round)}
	if s.dsn != "" {
		a = append(a, "-dsn", s.dsn)
	}
	return a
}

func killUnderLoad(t *testing.T, bin, dsn string) {
	rounds := 20
	if v, err := strconv.Atoi(os.Getenv("NWAYACD_KILL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	s := &suite{t: t, bin: bin, dsn: dsn, dir: t.TempDir(), port: sparePort(t),
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)), finished: make([]int, rounds)}
	p := startProc(t, bin, s.args(0)...)
	s.addExtensions(p)
	for r := range rounds {
		if r > 0 {
			p = startProc(t, bin, s.args(r)...)
			s.checkAcknowledged(p, r)
		}
		s.loadAndKill(p, r)
	}
	p = startProc(t, bin, s.args(rounds)...)
	s.checkAcknowledged(p, rounds)
	if st, err := p.stats(); err != nil || st.Conflicts != 0 {
		t.Errorf("last run: stats %+v %v", st, err)
	}
	p.stop(t)

	// Every call that finished before a kill has its CDR, once.
	stored, total := s.storedCDRs()
	var short, before int
	for r := range rounds {
		before += s.finished[r]
		if stored[r] < s.finished[r] {
			short += s.finished[r] - stored[r]
			t.Errorf("round %d: %d CDRs stored, but %d calls had finished before the kill", r, stored[r], s.finished[r])
		}
	}
	acked := 0
	for _, w := range s.workers {
		acked += w.acked
	}
	t.Logf("%d rounds of kill -9; %d changes acknowledged; %d extension states checked after restarts; %d lost; "+
		"%d CDRs stored for %d calls finished before the kills (%d missing); no double offers: %v",
		rounds, acked, s.checked, s.losses, total, before, short, !t.Failed())
}

// addExtensions gives each worker its own extensions.
func (s *suite) addExtensions(p *proc) {
	const nWorkers, perWorker = 4, 6
	for i := range nWorkers {
		w := &worker{state: map[string]ext{}}
		for k := range perWorker {
			x := fmt.Sprintf("3%d%02d", i, k)
			if r, err := p.console("nway_add_ext " + x + " j0"); err != nil || !strings.HasPrefix(r, "+OK") {
				s.t.Fatalf("add %s: %q %v", x, r, err)
			}
			w.exts = append(w.exts, x)
			w.state[x] = ext{job: "j0"}
		}
		s.workers = append(s.workers, w)
	}
}

// checkAcknowledged: after a restart every acknowledged change is there
// (the one in flight at the kill may or may not be).
func (s *suite) checkAcknowledged(p *proc, r int) {
	got, err := p.extensions()
	if err != nil {
		s.t.Fatalf("round %d: get_extensions: %v", r, err)
	}
	for _, w := range s.workers {
		for _, x := range w.exts {
			want := w.state[x]
			ok := matches(got[x], want)
			if alt, inFlight := w.pending[x]; !ok && inFlight && matches(got[x], alt) {
				ok = true
				w.state[x] = alt // the change in flight at the kill did happen
			}
			s.checked++
			if !ok {
				s.losses++
				s.t.Errorf("round %d: extension %s is %+v, acknowledged %v (in flight: %v)", r, x, got[x], want, w.pending[x])
				w.state[x] = ext{job: got[x].JobNumber, loggedIn: got[x].LoggedIn, groups: got[x].Groups}
			}
		}
		w.pending = nil
	}
}

// loadAndKill runs the workers, samples the simulator (no double offers;
// calls finished so far), waits until their CDRs are on disk, and kills the
// process with SIGKILL at a random moment while the load goes on.
func (s *suite) loadAndKill(p *proc, r int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			for ctx.Err() == nil {
				if !w.step(p, wrng, int(s.seq.Add(1))) {
					return
				}
			}
		}()
	}
	time.Sleep(time.Duration(200+s.rng.IntN(600)) * time.Millisecond)
	st, err := p.stats()
	if err != nil {
		s.t.Fatalf("round %d: stats: %v", r, err)
	}
	if st.Conflicts != 0 {
		s.t.Errorf("round %d: %d offers to an agent already ringing or talking", r, st.Conflicts)
	}
	s.finished[r] = st.Finished
	// The CDRs of the calls counted above are queued after the demo's
	// 20 ms CDR grace; then wait until they are on disk, and kill a random
	// moment later, while changes keep coming.
	time.Sleep(150 * time.Millisecond)
	if reply, err := p.console("demo_sync"); err != nil || reply != "+OK synced" {
		s.t.Fatalf("round %d: demo_sync: %q %v", r, reply, err)
	}
	time.Sleep(time.Duration(s.rng.IntN(300)) * time.Millisecond)
	p.kill()
	cancel()
	wg.Wait()
}

// storedCDRs counts the stored CDRs per round (by uuid prefix), checking
// in PostgreSQL that no call has two rows.
func (s *suite) storedCDRs() (perRound map[int]int, total int) {
	t := s.t
	perRound = map[int]int{}
	var uuids []string
	if s.dsn == "" {
		st, err := embedded.Open(filepath.Join(s.dir, "nwayacd.db"))
		if err != nil {
			t.Fatal(err)
		}
		uuids, err = st.CDRUUIDs(context.Background(), "r")
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
	} else {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n, distinct int
		if err := c.QueryRow(ctx, `SELECT count(*), count(DISTINCT uuid) FROM nwayacd_cdr`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != distinct {
			t.Errorf("%d CDR rows for %d calls", n, distinct)
		}
		rows, _ := c.Query(ctx, `SELECT uuid FROM nwayacd_cdr`)
		if uuids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range uuids {
		var round int
		if _, err := fmt.Sscanf(u, "r%02d-", &round); err == nil {
			perRound[round]++
		}
	}
	return perRound, len(uuids)
}
