package loadtest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"golang.org/x/sys/unix"
)

//go:embed sipp/*.xml
var scenarios embed.FS

// Params shape the sipp scenarios.
type Params struct {
	CallerPrefix   string        // callers are CallerPrefix + sipp's call number
	Patience       time.Duration // a caller cancels after waiting this long for an answer
	Ring, Talk     time.Duration // an agent answers after Ring and hangs up after Talk
	NoAnswerChance float64       // the share of offers an agent never answers (0..1)
}

func (p Params) render(name string) ([]byte, error) {
	t, err := template.ParseFS(scenarios, "sipp/"+name)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	ms := func(d time.Duration) int64 { return max(1, d.Milliseconds()) }
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{
		"CallerPrefix":   p.CallerPrefix,
		"PatienceMS":     ms(p.Patience),
		"HangupWaitMS":   ms(p.Talk + p.Patience),
		"RingMS":         ms(p.Ring),
		"TalkMS":         ms(p.Talk),
		"NoAnswerChance": strconv.FormatFloat(p.NoAnswerChance, 'f', 3, 64),
		"NoAnswerWaitMS": ms(p.Patience + 30*time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// WriteScenarios renders caller.xml and agents.xml into dir.
func (p Params) WriteScenarios(dir string) (caller, agents string, err error) {
	for _, n := range []string{"caller.xml", "agents.xml"} {
		b, err := p.render(n)
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return "", "", fmt.Errorf("write scenario: %w", err)
		}
	}
	return filepath.Join(dir, "caller.xml"), filepath.Join(dir, "agents.xml"), nil
}

// Sched is how sipp is scheduled: nil runs it as this process is
// (SCHED_OTHER); otherwise under chrt with that policy and priority.
// SwitchSched gives the switch's own.
type Sched struct {
	Policy   int // unix.SCHED_FIFO or unix.SCHED_RR
	Priority int
}

func (s *Sched) String() string {
	switch {
	case s == nil:
		return "SCHED_OTHER"
	case s.Policy == unix.SCHED_RR:
		return fmt.Sprintf("SCHED_RR %d", s.Priority)
	}
	return fmt.Sprintf("SCHED_FIFO %d", s.Priority)
}

// SwitchSched is the scheduling of process pid's main thread when it is
// realtime (FreeSWITCH makes its threads SCHED_FIFO), else nil. A switch
// whose realtime threads saturate the machine starves a SCHED_OTHER load
// generator on it: agents then answer late because sipp waits for a CPU,
// which measures sipp, not the switch. Phones are not on the switch's CPU.
func SwitchSched(pid int) (*Sched, error) {
	a, err := unix.SchedGetAttr(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("scheduling of pid %d: %w", pid, err)
	}
	if a.Policy != unix.SCHED_FIFO && a.Policy != unix.SCHED_RR {
		return nil, nil
	}
	return &Sched{Policy: int(a.Policy), Priority: int(a.Priority)}, nil
}

// sippCommand is sipp with args, under chrt when sched is set.
func sippCommand(ctx context.Context, sched *Sched, args ...string) *exec.Cmd {
	if sched == nil {
		return exec.CommandContext(ctx, "sipp", args...)
	}
	flag := "-f"
	if sched.Policy == unix.SCHED_RR {
		flag = "-r"
	}
	return exec.CommandContext(ctx, "chrt", append([]string{flag, strconv.Itoa(sched.Priority), "sipp"}, args...)...)
}

// Agents starts the sipp UAS that plays every agent on 127.0.0.1:port. It
// runs until ctx ends (sipp is then killed: it is our own child).
func Agents(ctx context.Context, sched *Sched, scenario string, port int, logDir string) (*exec.Cmd, error) {
	cmd := sippCommand(ctx, sched, "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-m", "100000000", "-nostdin", "-trace_err", "-error_file", filepath.Join(logDir, "agents-errors.log"))
	cmd.Dir = logDir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sipp agents: %w", err)
	}
	return cmd, nil
}

// ErrCallers: the callers' sipp failed (not merely some of its calls): the
// run measured nothing to compare.
var ErrCallers = errors.New("sipp callers failed")

// ErrCut: the callers' sipp was stopped at the run's deadline, still waiting
// for calls that had not ended (seen past saturation).
var ErrCut = errors.New("sipp callers stopped at the run's deadline")

// Callers places calls calls at rate per second to service@target and waits
// for sipp to finish, for at most limit: then sipp gets SIGINT (and SIGKILL
// 5 s later) and Callers returns ErrCut. It returns sipp's exit error, if
// any: sipp exits 1 when some calls failed, which the analyzer counts anyway.
func Callers(ctx context.Context, sched *Sched, scenario, target, service string, port, calls int, rate float64, limit time.Duration, logDir string) error {
	dctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := sippCommand(dctx, sched, target, "-sf", scenario, "-s", service,
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-r", strconv.FormatFloat(rate*10, 'f', 0, 64), "-rp", "10000",
		"-m", strconv.Itoa(calls), "-l", strconv.Itoa(max(calls, 1)), "-nostdin",
		"-trace_err", "-error_file", filepath.Join(logDir, "callers-errors.log"))
	cmd.Dir = logDir
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() == nil && dctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ErrCut, limit)
	}
	if err != nil && ctx.Err() == nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return nil // some calls failed: the analyzer says which
		}
		return fmt.Errorf("%w: %w: %s", ErrCallers, err, why(out, logDir))
	}
	return nil
}

// why is what a failed sipp said: the lines of its output and error file
// that name an error (its screen's tail is a table of counters that names
// none), else the output's tail.
func why(out []byte, logDir string) string {
	var said []string
	b, _ := os.ReadFile(filepath.Join(logDir, "callers-errors.log"))
	for _, l := range strings.Split(string(out)+"\n"+string(b), "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		if l != "" && (strings.Contains(low, "error") || strings.Contains(low, "fatal") || strings.Contains(low, "unable") || strings.Contains(low, "cannot")) &&
			!slices.Contains(said, l) {
			said = append(said, l)
		}
	}
	if len(said) == 0 {
		return tail(out, 400)
	}
	if len(said) > 6 {
		said = append(said[:3], said[len(said)-3:]...)
	}
	for i, l := range said {
		if len(l) > 200 { // sipp's error file runs its lines together
			said[i] = l[:200] + "…"
		}
	}
	return strings.Join(said, " | ")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
