package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Run is one profile at one rate.
type Run struct {
	Profile    string // "nwayacd", "bare", "bare2" (bare again) or "callcenter"
	Dest       string // destination number the callers dial
	Rate       float64
	Calls      int
	SwitchIP   string // the SIP profile's address (Switch.ProfileIP); empty: 127.0.0.1
	SwitchPort int    // the SIP profile's port callers reach (external: 5080)
	AgentPort  int
	CallerPort int
	Params     Params
	// SippAsSwitch runs sipp at the switch's own scheduling (SwitchSched).
	SippAsSwitch bool
}

// Result is a Run's figures.
type Result struct {
	Run
	Report
	CPUPerCall time.Duration // FreeSWITCH CPU time per caller call
	// Cut: the callers were stopped at the run's deadline (Limit) with
	// calls still up; the figures cover what the capture saw until then.
	Cut bool
	// Failed: the callers' sipp failed, with what it said; no figures.
	Failed string
}

// Limit is how long the callers may take: twice the time to place the
// calls (a saturated switch slows sipp too), then one caller's whole
// patience, ring and talk, and a minute. Past saturation sipp has waited
// for calls that never ended, holding the run forever.
func (r Run) Limit() time.Duration {
	place := time.Duration(float64(r.Calls) / max(r.Rate, 0.1) * float64(time.Second))
	return 2*place + r.Params.Patience + r.Params.Ring + r.Params.Talk + time.Minute
}

// Execute runs callers against the switch with the agents' UAS up, capturing
// SIP on loopback, and measures the switch's CPU over the run.
func Execute(ctx context.Context, sw *Switch, r Run) (Result, error) {
	dir, err := os.MkdirTemp("", "nwayacd-load-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	callerXML, agentsXML, err := r.Params.WriteScenarios(dir)
	if err != nil {
		return Result{}, err
	}
	capt, err := OpenCapture(uint16(r.SwitchPort), uint16(r.AgentPort), uint16(r.CallerPort))
	if err != nil {
		return Result{}, err
	}
	cctx, stopCapture := context.WithCancel(ctx)
	got := make(chan []Packet, 1)
	go func() { ps, _ := capt.Run(cctx); got <- ps }()
	defer stopCapture()

	pid, err := sw.PID(ctx)
	if err != nil {
		return Result{}, err
	}
	var sched *Sched
	if r.SippAsSwitch {
		if sched, err = SwitchSched(pid); err != nil {
			return Result{}, err
		}
	}
	actx, stopAgents := context.WithCancel(ctx)
	agents, err := Agents(actx, sched, agentsXML, r.AgentPort, dir)
	if err != nil {
		stopAgents()
		return Result{}, err
	}
	defer func() { stopAgents(); _ = agents.Wait() }()
	time.Sleep(300 * time.Millisecond)

	cpu0, err := ProcessCPU(pid)
	if err != nil {
		return Result{}, err
	}
	ip := r.SwitchIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	cut, failed := false, ""
	if err := Callers(ctx, sched, callerXML, net.JoinHostPort(ip, strconv.Itoa(r.SwitchPort)), r.Dest, r.CallerPort, r.Calls, r.Rate, r.Limit(), dir); err != nil {
		switch {
		case errors.Is(err, ErrCut):
			cut = true
		case errors.Is(err, ErrCallers):
			// The load generator itself died (seen past saturation): the
			// run has no figures, but the switch is cleaned up as after
			// any run and the set goes on.
			failed = err.Error()
		default:
			return Result{}, err
		}
	}
	time.Sleep(500 * time.Millisecond) // the last BYEs
	cpu1, err := ProcessCPU(pid)
	if err != nil {
		return Result{}, err
	}
	stopCapture()
	// sipp is done (or was stopped at the deadline): any call the switch
	// still holds lost a message past saturation (seen: bare calls up minutes
	// after their run) and would load the next run.
	if err := sw.HangUpRuns(ctx); err != nil {
		return Result{}, err
	}
	if failed != "" {
		return Result{Run: r, Failed: failed}, nil
	}
	rep := Analyze(<-got, Roles{SwitchPort: uint16(r.SwitchPort), AgentPort: uint16(r.AgentPort)})
	res := Result{Run: r, Report: rep, Cut: cut}
	if rep.Calls > 0 {
		res.CPUPerCall = (cpu1 - cpu0) / time.Duration(rep.Calls)
	}
	return res, nil
}

// MeetsSLO is the service level: ≥ 99% reached and offer p99 < 2 s.
func (r Result) MeetsSLO() bool {
	return r.Failed == "" && r.ReachedPct() >= 99 && Quantile(r.Offer, 0.99) < 2*time.Second
}

// Row renders the result as a Markdown table row.
func (r Result) Row() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	// The bare profile has no queue, and its one "agent" (every INVITE goes
	// to the user bare) makes any BYE look like a freed agent: no figure.
	queued, afterOK := "—", "—"
	if r.Dest != DestBare {
		queued = fmt.Sprintf("%s / %s ms (%d)", ms(Quantile(r.QueuedDispatch, 0.5)), ms(Quantile(r.QueuedDispatch, 0.99)), len(r.QueuedDispatch))
		afterOK = fmt.Sprintf("%s / %s ms", ms(Quantile(r.DispatchAfterOK, 0.5)), ms(Quantile(r.DispatchAfterOK, 0.99)))
		if r.DispatchBeforeOK > 0 {
			afterOK = fmt.Sprintf("%s (%d before it)", afterOK, r.DispatchBeforeOK)
		}
		if len(r.DispatchAfterOK) == 0 && r.DispatchBeforeOK > 0 {
			afterOK = fmt.Sprintf("none: all %d left before it", r.DispatchBeforeOK)
		}
	}
	profile := r.Profile
	if r.Failed != "" {
		return fmt.Sprintf("| %s | %.0f/s | no figures: %s |", profile, r.Rate, strings.NewReplacer("|", "/", "\n", " ").Replace(r.Failed))
	}
	if r.Cut {
		profile += " (cut at its deadline)"
	}
	return fmt.Sprintf("| %s | %.0f/s | %d | %.1f%% | %s / %s ms | %s | %s | %s ms |",
		profile, r.Rate, r.Report.Calls, r.ReachedPct(),
		ms(Quantile(r.Offer, 0.5)), ms(Quantile(r.Offer, 0.99)), queued, afterOK, ms(r.CPUPerCall))
}

// Header is the Markdown table header for Row.
const Header = "| profile | rate | calls | reached | offer p50 / p99 | queued dispatch p50 / p99 (n) | of which after the switch's 200 OK to the BYE | FreeSWITCH CPU per call |\n|---|---|---|---|---|---|---|---|"

// CPURatio compares the CPU per call of interleaved runs: ratios[i] is
// acd[i] against bare[i] (one pair run back to back), median their median,
// pooled all of acd's CPU per call against all of bare's. One pair says
// little: on a 2-core VM the bare profile alone drifts ±10% between runs.
func CPURatio(bare, acd []Result) (ratios []float64, median, pooled float64) {
	var sb, sa time.Duration
	for i := range min(len(bare), len(acd)) {
		if bare[i].CPUPerCall <= 0 || acd[i].CPUPerCall <= 0 {
			continue // a run that measured nothing (no calls) is no ratio
		}
		ratios = append(ratios, float64(acd[i].CPUPerCall)/float64(bare[i].CPUPerCall))
		sb += bare[i].CPUPerCall
		sa += acd[i].CPUPerCall
	}
	if len(ratios) == 0 {
		return nil, 0, 0
	}
	s := slices.Sorted(slices.Values(ratios))
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return ratios, median, float64(sa) / float64(sb)
}

// PairOrder is the profiles' order in the k-th pair of a set: as given,
// then reversed in every other pair (A B, B A, A B …), so that a machine
// slowly getting faster or slower during a set favours neither profile.
func PairOrder(profs []string, k int) []string {
	if k%2 == 0 {
		return profs
	}
	r := slices.Clone(profs)
	slices.Reverse(r)
	return r
}

// RatioInterval is the geometric mean of the pair ratios and its 95%
// interval: Student's t on their logarithms, n-1 degrees of freedom. It says
// how well this set pins its own mean, no more: what moves a whole set (the
// machine's state of the day; 1.04–1.14× by set on these VMs) is outside
// it. ok is false under four pairs.
func RatioInterval(bare, acd []Result) (geo, lo, hi float64, ok bool) {
	var logs []float64
	for i := range min(len(bare), len(acd)) {
		if bare[i].CPUPerCall > 0 && acd[i].CPUPerCall > 0 {
			logs = append(logs, math.Log(float64(acd[i].CPUPerCall)/float64(bare[i].CPUPerCall)))
		}
	}
	n := len(logs)
	if n < 4 {
		return 0, 0, 0, false
	}
	var mean, ss float64
	for _, l := range logs {
		mean += l
	}
	mean /= float64(n)
	for _, l := range logs {
		ss += (l - mean) * (l - mean)
	}
	half := t975(n-1) * math.Sqrt(ss/float64(n-1)/float64(n))
	return math.Exp(mean), math.Exp(mean - half), math.Exp(mean + half), true
}

// t975 is Student's t at 97.5% for df degrees of freedom (df ≥ 1).
func t975(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	switch {
	case df <= len(table):
		return table[df-1]
	case df < 40:
		return 2.042
	case df < 60:
		return 2.021
	case df < 120:
		return 2.000
	}
	return 1.980
}

// RatioLine renders CPURatio for the report.
func RatioLine(rate float64, profile string, bare, other []Result) string {
	ratios, median, pooled := CPURatio(bare, other)
	if len(ratios) == 0 {
		return ""
	}
	each := make([]string, len(ratios))
	for i, r := range ratios {
		each[i] = fmt.Sprintf("%.2f", r)
	}
	interval := ""
	if geo, lo, hi, ok := RatioInterval(bare, other); ok {
		interval = fmt.Sprintf(", geometric mean %.2f× [95%% t-interval within this set %.2f–%.2f×]", geo, lo, hi)
	}
	return fmt.Sprintf("%.0f/s: CPU per call, %s against bare over %d interleaved pairs: median %.2f×, pooled %.2f×%s (pairs: %s)",
		rate, profile, len(ratios), median, pooled, interval, strings.Join(each, ", "))
}
