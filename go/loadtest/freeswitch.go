package loadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoSwitch means no running FreeSWITCH answered: the harness skips.
var ErrNoSwitch = errors.New("no running FreeSWITCH (fs_cli found none)")

// Switch is a running FreeSWITCH reached through fs_cli.
type Switch struct {
	CLI  string   // fs_cli's path
	Args []string // extra fs_cli arguments (-H, -P, -p)
}

// FindSwitch looks for fs_cli on the PATH and in /usr/local/freeswitch/bin and
// asks it for the switch's status.
func FindSwitch(ctx context.Context, args ...string) (*Switch, error) {
	cli, err := exec.LookPath("fs_cli")
	if err != nil {
		cli = "/usr/local/freeswitch/bin/fs_cli"
		if _, err := os.Stat(cli); err != nil {
			return nil, ErrNoSwitch
		}
	}
	s := &Switch{CLI: cli, Args: args}
	out, err := s.API(ctx, "status")
	if err != nil || !strings.Contains(out, "UP") {
		return nil, ErrNoSwitch
	}
	return s, nil
}

// API runs one API command and returns its reply; a reply starting with
// -ERR is an error.
func (s *Switch) API(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := append(append([]string{}, s.Args...), "-x", cmd)
	out, err := exec.CommandContext(ctx, s.CLI, args...).Output()
	reply := strings.TrimSpace(string(out))
	if err != nil {
		return reply, fmt.Errorf("fs_cli -x %q: %w", cmd, err)
	}
	if strings.HasPrefix(reply, "-ERR") || strings.HasPrefix(reply, "-USAGE") {
		return reply, fmt.Errorf("fs_cli -x %q: %s", cmd, reply)
	}
	return reply, nil
}

// Var reads a global variable (conf_dir, run_dir …).
func (s *Switch) Var(ctx context.Context, name string) (string, error) {
	v, err := s.API(ctx, "global_getvar "+name)
	if err == nil && v == "" {
		err = fmt.Errorf("global %s is empty", name)
	}
	return v, err
}

// PID reads the switch's process id from its pid file.
func (s *Switch) PID(ctx context.Context) (int, error) {
	dir, err := s.Var(ctx, "run_dir")
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "freeswitch.pid"))
	if err != nil {
		return 0, fmt.Errorf("pid: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ProfileIP is the address a SIP profile listens on ("SIP-IP" in `sofia
// status profile <name>`). A stock profile binds $${local_ip_v4}, the
// primary interface's address, not 127.0.0.1, so callers must be sent there.
func (s *Switch) ProfileIP(ctx context.Context, profile string) (string, error) {
	out, err := s.API(ctx, "sofia status profile "+profile)
	if err != nil {
		return "", err
	}
	ip, ok := parseProfileIP(out)
	if !ok {
		return "", fmt.Errorf("sofia profile %s: no SIP-IP in its status (is it running?)", profile)
	}
	return ip, nil
}

func parseProfileIP(status string) (string, bool) {
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "SIP-IP" {
			if ip, err := netip.ParseAddr(f[1]); err == nil {
				return ip.String(), true
			}
		}
	}
	return "", false
}

// SessionsPerSecond reads FreeSWITCH's session rate limit (fsctl sps; a
// stock switch.conf.xml says 30, less than one 20 calls/s run needs: each
// routed call is two sessions).
func (s *Switch) SessionsPerSecond(ctx context.Context) (int, error) {
	out, err := s.API(ctx, "fsctl sps")
	if err != nil {
		return 0, err
	}
	return parseSPS(out)
}

// SetSessionsPerSecond sets that limit.
func (s *Switch) SetSessionsPerSecond(ctx context.Context, n int) error {
	_, err := s.API(ctx, "fsctl sps "+strconv.Itoa(n))
	return err
}

func parseSPS(out string) (int, error) {
	_, v, ok := strings.Cut(out, "sessions per second:")
	if !ok {
		return 0, fmt.Errorf("fsctl sps answered %q", out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("fsctl sps answered %q", out)
	}
	return n, nil
}

// Setup is what the harness configured in the switch, undone by Teardown.
type Setup struct {
	sw       *Switch
	dialplan string   // the dialplan file written
	exts     []string // extensions added to the module
	group    string
	ACD      bool   // mod_nwayacd answered: the acd profile can run
	WrapUp   string // the module's wrap-up (nwayacd status): queued dispatch wants 0s
	// EarlyBye: the module takes the switch's SIP capture (sip-capture-listen);
	// whether sofia sends it shows in the rows (INVITEs before the 200 OK).
	EarlyBye bool
	// mod_callcenter, for the callcenter profile (SetupCallcenter).
	ccLoaded bool     // the harness loaded the module
	ccQueue  string   // the queue it loaded
	ccAgents []string // the agents it added
}

// RunVar marks every caller leg the harness's dialplan answers (=1), so that
// calls left up after a run can be hung up, and only those (HangUpRuns).
const RunVar = "nwayload_call"

// HangUpRuns hangs up the callers' calls still up once a run's sipp is done
// (and their agents' legs with them: hangup_after_bridge).
func (s *Switch) HangUpRuns(ctx context.Context) error {
	_, err := s.API(ctx, "hupall NORMAL_CLEARING "+RunVar+" 1")
	return err
}

// Destinations the callers dial, one per profile.
const (
	DestACD        = "nwayload_acd"
	DestBare       = "nwayload_bare"
	DestCallcenter = "nwayload_cc"
)

const dialplanXML = `<include>
  <!-- Written by mod_nwayacd's load harness (make load); removed when it ends. -->
  <extension name="nwayload_acd">
    <condition field="destination_number" expression="^nwayload_acd$">
      <action application="set" data="%[5]s=1"/>
      <action application="set" data="hangup_after_bridge=true"/>
      <action application="nwayacd" data="%[1]s"/>
      <action application="hangup"/>
    </condition>
  </extension>
  <extension name="nwayload_bare">
    <condition field="destination_number" expression="^nwayload_bare$">
      <action application="set" data="%[5]s=1"/>
      <action application="set" data="hangup_after_bridge=true"/>
      <action application="answer"/>
      <action application="bridge" data="sofia/%[2]s/bare@127.0.0.1:%[3]d"/>
    </condition>
  </extension>
  <extension name="nwayload_cc">
    <condition field="destination_number" expression="^nwayload_cc$">
      <action application="set" data="%[5]s=1"/>
      <action application="set" data="hangup_after_bridge=true"/>
      <action application="callcenter" data="%[4]s"/>
      <action application="hangup"/>
    </condition>
  </extension>
</include>
`

// Configure writes the profiles' dialplan into the public context of the
// switch's configuration, and, when mod_nwayacd is loaded, adds the agents
// (extensions first..first+n-1, each dialled on the agents' UAS) to a group.
// queue is the mod_callcenter queue the callcenter profile's callers enter
// (SetupCallcenter).
func Configure(ctx context.Context, sw *Switch, profile, group, queue string, first, n, agentPort int) (*Setup, error) {
	if !ccName(queue) {
		return nil, fmt.Errorf("callcenter queue %q: want name@domain of [A-Za-z0-9_.-]", queue)
	}
	conf, err := sw.Var(ctx, "conf_dir")
	if err != nil {
		return nil, err
	}
	st := &Setup{sw: sw, group: group, dialplan: filepath.Join(conf, "dialplan", "public", "00_nwayacd_load.xml")}
	if err := os.WriteFile(st.dialplan, fmt.Appendf(nil, dialplanXML, group, profile, agentPort, queue, RunVar), 0o644); err != nil {
		return nil, fmt.Errorf("write dialplan: %w", err)
	}
	if _, err := sw.API(ctx, "reloadxml"); err != nil {
		st.Teardown(ctx)
		return nil, err
	}
	if reply, err := sw.API(ctx, "nway_add_group "+group+" 2"); err != nil {
		if !strings.Contains(reply, "exists") {
			return st, nil // no module: the bare profile still runs
		}
		if err := afresh(ctx, sw, "nway_add_group "+group+" 2", "nway_rm_group "+group); err != nil {
			st.Teardown(ctx)
			return nil, err
		}
	}
	st.ACD = true
	st.WrapUp = "unknown"
	if out, err := sw.API(ctx, "nwayacd status"); err == nil {
		st.WrapUp = statusWrapUp(out)
		st.EarlyBye = statusEarlyBye(out)
	}
	for i := range n {
		ext := strconv.Itoa(first + i)
		if err := addExt(ctx, sw, ext); err != nil {
			st.Teardown(ctx)
			return nil, err
		}
		// Teardown removes it from here on, even when a later step fails
		// (a leftover extension makes the next run fail with "exists").
		st.exts = append(st.exts, ext)
		for _, c := range []string{
			fmt.Sprintf("nway_set_ext_dialstring %s sofia/%s/%s@127.0.0.1:%d", ext, profile, ext, agentPort),
			"nway_set_reged_ext " + ext,
			"nway_login " + ext + " " + group,
			"nway_ready " + ext,
		} {
			if _, err := sw.API(ctx, c); err != nil {
				st.Teardown(ctx)
				return nil, err
			}
		}
	}
	return st, nil
}

// statusWrapUp picks the wrap-up out of `nwayacd status` ("wrap-up: 0s, …").
func statusWrapUp(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "wrap-up:"); ok {
			v, _, _ = strings.Cut(v, ",")
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// AgentStates counts the harness's own agents by call state (the
// call_state column of `nway_list_exts`); other extensions the module has
// are not the harness's to judge.
func (st *Setup) AgentStates(ctx context.Context) (map[string]int, error) {
	out, err := st.sw.API(ctx, "nway_list_exts")
	if err != nil {
		return nil, err
	}
	return extStates(out, st.exts), nil
}

// Unready is what AgentStates holds other than ready agents (and agents in
// their wrap-up, which ends by itself), rendered "no_ready 3, talking 1";
// empty when there is none. After a run every call has ended, so anything
// here is an agent the run took out of the pool (a no-answer streak: the
// no-answer limit sets it not ready), which the next run would otherwise
// inherit.
func Unready(states map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(states)) {
		if k != "ready" && k != "typing" && states[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, states[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// ReadyAll sets every agent the harness added ready again.
func (st *Setup) ReadyAll(ctx context.Context) error {
	for _, ext := range st.exts {
		if _, err := st.sw.API(ctx, "nway_ready "+ext); err != nil {
			return err
		}
	}
	return nil
}

// extStates counts the call_state column (the sixth) of `nway_list_exts`
// rows whose extension is one of exts.
func extStates(list string, exts []string) map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(list, "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if len(f) > 5 && slices.Contains(exts, f[0]) {
			m[f[5]]++
		}
	}
	return m
}

// statusEarlyBye reports whether `nwayacd status` has a sip_capture section.
func statusEarlyBye(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sip_capture:") {
			return true
		}
	}
	return false
}

// addExt adds an agent's extension, replacing one a killed run left.
func addExt(ctx context.Context, sw *Switch, ext string) error {
	add := "nway_add_ext " + ext + " " + ext
	reply, err := sw.API(ctx, add)
	if err == nil || !strings.Contains(reply, "exists") {
		return err
	}
	_, _ = sw.API(ctx, "nway_logout "+ext)
	return afresh(ctx, sw, add, "nway_rm_ext "+ext)
}

// afresh removes what a run killed before its teardown left (rm), then
// adds it again (add): the next run starts from a known state.
func afresh(ctx context.Context, sw *Switch, add, rm string) error {
	if _, err := sw.API(ctx, rm); err != nil {
		return err
	}
	_, err := sw.API(ctx, add)
	return err
}

// SetGroupOptions sets the options of the module's group for the runs, as
// nway_set_group takes them: "name=value,…" (e.g. "ring_wait=20"). Teardown
// removes the group and its options with it.
func (st *Setup) SetGroupOptions(ctx context.Context, spec string) error {
	opts, err := ParseGroupOptions(spec)
	if err != nil {
		return err
	}
	if len(opts) > 0 && !st.ACD {
		return errors.New("group options without mod_nwayacd")
	}
	for _, o := range opts {
		if _, err := st.sw.API(ctx, "nway_set_group "+st.group+" "+o[0]+" "+o[1]); err != nil {
			return fmt.Errorf("group option %s: %w", o[0], err)
		}
	}
	return nil
}

// ParseGroupOptions splits "name=value,…" into pairs. A name is [a-z_]; a
// value holds only what an option value needs ([A-Za-z0-9_.:/+*#-]): no
// blank, control character or `;` (fs_cli -x splits commands on ";;"), so
// nothing becomes a second argument or command.
func ParseGroupOptions(spec string) ([][2]string, error) {
	var out [][2]string
	for _, kv := range strings.Split(spec, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") != "" || !optionValue(v) {
			return nil, fmt.Errorf("group option %q: want name=value", kv)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func optionValue(v string) bool {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.:/+*#-", c)) {
			return false
		}
	}
	return true
}

// SetupCallcenter readies FreeSWITCH's mod_callcenter for the callcenter
// profile: it loads the module when it is installed but not loaded, loads
// queue from callcenter.conf.xml (the stock one has support@default), and
// adds the same agents as the module's group (callback agents dialled on the
// agents' UAS, wrap-up 0, Available, one tier each). Teardown undoes it, and
// unloads the module when it loaded it. An error says why the profile
// cannot run; the others still can.
func (st *Setup) SetupCallcenter(ctx context.Context, profile, queue string, first, n, agentPort int) error {
	if out, _ := st.sw.API(ctx, "module_exists mod_callcenter"); out != "true" {
		if _, err := st.sw.API(ctx, "load mod_callcenter"); err != nil {
			return fmt.Errorf("mod_callcenter is not installed: %w", err)
		}
		st.ccLoaded = true
	}
	if _, err := st.sw.API(ctx, "callcenter_config queue load "+queue); err != nil {
		return fmt.Errorf("mod_callcenter has no queue %s in callcenter.conf.xml: %w", queue, err)
	}
	st.ccQueue = queue
	for i := range n {
		ext := strconv.Itoa(first + i)
		agent := "nwayload_" + ext
		add := "callcenter_config agent add " + agent + " callback"
		if reply, err := st.sw.API(ctx, add); err != nil {
			if !strings.Contains(reply, "already exist") {
				return err
			}
			_, _ = st.sw.API(ctx, "callcenter_config tier del "+queue+" "+agent)
			if err := afresh(ctx, st.sw, add, "callcenter_config agent del "+agent); err != nil {
				return err
			}
		}
		st.ccAgents = append(st.ccAgents, agent)
		for _, c := range []string{
			fmt.Sprintf("callcenter_config agent set contact %s sofia/%s/%s@127.0.0.1:%d", agent, profile, ext, agentPort),
			"callcenter_config agent set wrap_up_time " + agent + " 0",
			"callcenter_config agent set status " + agent + " Available",
			"callcenter_config tier add " + queue + " " + agent + " 1 1",
		} {
			if _, err := st.sw.API(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// ccName: a queue name that stays one argument of one command.
func ccName(q string) bool {
	name, domain, ok := strings.Cut(q, "@")
	return ok && name != "" && domain != "" && strings.Trim(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@") == "" && strings.Count(q, "@") == 1
}

// Teardown removes everything Configure and SetupCallcenter added.
func (st *Setup) Teardown(ctx context.Context) {
	for _, agent := range st.ccAgents {
		_, _ = st.sw.API(ctx, "callcenter_config tier del "+st.ccQueue+" "+agent)
		_, _ = st.sw.API(ctx, "callcenter_config agent del "+agent)
	}
	st.ccAgents = nil
	if st.ccQueue != "" {
		_, _ = st.sw.API(ctx, "callcenter_config queue unload "+st.ccQueue)
		st.ccQueue = ""
	}
	if st.ccLoaded {
		_, _ = st.sw.API(ctx, "unload mod_callcenter")
		st.ccLoaded = false
	}
	for _, ext := range st.exts {
		_, _ = st.sw.API(ctx, "nway_logout "+ext)
		_, _ = st.sw.API(ctx, "nway_rm_ext "+ext)
	}
	if st.ACD {
		_, _ = st.sw.API(ctx, "nway_rm_group "+st.group)
	}
	_ = os.Remove(st.dialplan)
	_, _ = st.sw.API(ctx, "reloadxml")
}
