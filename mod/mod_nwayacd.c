/*
 * mod_nwayacd -- call queue (ACD) engine for FreeSWITCH.
 *
 * This file is the thin host side: it registers the API commands, the
 * applications and the event bindings, reads nwayacd.conf.xml, and runs the
 * session protocol of include/nwayacd.h on each session's own thread.  All
 * decisions are made by the Go c-archive linked into the same module.  The
 * tables of commands, applications and event bindings come from Go through
 * the generated include/nwayacd_commands.h.
 *
 * Unloading: the module is linked with -z nodelete, so shutdown returns
 * SWITCH_STATUS_SUCCESS (its work -- stopping Go, flushing spools -- runs)
 * while dlclose leaves the Go runtime mapped; a later load starts Go again.
 */
#include <switch.h>
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/resource.h>
#endif
#include "nwayacd.h"
#include "nwayacd_commands.h"	/* generated from the Go tables: go generate ./go/bridge/ */

SWITCH_MODULE_LOAD_FUNCTION(mod_nwayacd_load);
SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_nwayacd_shutdown);
SWITCH_MODULE_DEFINITION(mod_nwayacd, mod_nwayacd_load, mod_nwayacd_shutdown, NULL);

#define NWAYACD_CONF "nwayacd.conf"
#define NWAYACD_MAX_PARAMS 128
/* a directive that returns at once this many times in a row is a Go-side loop */
#define NWAYACD_MAX_FAST_STEPS 1000

/* An offer a waiting caller's session did not start itself: a pool thread
 * originates the agent the moment Go decides (nway_host_offer), so the
 * INVITE does not wait for the caller's next media frame; the caller's
 * session then claims the job in nway_do_offer, hears its music while the
 * agent rings, and bridges to the answered leg as usual. */
#define NWAY_MAX_JOBS 256

typedef struct nway_job {
	char uuid[SWITCH_UUID_FORMATTED_LENGTH + 1];	/* the caller's channel */
	char caller_name[NWAYACD_NAME_LEN];
	char peer_uuid[SWITCH_UUID_FORMATTED_LENGTH + 1];
	nwayacd_directive_t d;
	switch_call_cause_t cancel_cause;	/* set while ringing: originate gives up */
	switch_call_cause_t cause;
	int done;			/* the originate returned */
	int answered;		/* ... with peer_uuid answered, held by the job thread */
	int claimed;		/* the session took its own lock on the peer */
	int abandoned;		/* the session is gone or gave the job up */
	int refs;			/* the job thread and the table or the session */
} nway_job_t;

/* Go binds one of its Ms to a C thread the first time that thread calls in,
 * and keeps it bound until the thread exits.  When hundreds of new threads
 * call in at once (sessions arriving while the switch is overloaded), Go
 * spins in lockextra (1 us sleeps) until Ms are made for them; under
 * FreeSWITCH's SCHED_FIFO that starved the very threads making the Ms, and
 * the switch with them (measured at 80 calls/s: ~1,000 threads, load average
 * 700, 97% of CPU in the kernel's timer code, for minutes).  So a thread's
 * first call into Go is made one at a time (NWAY_GO_FIRST / NWAY_GO_DONE);
 * later calls from it need no M and take no lock. */
static __thread int nway_go_bound;

#define NWAY_GO_FIRST(first) \
	int first = !nway_go_bound; \
	if (first && globals.go_bind_mutex) switch_mutex_lock(globals.go_bind_mutex)

#define NWAY_GO_DONE(first) \
	if (first && globals.go_bind_mutex) { \
		nway_go_bound = 1; \
		switch_mutex_unlock(globals.go_bind_mutex); \
	}

static struct {
	int running;
	int events_bound;
	int subclass_reserved;
	int go_started;
	switch_memory_pool_t *pool;
	switch_mutex_t *go_bind_mutex;	/* a thread's first call into Go, one at a time */
	switch_mutex_t *job_mutex;	/* guards jobs[] and every job's fields */
	switch_thread_cond_t *job_cond;	/* broadcast on any job change */
	nway_job_t *jobs[NWAY_MAX_JOBS];	/* offers not yet claimed by their session */
	int job_threads;
} globals;

/* ------------------------------------------------------------------------ */
/* Configuration                                                              */

typedef struct {
	int n;
	char *kv[NWAYACD_MAX_PARAMS * 2];
} nway_params_t;

static void nway_params_add(nway_params_t *p, const char *k, const char *v)
{
	if (p->n >= NWAYACD_MAX_PARAMS) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "Too many params in %s, ignoring %s\n", NWAYACD_CONF, k);
		return;
	}
	p->kv[2 * p->n] = strdup(k ? k : "");
	p->kv[2 * p->n + 1] = strdup(v ? v : "");
	p->n++;
}

static void nway_params_free(nway_params_t *p)
{
	int i;

	for (i = 0; i < p->n * 2; i++) {
		free(p->kv[i]);
	}
	p->n = 0;
}

/* Reads <settings><param name value/></settings> and FreeSWITCH's folders. */
static switch_status_t nway_read_config(nway_params_t *p)
{
	switch_xml_t cfg, xml, settings, param;

	memset(p, 0, sizeof(*p));
	nway_params_add(p, "fs-log-dir", SWITCH_GLOBAL_dirs.log_dir);
	nway_params_add(p, "fs-db-dir", SWITCH_GLOBAL_dirs.db_dir);
	nway_params_add(p, "fs-conf-dir", SWITCH_GLOBAL_dirs.conf_dir);
	nway_params_add(p, "fs-recordings-dir", SWITCH_GLOBAL_dirs.recordings_dir);

	if (!(xml = switch_xml_open_cfg(NWAYACD_CONF, &cfg, NULL))) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "Open of %s failed, using defaults\n", NWAYACD_CONF);
		return SWITCH_STATUS_SUCCESS;
	}

	if ((settings = switch_xml_child(cfg, "settings"))) {
		for (param = switch_xml_child(settings, "param"); param; param = param->next) {
			const char *name = switch_xml_attr_soft(param, "name");
			const char *value = switch_xml_attr_soft(param, "value");

			if (!zstr(name)) {
				nway_params_add(p, name, value);
			}
		}
	}

	switch_xml_free(xml);
	return SWITCH_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Host services called by Go goroutines                                      */

/* go/bridge/ring.c: the switch's scheduling, lent to a Go thread for one
   call that may start a switch thread (why: there) */
int nw_sched_lend(void);
void nw_sched_unlend(int loan);

static int nway_host_api(const char *cmd, const char *args, char **out)
{
	switch_stream_handle_t stream = { 0 };
	switch_status_t status;
	int loan;

	*out = NULL;
	if (!globals.running || zstr(cmd)) {
		return -1;
	}
	SWITCH_STANDARD_STREAM(stream);
	loan = nw_sched_lend();	/* a command may start channels and threads */
	status = switch_api_execute(cmd, args, NULL, &stream);
	nw_sched_unlend(loan);
	*out = (char *) stream.data;	/* malloc'd by SWITCH_STANDARD_STREAM; Go frees it */
	return status == SWITCH_STATUS_SUCCESS ? 0 : -1;
}

static void nway_host_log(int level, const char *file, int line, const char *msg)
{
	switch_log_printf(SWITCH_CHANNEL_ID_LOG, file, "go", line, NULL, (switch_log_level_t) level, "%s\n", msg);
}

static int nway_host_fire_event(const char *subclass, const char *const *headers, int nheaders, const char *body)
{
	switch_event_t *event = NULL;
	int i;

	if (switch_event_create_subclass(&event, SWITCH_EVENT_CUSTOM, zstr(subclass) ? NWAYACD_EVENT_SUBCLASS : subclass) != SWITCH_STATUS_SUCCESS) {
		return -1;
	}
	for (i = 0; i < nheaders; i++) {
		if (!zstr(headers[2 * i])) {
			switch_event_add_header_string(event, SWITCH_STACK_BOTTOM, headers[2 * i], headers[2 * i + 1] ? headers[2 * i + 1] : "");
		}
	}
	if (!zstr(body)) {
		switch_event_add_body(event, "%s", body);
	}
	/* no loan (nw_sched_lend): the switch starts an event dispatcher from
	   a firing thread only past 10,000 queued events a dispatcher, and this
	   runs for every published message, where a loan's ~5 us would cost
	   more than that rare thread is worth */
	switch_event_fire(&event);
	return 0;
}

/* A caller left ringing (nway_quiet_wait) sleeps on this condition, kept as
 * a channel private for nway_host_wake to find; from the session's pool. */
typedef struct {
	switch_mutex_t *mutex;
	switch_thread_cond_t *cond;
} nway_quiet_t;

#define NWAY_QUIET_PRIVATE "nwayacd_quiet"

/* Wakes a caller waiting in nway_do_wait: CF_BREAK ends its playback or
 * sleep at the loop's next check, and SWITCH_SIG_BREAK cuts the blocking
 * frame read short so that check comes now, not at the next frame.  Never
 * blocks: switch_core_session_locate only try-locks the session. */
static int nway_host_wake(const char *uuid)
{
	switch_core_session_t *session;
	switch_channel_t *channel;
	nway_quiet_t *q;

	if (!globals.running || zstr(uuid) || !(session = switch_core_session_locate(uuid))) {
		return -1;
	}
	channel = switch_core_session_get_channel(session);
	switch_channel_set_flag(channel, CF_BREAK);
	if ((q = switch_channel_get_private(channel, NWAY_QUIET_PRIVATE))) {
		/* a caller left ringing reads no frames: wake its condition (under
		   its mutex, so a waiter between its CF_BREAK check and its wait
		   cannot miss it) */
		switch_mutex_lock(q->mutex);
		switch_thread_cond_signal(q->cond);
		switch_mutex_unlock(q->mutex);
	}
	switch_core_session_kill_channel(session, SWITCH_SIG_BREAK);
	switch_core_session_rwunlock(session);
	return 0;
}

static void nway_job_unref(nway_job_t *job)
{
	int last;

	switch_mutex_lock(globals.job_mutex);
	last = --job->refs == 0;
	switch_mutex_unlock(globals.job_mutex);
	if (last) {
		free(job);
	}
}

/* Takes the job of the caller uuid out of the table: the caller (its
 * session) now holds the table's reference.  NULL when there is none. */
static nway_job_t *nway_job_take(const char *uuid)
{
	nway_job_t *job = NULL;
	int i;

	switch_mutex_lock(globals.job_mutex);
	for (i = 0; i < NWAY_MAX_JOBS; i++) {
		if (globals.jobs[i] && !strcmp(globals.jobs[i]->uuid, uuid)) {
			job = globals.jobs[i];
			globals.jobs[i] = NULL;
			break;
		}
	}
	switch_mutex_unlock(globals.job_mutex);
	return job;
}

/* The session gives its job up (the caller left, or never came for it): a
 * ringing originate is cancelled, an answered leg is hung up by the job
 * thread. */
static void nway_job_abandon(nway_job_t *job)
{
	switch_mutex_lock(globals.job_mutex);
	job->abandoned = 1;
	if (!job->done) {
		job->cancel_cause = SWITCH_CAUSE_ORIGINATOR_CANCEL;
	}
	switch_thread_cond_broadcast(globals.job_cond);
	switch_mutex_unlock(globals.job_mutex);
	nway_job_unref(job);
}

static void *SWITCH_THREAD_FUNC nway_job_run(switch_thread_t *thread, void *obj)
{
	nway_job_t *job = (nway_job_t *) obj;
	const nwayacd_directive_t *d = &job->d;
	switch_core_session_t *peer = NULL;
	switch_call_cause_t cause = SWITCH_CAUSE_NONE;
	switch_event_t *ovars = NULL;
	switch_status_t status;
	uint32_t timelimit = d->timeout_ms > 0 ? (uint32_t) (d->timeout_ms + 999) / 1000 : 0;
	int claimed, i;

	(void) thread;
	/* plain: every header becomes a variable of the agent's channel, which
	   the switch scans on each media frame (switch_core_session_get_partner) */
	switch_event_create_plain(&ovars, SWITCH_EVENT_CHANNEL_DATA);
	if (ovars) {
		switch_event_add_header_string(ovars, SWITCH_STACK_BOTTOM, "nwayacd_call", job->uuid);
		switch_event_add_header_string(ovars, SWITCH_STACK_BOTTOM, "nwayacd_agent", d->agent);
	}
	/* no a-leg: the caller's own thread keeps its music going meanwhile, and
	   cancel_cause stands in for the caller's hang-up */
	status = switch_ivr_originate(NULL, &peer, &cause, d->dial, timelimit, NULL,
								  zstr(job->caller_name) ? NULL : job->caller_name,
								  zstr(d->caller_number) ? NULL : d->caller_number, NULL, ovars, SOF_NONE, &job->cancel_cause, NULL);
	if (ovars) {
		switch_event_destroy(&ovars);
	}
	if (status != SWITCH_STATUS_SUCCESS && peer) {
		switch_core_session_rwunlock(peer);
		peer = NULL;
	}

	switch_mutex_lock(globals.job_mutex);
	job->done = 1;
	job->cause = job->cancel_cause ? job->cancel_cause : cause;
	if (peer) {
		job->answered = 1;
		switch_copy_string(job->peer_uuid, switch_core_session_get_uuid(peer), sizeof(job->peer_uuid));
	}
	switch_thread_cond_broadcast(globals.job_cond);
	switch_mutex_unlock(globals.job_mutex);
	nway_host_wake(job->uuid);	/* the caller's session asks for the result now */

	if (peer) {
		/* hold the answered leg until the session has its own lock on it;
		   a session that never comes (gone, or stuck past 10 s) loses it */
		switch_mutex_lock(globals.job_mutex);
		for (i = 0; i < 100 && !job->claimed && !job->abandoned; i++) {
			switch_thread_cond_timedwait(globals.job_cond, globals.job_mutex, 100000);
		}
		claimed = job->claimed;
		switch_mutex_unlock(globals.job_mutex);
		if (!claimed) {
			switch_channel_hangup(switch_core_session_get_channel(peer), SWITCH_CAUSE_ORIGINATOR_CANCEL);
		}
		switch_core_session_rwunlock(peer);
	}

	switch_mutex_lock(globals.job_mutex);
	globals.job_threads--;
	switch_thread_cond_broadcast(globals.job_cond);
	switch_mutex_unlock(globals.job_mutex);
	nway_job_unref(job);
	return NULL;
}

/* Starts offer d of the waiting caller uuid on a pool thread now.  Never
 * blocks: the originate runs on that thread.  -1 (Go lets the session
 * originate itself) when the module is stopping, the caller is gone, it
 * has a job already or NWAY_MAX_JOBS are running. */
static int nway_host_offer(const char *uuid, const nwayacd_directive_t *d)
{
	switch_core_session_t *session;
	switch_caller_profile_t *cp;
	switch_thread_data_t *td, *tdp;
	nway_job_t *job;
	switch_status_t launched;
	int i, loan, slot = -1;

	if (!globals.running || zstr(uuid) || !d || zstr(d->dial) || strlen(uuid) >= SWITCH_UUID_FORMATTED_LENGTH + 1) {
		return -1;
	}
	if (!(job = calloc(1, sizeof(*job)))) {
		return -1;
	}
	switch_copy_string(job->uuid, uuid, sizeof(job->uuid));
	memcpy(&job->d, d, sizeof(job->d));
	if (!(session = switch_core_session_locate(uuid))) {
		free(job);
		return -1;
	}
	/* what originate would have taken from the a-leg's caller profile */
	cp = switch_channel_get_caller_profile(switch_core_session_get_channel(session));
	if (cp && !zstr(cp->caller_id_name)) {
		switch_copy_string(job->caller_name, cp->caller_id_name, sizeof(job->caller_name));
	}
	switch_core_session_rwunlock(session);

	switch_mutex_lock(globals.job_mutex);
	for (i = 0; i < NWAY_MAX_JOBS; i++) {
		if (globals.jobs[i] && !strcmp(globals.jobs[i]->uuid, uuid)) {
			slot = -1;
			break;
		}
		if (!globals.jobs[i] && slot < 0) {
			slot = i;
		}
	}
	if (slot < 0 || globals.job_threads >= NWAY_MAX_JOBS || !(td = calloc(1, sizeof(*td)))) {
		switch_mutex_unlock(globals.job_mutex);
		free(job);
		return -1;
	}
	job->refs = 2;
	globals.jobs[slot] = job;
	globals.job_threads++;
	switch_mutex_unlock(globals.job_mutex);

	td->func = nway_job_run;
	td->obj = job;
	td->alloc = 1;	/* the pool frees td */
	tdp = td;
	loan = nw_sched_lend();	/* the pool may grow a worker from this thread */
	launched = switch_thread_pool_launch_thread(&tdp);
	nw_sched_unlend(loan);
	if (launched != SWITCH_STATUS_SUCCESS) {
		/* not started: undo as the thread would have */
		free(td);
		if ((job = nway_job_take(uuid))) {
			switch_mutex_lock(globals.job_mutex);
			globals.job_threads--;
			switch_mutex_unlock(globals.job_mutex);
			free(job);
		}
		return -1;
	}
	return 0;
}

static const nwayacd_host_t nway_host = {
	NWAYACD_ABI_VERSION,
	nway_host_api,
	nway_host_log,
	nway_host_fire_event,
	nway_host_wake,
	nway_host_offer
};

/* ------------------------------------------------------------------------ */
/* API commands: one tiny function per command, all forwarding to Go        */

static char *nway_reload(void)
{
	nway_params_t p;
	char *reply;

	nway_read_config(&p);
	reply = nwayacd_reload((const char *const *) p.kv, p.n);
	nway_params_free(&p);
	return reply;
}

static switch_status_t nway_run_api(const char *name, const char *cmd, switch_stream_handle_t *stream)
{
	char *reply;
	size_t len;

	if (!globals.running) {
		stream->write_function(stream, "-ERR mod_nwayacd is not running\n");
		return SWITCH_STATUS_SUCCESS;
	}

	/* `nwayacd reload` re-reads the XML here, then hands the params to Go */
	{
		NWAY_GO_FIRST(first);
		if (!strcmp(name, "nwayacd") && cmd && !strcasecmp(cmd, "reload")) {
			reply = nway_reload();
		} else {
			reply = nwayacd_api(name, cmd ? cmd : "");
		}
		NWAY_GO_DONE(first);
	}

	if (!reply) {
		stream->write_function(stream, "-ERR out of memory\n");
		return SWITCH_STATUS_SUCCESS;
	}
	len = strlen(reply);
	stream->write_function(stream, "%s%s", reply, (len && reply[len - 1] == '\n') ? "" : "\n");
	free(reply);
	return SWITCH_STATUS_SUCCESS;
}

#define NWAY_DEFINE_API(fn, cmdname, syntax, desc) \
	SWITCH_STANDARD_API(fn##_api_function) \
	{ \
		(void) session; \
		return nway_run_api(cmdname, cmd, stream); \
	}

NWAYACD_API_COMMANDS(NWAY_DEFINE_API)

/* fs_cli tab completion of extension and group arguments (the lists named
 * in the completion lines of nwayacd_commands.h). */
static switch_status_t nway_complete_names(const char *list, switch_console_callback_match_t **matches)
{
	switch_console_callback_match_t *my_matches = NULL;
	char *names, *name, *save = NULL;

	if (!globals.running) {
		return SWITCH_STATUS_FALSE;
	} else {
		NWAY_GO_FIRST(first);
		names = nwayacd_names(list);
		NWAY_GO_DONE(first);
		if (!names) {
			return SWITCH_STATUS_FALSE;
		}
	}
	for (name = strtok_r(names, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		switch_console_push_match(&my_matches, name);
	}
	free(names);
	if (!my_matches) {
		return SWITCH_STATUS_FALSE;
	}
	*matches = my_matches;
	return SWITCH_STATUS_SUCCESS;
}

static switch_status_t nway_list_exts_complete(const char *line, const char *cursor, switch_console_callback_match_t **matches)
{
	(void) line;
	(void) cursor;
	return nway_complete_names("extensions", matches);
}

static switch_status_t nway_list_groups_complete(const char *line, const char *cursor, switch_console_callback_match_t **matches)
{
	(void) line;
	(void) cursor;
	return nway_complete_names("groups", matches);
}

/* ------------------------------------------------------------------------ */
/* Events: copy what Go needs into one block and hand it over               */

/* The headers the handler reads. A channel event carries ~200 (every
 * channel variable); switch_event_get_header walks them all for each name,
 * ~30 walks an event. Instead the names are hashed once, at load, with the
 * switch's own case-insensitive hash, which every header carries: one walk
 * finds them all. */
#define NWAY_HEADERS(X) \
	X(H_UNIQUE_ID, "Unique-ID") \
	X(H_OTHER_LEG, "Other-Leg-Unique-ID") \
	X(H_BRIDGE_UUID, "variable_bridge_uuid") \
	X(H_DIRECTION, "Call-Direction") \
	X(H_CALLER_NUMBER, "Caller-Caller-ID-Number") \
	X(H_DEST_NUMBER, "Caller-Destination-Number") \
	X(H_DTMF, "DTMF-Digit") \
	X(H_GATEWAY, "variable_sip_gateway_name") \
	X(H_ORIG_CALLER, "Caller-Orig-Caller-ID-Number") \
	X(H_NWAY_DEST, "variable_nwayacd_dest") \
	X(H_SIP_TO_USER, "variable_sip_to_user") \
	X(H_HANGUP_CAUSE, "Hangup-Cause") \
	X(H_SIP_DISPOSITION, "variable_sip_hangup_disposition") \
	X(H_NWAY_RECORD, "variable_nwayacd_record_file") \
	X(H_RECORD, "variable_record_file") \
	X(H_CREATED, "Caller-Channel-Created-Time") \
	X(H_ANSWERED, "Caller-Channel-Answered-Time") \
	X(H_HANGUP_TIME, "Caller-Channel-Hangup-Time") \
	X(H_NWAY_CALL, "variable_nwayacd_call") \
	X(H_FROM_USER, "from-user") \
	X(H_USERNAME, "username") \
	X(H_USER, "user") \
	X(H_FROM_HOST, "from-host") \
	X(H_REALM, "realm") \
	X(H_HOST, "host") \
	X(H_SIP_AUTHORIZED, "variable_sip_authorized") \
	X(H_SIP_AUTH_USER, "variable_sip_auth_username") \
	X(H_USER_NAME, "variable_user_name") \
	X(H_DIALED_USER, "variable_dialed_user") \
	X(H_DOMAIN_NAME, "variable_domain_name")

#define NWAY_HEADER_ENUM(id, name) id,
#define NWAY_HEADER_NAME(id, name) name,
enum { NWAY_HEADERS(NWAY_HEADER_ENUM) NWAY_HEADER_COUNT };
static const char *const nway_header_names[NWAY_HEADER_COUNT] = { NWAY_HEADERS(NWAY_HEADER_NAME) };
static unsigned long nway_header_hash[NWAY_HEADER_COUNT];

/* An open-addressing table from a header's hash to the names with it: one
 * probe per header of the event. Slots hold index + 1 (0: empty). */
#define NWAY_HEADER_SLOTS 128
static uint8_t nway_header_slot[NWAY_HEADER_SLOTS];

static void nway_headers_init(void)
{
	int i;

	memset(nway_header_slot, 0, sizeof(nway_header_slot));
	for (i = 0; i < NWAY_HEADER_COUNT; i++) {
		switch_ssize_t klen = -1;	/* APR_HASH_KEY_STRING: up to the NUL */
		unsigned long k;

		nway_header_hash[i] = switch_ci_hashfunc_default(nway_header_names[i], &klen);
		for (k = nway_header_hash[i] % NWAY_HEADER_SLOTS; nway_header_slot[k]; k = (k + 1) % NWAY_HEADER_SLOTS);
		nway_header_slot[k] = (uint8_t) (i + 1);
	}
}

/* nway_header_take sets h[i] to hp's value when hp is the first header
 * named as name i. */
static int nway_header_take(const switch_event_header_t *hp, int i, const char *h[NWAY_HEADER_COUNT])
{
	if (h[i] || strcasecmp(hp->name, nway_header_names[i])) {
		return 0;
	}
	h[i] = hp->value;
	return 1;
}

/* nway_headers fills h with the value of each header the handler reads
 * (NULL when absent): the first header of that name, as
 * switch_event_get_header gives it. */
static void nway_headers(switch_event_t *event, const char *h[NWAY_HEADER_COUNT])
{
	switch_event_header_t *hp;
	int i, left = NWAY_HEADER_COUNT;
	unsigned long k;

	memset((void *) h, 0, sizeof(h[0]) * NWAY_HEADER_COUNT);
	for (hp = event->headers; hp && left; hp = hp->next) {
		if (!hp->hash) {
			/* a header without a hash is compared by name, as the switch does */
			for (i = 0; i < NWAY_HEADER_COUNT; i++) {
				if (nway_header_take(hp, i, h)) {
					left--;
					break;
				}
			}
			continue;
		}
		for (k = hp->hash % NWAY_HEADER_SLOTS; nway_header_slot[k]; k = (k + 1) % NWAY_HEADER_SLOTS) {
			i = nway_header_slot[k] - 1;
			if (nway_header_hash[i] == hp->hash && nway_header_take(hp, i, h)) {
				left--;
				break;
			}
		}
	}
}

static const char *nway_either(const char *a, const char *b)
{
	return zstr(a) ? b : a;
}

static void nway_event_handler(switch_event_t *event)
{
	const char *h[NWAY_HEADER_COUNT];
	const char *v[NWAYACD_EF_COUNT];
	uint32_t len[NWAYACD_EF_COUNT];
	size_t total = sizeof(nwayacd_event_t);
	nwayacd_event_t *ev;
	char *p;
	int kind = (int) (intptr_t) event->bind_user_data;
	int i;

	if (!globals.running) {
		return;
	}

	nway_headers(event, h);
	v[NWAYACD_EF_UUID] = h[H_UNIQUE_ID];
	v[NWAYACD_EF_OTHER_UUID] = nway_either(h[H_OTHER_LEG], h[H_BRIDGE_UUID]);
	v[NWAYACD_EF_DIRECTION] = h[H_DIRECTION];
	v[NWAYACD_EF_CALLER_NUMBER] = h[H_CALLER_NUMBER];
	v[NWAYACD_EF_DEST_NUMBER] = h[H_DEST_NUMBER];
	v[NWAYACD_EF_DTMF] = h[H_DTMF];
	v[NWAYACD_EF_GATEWAY] = h[H_GATEWAY];
	v[NWAYACD_EF_ORIG_CALLER] = h[H_ORIG_CALLER];
	v[NWAYACD_EF_ORIG_DEST] = nway_either(h[H_NWAY_DEST], h[H_SIP_TO_USER]);
	v[NWAYACD_EF_HANGUP_CAUSE] = h[H_HANGUP_CAUSE];
	v[NWAYACD_EF_SIP_DISPOSITION] = h[H_SIP_DISPOSITION];
	v[NWAYACD_EF_RECORD_FILE] = nway_either(h[H_NWAY_RECORD], h[H_RECORD]);
	v[NWAYACD_EF_START_USEC] = h[H_CREATED];
	v[NWAYACD_EF_ANSWER_USEC] = h[H_ANSWERED];
	v[NWAYACD_EF_END_USEC] = h[H_HANGUP_TIME];
	v[NWAYACD_EF_NWAY_CALL] = h[H_NWAY_CALL];
	if (event->event_id == SWITCH_EVENT_CUSTOM) {
		/* sofia::register / unregister / expire name the user differently */
		v[NWAYACD_EF_USER] = nway_either(nway_either(h[H_FROM_USER], h[H_USERNAME]), h[H_USER]);
		v[NWAYACD_EF_DOMAIN] = nway_either(nway_either(h[H_FROM_HOST], h[H_REALM]), h[H_HOST]);
	} else {
		/* The extension a channel belongs to, for call control by extension:
		   the SIP user a phone authenticated as, or the user a user/ dial
		   string reached. Never the caller ID: the far end sets that. */
		const char *authorized = h[H_SIP_AUTHORIZED];

		v[NWAYACD_EF_USER] = NULL;
		if (!zstr(authorized) && !strcasecmp(authorized, "true")) {
			v[NWAYACD_EF_USER] = nway_either(h[H_SIP_AUTH_USER], h[H_USER_NAME]);
		} else if (!zstr(v[NWAYACD_EF_DIRECTION]) && !strcasecmp(v[NWAYACD_EF_DIRECTION], "outbound")) {
			v[NWAYACD_EF_USER] = h[H_DIALED_USER];
		}
		v[NWAYACD_EF_DOMAIN] = h[H_DOMAIN_NAME];
	}

	for (i = 0; i < NWAYACD_EF_COUNT; i++) {
		len[i] = v[i] ? (uint32_t) strlen(v[i]) : 0;
		total += len[i] + 1;
	}
	if (!(ev = nwayacd_event_alloc(total))) {
		return;
	}
	ev->kind = kind;
	p = (char *) (ev + 1);
	for (i = 0; i < NWAYACD_EF_COUNT; i++) {
		ev->f[i] = p;
		ev->len[i] = len[i];
		if (len[i]) {
			memcpy(p, v[i], len[i]);
		}
		p[len[i]] = '\0';
		p += len[i] + 1;
	}
	nwayacd_channel_event(ev);	/* Go owns ev now */
}

#define NWAY_BINDING(event, subclass, kind) { event, subclass, kind },

static const struct {
	switch_event_types_t id;
	const char *subclass;
	int kind;	/* go/session EventKind, stamped on each block */
} nway_bindings[] = {
	NWAYACD_EVENT_BINDINGS(NWAY_BINDING)
};

static switch_status_t nway_bind_events(void)
{
	size_t i;

	for (i = 0; i < sizeof(nway_bindings) / sizeof(nway_bindings[0]); i++) {
		/* user data is the go/session EventKind the handler stamps */
		if (switch_event_bind(modname, nway_bindings[i].id, nway_bindings[i].subclass ? nway_bindings[i].subclass : SWITCH_EVENT_SUBCLASS_ANY,
							  nway_event_handler, (void *) (intptr_t) nway_bindings[i].kind) != SWITCH_STATUS_SUCCESS) {
			switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "Couldn't bind event %d %s\n", (int) nway_bindings[i].id,
							  nway_bindings[i].subclass ? nway_bindings[i].subclass : "");
			switch_event_unbind_callback(nway_event_handler);
			return SWITCH_STATUS_GENERR;
		}
	}
	return SWITCH_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Applications: the session protocol                                        */

typedef struct {
	switch_time_t deadline;	/* 0: none */
	int timed_out;
	nway_job_t *job;	/* waiting for this job's originate to end; NULL: for a wake */
} nway_wait_t;

static int nway_job_done(nway_job_t *job)
{
	int done;

	switch_mutex_lock(globals.job_mutex);
	done = job->done;
	switch_mutex_unlock(globals.job_mutex);
	return done;
}

static switch_status_t nway_wait_frame(switch_core_session_t *session, switch_frame_t *frame, void *user_data)
{
	nway_wait_t *w = (nway_wait_t *) user_data;

	(void) session;
	(void) frame;
	if (w->deadline && switch_micro_time_now() >= w->deadline) {
		w->timed_out = 1;
		return SWITCH_STATUS_FALSE;
	}
	if (w->job && nway_job_done(w->job)) {
		return SWITCH_STATUS_FALSE;
	}
	return SWITCH_STATUS_SUCCESS;
}

static switch_status_t nway_wait_input(switch_core_session_t *session, void *input, switch_input_type_t input_type, void *buf, unsigned int buflen)
{
	/* DTMF reaches Go as events; the music keeps playing */
	(void) session;
	(void) input;
	(void) input_type;
	(void) buf;
	(void) buflen;
	return SWITCH_STATUS_SUCCESS;
}

/* Waits with no media until until, woken (SWITCH_STATUS_BREAK), the job's
 * end, the caller's hang-up or w's deadline.  The caller hears its own
 * network's ringback; the thread sleeps on a condition instead of reading a
 * frame every 20 ms, so a caller left ringing costs the switch nothing while
 * it waits.  A hang-up signals nothing here: the 100 ms tick notices it. */
static switch_status_t nway_quiet_wait(switch_core_session_t *session, nway_wait_t *w, switch_time_t until)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	switch_status_t status = SWITCH_STATUS_SUCCESS;
	nway_quiet_t *q = switch_channel_get_private(channel, NWAY_QUIET_PRIVATE);

	if (!q) {
		switch_memory_pool_t *pool = switch_core_session_get_pool(session);

		if (!(q = switch_core_session_alloc(session, sizeof(*q))) ||
			switch_mutex_init(&q->mutex, SWITCH_MUTEX_NESTED, pool) != SWITCH_STATUS_SUCCESS ||
			switch_thread_cond_create(&q->cond, pool) != SWITCH_STATUS_SUCCESS) {
			return SWITCH_STATUS_FALSE;
		}
		switch_channel_set_private(channel, NWAY_QUIET_PRIVATE, q);
	}
	if (!switch_channel_test_flag(channel, CF_RING_READY)) {
		switch_channel_ring_ready(channel);	/* 180: the caller hears ringback */
	}

	switch_mutex_lock(q->mutex);
	while (switch_channel_ready(channel)) {
		switch_time_t now, end = until;

		/* what a media loop would run meanwhile (uuid_broadcast, an ESL
		   execute) runs now, not once the caller is answered */
		switch_mutex_unlock(q->mutex);
		switch_ivr_parse_all_events(session);
		switch_mutex_lock(q->mutex);
		now = switch_micro_time_now();
		if (switch_channel_test_flag(channel, CF_BREAK)) {
			switch_channel_clear_flag(channel, CF_BREAK);
			status = SWITCH_STATUS_BREAK;
			break;
		}
		if (w->job && nway_job_done(w->job)) {
			break;
		}
		if (w->deadline && now >= w->deadline) {
			w->timed_out = 1;
			break;
		}
		if (now >= until) {
			break;
		}
		if (w->deadline && w->deadline < end) {
			end = w->deadline;
		}
		switch_thread_cond_timedwait(q->cond, q->mutex, end - now < 100000 ? end - now : 100000);
	}
	switch_mutex_unlock(q->mutex);
	return status;
}

/* Music until woken (nway_host_wake or uuid_break: SWITCH_STATUS_BREAK) or
 * the deadline; with a job, until its originate has ended (wakes alone do
 * not end that wait, and the directive's deadline and loops do not apply). */
static void nway_do_wait(switch_core_session_t *session, const nwayacd_directive_t *d, nway_job_t *job)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	switch_input_args_t args = { 0 };
	nway_wait_t w = { 0 };
	int silent = zstr(d->file);
	int plays = 0;
	switch_time_t ring_until = 0;

	w.job = job;

	/* A caller with no media yet may be left ringing (group option
	   ring_wait): no answer, no frames, until ring_ms after it came in;
	   then it is answered and hears the music. */
	if (d->ring_ms > 0 && !switch_channel_test_flag(channel, CF_ANSWERED) && !switch_channel_media_ready(channel)) {
		switch_channel_timetable_t *tt = switch_channel_get_timetable(channel);

		if (tt && tt->created) {
			ring_until = tt->created + (switch_time_t) d->ring_ms * 1000;
		}
	}
	/* otherwise a queued caller is answered (the CDR's a_answer_stamp), then hears music */
	if (!ring_until && !switch_channel_test_flag(channel, CF_ANSWERED)) {
		switch_channel_answer(channel);
	}
	if (d->timeout_ms > 0 && !job) {
		w.deadline = switch_micro_time_now() + (switch_time_t) d->timeout_ms * 1000;
	}
	args.input_callback = nway_wait_input;
	args.read_frame_callback = nway_wait_frame;
	args.user_data = &w;

	while (switch_channel_ready(channel) && !w.timed_out) {
		switch_status_t status;
		switch_time_t started = switch_micro_time_now();

		if (job && nway_job_done(job)) {
			break;
		}

		if (ring_until && started >= ring_until) {
			ring_until = 0;
			switch_channel_answer(channel);	/* rung ring_ms: answered, it hears the music */
		}
		if (ring_until) {
			status = nway_quiet_wait(session, &w, ring_until);
			if (status == SWITCH_STATUS_FALSE) {
				ring_until = 0;	/* no condition to sleep on: answer and wait as before */
				switch_channel_answer(channel);
				continue;
			}
			if (status != SWITCH_STATUS_BREAK) {
				continue;	/* rung out (or ended): ringing is no play of the busy ring */
			}
		} else if (silent) {
			uint32_t ms = 1000;

			if (w.deadline) {
				switch_time_t left = (w.deadline - started) / 1000;

				if (left <= 0) {
					break;
				}
				if (left < (switch_time_t) ms) {
					ms = (uint32_t) left;
				}
			}
			status = switch_ivr_sleep(session, ms, SWITCH_TRUE, &args);
		} else {
			status = switch_ivr_play_file(session, NULL, d->file, &args);
			if (status != SWITCH_STATUS_BREAK && !w.timed_out && switch_micro_time_now() - started < 100000) {
				/* missing or empty file: wait in silence rather than spin */
				switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING, "Cannot play %s, waiting in silence\n", d->file);
				silent = 1;
			}
		}
		if (job) {
			switch_channel_clear_flag(channel, CF_BREAK);	/* only the job's end counts */
			continue;
		}
		if (status == SWITCH_STATUS_BREAK) {
			break;	/* woken: ask Go what now */
		}
		if (w.deadline && switch_micro_time_now() >= w.deadline) {
			break;
		}
		if (!silent && d->loops > 0 && ++plays >= d->loops) {
			break;	/* Go counts the busy ring's plays (give up after N) */
		}
	}
}

static void nway_do_play(switch_core_session_t *session, const nwayacd_directive_t *d)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	switch_input_args_t args = { 0 };
	int i, loops = d->loops > 0 ? d->loops : 1;

	/* The switch fires a DTMF event only when a digit is dequeued, and a
	   playback without input args leaves digits queued: an exit or callback
	   key pressed during a welcome or an announcement never reached Go.
	   Dequeued here, they go to Go, which wakes the session (CF_BREAK) when
	   a key ends the wait; otherwise the prompt plays on. */
	args.input_callback = nway_wait_input;

	if (!switch_channel_test_flag(channel, CF_ANSWERED)) {
		switch_channel_answer(channel);
	}
	if (zstr(d->file)) {
		return;
	}
	for (i = 0; i < loops && switch_channel_ready(channel); i++) {
		if (switch_ivr_play_file(session, NULL, d->file, &args) == SWITCH_STATUS_BREAK) {
			break;
		}
	}
}

static void nway_do_offer(switch_core_session_t *session, const nwayacd_directive_t *d)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *uuid = switch_core_session_get_uuid(session);
	switch_core_session_t *peer = NULL;
	switch_call_cause_t cause = SWITCH_CAUSE_NONE;
	switch_event_t *ovars = NULL;
	switch_status_t status = SWITCH_STATUS_FALSE;
	nwayacd_offer_result_t r = { 0 };
	uint32_t timelimit = d->timeout_ms > 0 ? (uint32_t) (d->timeout_ms + 999) / 1000 : 0;
	int set_ringback = 0;
	nway_job_t *job;

	switch_event_create_plain(&ovars, SWITCH_EVENT_CHANNEL_DATA);	/* as in nway_job_run */
	if (ovars) {
		switch_event_add_header_string(ovars, SWITCH_STACK_BOTTOM, "nwayacd_call", uuid);
		switch_event_add_header_string(ovars, SWITCH_STACK_BOTTOM, "nwayacd_agent", d->agent);
	}

	/* originate and the bridge never look at CF_BREAK: a wake left over from
	   before would cut the music after this offer short */
	switch_channel_clear_flag(channel, CF_BREAK);
	if ((job = nway_job_take(uuid)) && strcmp(job->d.dial, d->dial)) {
		nway_job_abandon(job);	/* started for another offer (taken back since): not this one */
		job = NULL;
	}
	if (job) {
		/* Go started this offer already (nway_host_offer): the queue's
		   music plays on until it ends, then take the answered leg */
		nway_do_wait(session, d, job);
		switch_mutex_lock(globals.job_mutex);
		if (job->done) {
			cause = job->cause;
			if (job->answered && switch_channel_ready(channel) && (peer = switch_core_session_locate(job->peer_uuid))) {
				job->claimed = 1;
				status = SWITCH_STATUS_SUCCESS;
			}
		} else {
			cause = SWITCH_CAUSE_ORIGINATOR_CANCEL;	/* the caller left while it rang */
		}
		switch_mutex_unlock(globals.job_mutex);
		nway_job_abandon(job);	/* the job thread lets go of the leg, or hangs it up if unclaimed */
		switch_channel_clear_flag(channel, CF_BREAK);
	} else {
		/* an answered caller hears transfer_ringback while the agent rings, else
		   silence: keep the queue's music going unless the dialplan chose one */
		if (!zstr(d->file) && !switch_channel_get_variable(channel, "transfer_ringback")) {
			switch_channel_set_variable(channel, "transfer_ringback", d->file);
			set_ringback = 1;
		}
		/* the session is the a-leg: if the caller hangs up, the originate is cancelled */
		status = switch_ivr_originate(session, &peer, &cause, d->dial, timelimit, NULL, NULL,
									  zstr(d->caller_number) ? NULL : d->caller_number, NULL, ovars, SOF_NONE, NULL, NULL);
		if (set_ringback) {
			switch_channel_set_variable(channel, "transfer_ringback", NULL);
		}
	}
	if (ovars) {
		switch_event_destroy(&ovars);
	}

	r.uuid = uuid;
	r.agent = d->agent;
	if (status == SWITCH_STATUS_SUCCESS && peer) {
		const char *winner = switch_channel_get_variable(switch_core_session_get_channel(peer), "nwayacd_agent");

		/* ring-all: the leg that answered names its own agent ([nwayacd_agent=…]) */
		if (zstr(winner)) {
			winner = d->agent;
		}
		r.answered = 1;
		r.agent = winner;
		r.agent_uuid = switch_core_session_get_uuid(peer);
		r.cause = "SUCCESS";
		r.idle_cpu = -1;
		nwayacd_offer_result(&r);
		/* with hangup_after_bridge=true the caller never gets back here:
		   say now who answered (Done repeats it when it does) */
		switch_channel_set_variable(channel, "nwayacd_agent", winner);
		switch_channel_set_variable(channel, "nwayacd_result", "answered");
		if (!switch_channel_test_flag(channel, CF_ANSWERED)) {
			switch_channel_answer(channel);
		}
		switch_ivr_multi_threaded_bridge(session, peer, NULL, NULL, NULL);
		switch_core_session_rwunlock(peer);
		if (switch_channel_test_flag(channel, CF_TRANSFER)) {
			/* moved on (a phone's REFER, uuid_transfer): Go keeps the call's
			   books until the channel ends, wherever it goes */
			switch_caller_profile_t *cp = switch_channel_get_caller_profile(channel);

			nwayacd_transferring(uuid, cp && cp->destination_number ? cp->destination_number : "");
		}
		nwayacd_bridge_ended(uuid);
		return;
	}
	if (peer) {
		switch_core_session_rwunlock(peer);
	}
	r.agent_uuid = "";	/* Go named the leg in the dial string (origination_uuid) and knows it */
	r.caller_gone = !switch_channel_ready(channel);
	r.cause = switch_channel_cause2str(cause);
	r.idle_cpu = switch_core_idle_cpu();	/* no-answer-idle-cpu */
	nwayacd_offer_result(&r);
}

static void nway_set_vars(switch_channel_t *channel, const nwayacd_directive_t *d)
{
	int i;

	for (i = 0; i < d->nvars && i < NWAYACD_MAX_VARS; i++) {
		switch_channel_set_variable(channel, d->var_name[i], d->var_value[i]);
	}
}

/* An application of NWAYACD_APPLICATIONS. */
typedef struct {
	const char *name;
	int kind;			/* nwayacd_kind_t */
	int words;			/* arguments required */
	const char *syntax;
} nway_app_t;

#define NWAY_MAX_WORDS 4

/* Fills call from the channel and the application's words (split in buf);
 * logs the usage and returns -1 when words are missing. */
static int nway_read_call(switch_core_session_t *session, const nway_app_t *app, char *buf, nwayacd_call_t *call)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	switch_caller_profile_t *profile = switch_channel_get_caller_profile(channel);
	const char *level = switch_channel_get_variable(channel, "nwayacd_level");
	const char *skills = switch_channel_get_variable(channel, "nwayacd_skills");
	char *argv[NWAY_MAX_WORDS] = { 0 }, *save = NULL, *tok;
	int argc = 0;

	for (tok = buf ? strtok_r(buf, " \t", &save) : NULL; tok && argc < NWAY_MAX_WORDS; tok = strtok_r(NULL, " \t", &save)) {
		argv[argc++] = tok;
	}
	if (argc < app->words) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_ERROR, "-ERR usage: %s %s\n", app->name, app->syntax);
		return -1;
	}

	call->kind = app->kind;
	call->uuid = switch_core_session_get_uuid(session);
	call->caller_number = profile ? profile->caller_id_number : "";
	call->caller_name = profile ? profile->caller_id_name : "";
	call->dest_number = profile ? profile->destination_number : "";
	call->level = level ? level : "";
	call->skills = skills ? skills : "";	/* parsed (and bad input logged) on the Go side */
	call->idle_cpu = switch_core_idle_cpu();	/* admission control (overload-idle-cpu) */
	switch (app->kind) {
	case NWAYACD_KIND_QUEUE:
		call->group = argv[0];
		break;
	case NWAYACD_KIND_CALLOUT:
		call->target = argv[0];
		call->gateway = argv[1];
		call->group = argv[2];
		break;
	default:
		call->target = argv[0];
		break;
	}
	return 0;
}

/* Carries out one directive; returns 1 when the application is done. */
static int nway_step(switch_core_session_t *session, const nwayacd_directive_t *d)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);

	nway_set_vars(channel, d);
	switch (d->action) {
	case NWAYACD_WAIT:
		nway_do_wait(session, d, NULL);
		return 0;
	case NWAYACD_PLAY:
		nway_do_play(session, d);
		return 0;
	case NWAYACD_OFFER:
		nway_do_offer(session, d);
		return 0;
	case NWAYACD_HANGUP:
		if (!zstr(d->file) && switch_channel_ready(channel)) {
			switch_ivr_play_file(session, NULL, d->file, NULL);
		}
		switch_channel_hangup(channel, zstr(d->cause) ? SWITCH_CAUSE_NORMAL_CLEARING : switch_channel_str2cause(d->cause));
		return 1;
	case NWAYACD_DONE:
		/* a wake that came too late must not cut the dialplan's next prompt */
		switch_channel_clear_flag(channel, CF_BREAK);
		return 1;
	default:
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_ERROR, "Unknown directive %d\n", d->action);
		return 1;
	}
}

/* The session protocol: enter, then one directive after another until Go
 * says done or the caller is gone; leave exactly once. */
static void nway_run_session(switch_core_session_t *session, const nway_app_t *app, const char *data)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *uuid = switch_core_session_get_uuid(session);
	nwayacd_call_t call = { 0 };
	nwayacd_directive_t *d;
	nway_job_t *job;
	char *words = zstr(data) ? NULL : strdup(data);
	int fast = 0;

	if (switch_channel_test_flag(channel, CF_PROXY_MODE)) {
		/* media bypassed: take it back, as the switch would for an
		   application without SAF_SUPPORT_NOMEDIA (music, prompts) */
		switch_ivr_media(uuid, SMF_NONE);
	}
	if (!globals.running) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_ERROR, "mod_nwayacd is not running\n");
	} else if (nway_read_call(session, app, words, &call) == 0 && (d = malloc(sizeof(*d)))) {
		NWAY_GO_FIRST(first);
		nwayacd_enter(&call, d);
		NWAY_GO_DONE(first);
		for (;;) {
			switch_time_t started = switch_micro_time_now();

			if (nway_step(session, d) || !switch_channel_ready(channel)) {
				break;	/* done, or the caller is gone (leave tells Go) */
			}
			fast = switch_micro_time_now() - started < 1000 ? fast + 1 : 0;
			if (fast > NWAYACD_MAX_FAST_STEPS) {
				switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_CRIT, "Directives loop without doing anything, hanging up\n");
				switch_channel_hangup(channel, SWITCH_CAUSE_NORMAL_TEMPORARY_FAILURE);
				break;
			}
			nwayacd_next(uuid, d);
		}
		if ((job = nway_job_take(uuid))) {
			nway_job_abandon(job);	/* an offer Go started that this session never took */
		}
		nwayacd_leave(uuid);
		free(d);
	}
	free(words);
}

#define NWAY_DEFINE_APP(fn, appname, kind, words, syntax, short_desc, long_desc) \
	SWITCH_STANDARD_APP(fn##_app_function) \
	{ \
		static const nway_app_t app = { appname, kind, words, syntax }; \
		nway_run_session(session, &app, data); \
	}

NWAYACD_APPLICATIONS(NWAY_DEFINE_APP)

/* ------------------------------------------------------------------------ */
/* Load / shutdown                                                           */

#define NWAY_REGISTER_API(fn, cmdname, syntax, desc) \
	SWITCH_ADD_API(api_interface, cmdname, desc, fn##_api_function, syntax);

#define NWAY_COMPLETE(line) \
	switch_console_set_complete("add " line);

#define NWAY_UNCOMPLETE(fn, cmdname, syntax, desc) \
	switch_console_set_complete("del " cmdname);

/* SAF_SUPPORT_NOMEDIA: without it the switch pre-answers an inbound caller
 * before the application runs (a 183 with SDP, and media while the agent
 * rings), which an offer to an idle agent does not need: the caller hears
 * the agent's ringing as the bare bridge passes it on.  Each step that
 * needs media makes it itself (nway_do_wait and nway_do_play answer, a
 * playback pre-answers). */
#define NWAY_REGISTER_APP(fn, appname, kind, words, syntax, short_desc, long_desc) \
	SWITCH_ADD_APP(app_interface, appname, short_desc, long_desc, fn##_app_function, syntax, SAF_SUPPORT_NOMEDIA);

/* Cancels the offers no session has claimed and waits (up to 5 s) for
 * every job thread to end, so none runs on after the module stops. */
static void nway_stop_jobs(void)
{
	nway_job_t *job;
	int i;

	if (!globals.job_mutex) {
		return;
	}
	for (i = 0; i < NWAY_MAX_JOBS; i++) {
		switch_mutex_lock(globals.job_mutex);
		job = globals.jobs[i];
		globals.jobs[i] = NULL;
		switch_mutex_unlock(globals.job_mutex);
		if (job) {
			nway_job_abandon(job);
		}
	}
	switch_mutex_lock(globals.job_mutex);
	for (i = 0; i < 50 && globals.job_threads > 0; i++) {
		switch_thread_cond_timedwait(globals.job_cond, globals.job_mutex, 100000);
	}
	if (globals.job_threads > 0) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "%d offer threads still running\n", globals.job_threads);
	}
	switch_mutex_unlock(globals.job_mutex);
}

/* Undoes whatever load did, in reverse order; safe to call twice. */
static void nway_teardown(void)
{
	globals.running = 0;
	nway_stop_jobs();
	if (globals.events_bound) {
		switch_event_unbind_callback(nway_event_handler);
		globals.events_bound = 0;
	}
	if (globals.go_started) {
		nwayacd_stop();
		globals.go_started = 0;
	}
	if (globals.subclass_reserved) {
		switch_event_free_subclass(NWAYACD_EVENT_SUBCLASS);
		globals.subclass_reserved = 0;
	}
}

/*
 * How the Go runtime's own threads are scheduled.
 *
 * A new Linux thread inherits its creator's scheduling policy and timer
 * slack.  Go's runtime starts in this library's initialiser and makes every
 * later Go thread from one of its own (a call in from a FreeSWITCH thread
 * is locked to it, go/cmd/mod_nwayacd's pin, so Go hands thread creation to
 * its template thread), so what the loading thread has while that
 * initialiser runs is what all of Go's threads keep, and no FreeSWITCH
 * thread is touched.  Where FreeSWITCH could not make the loading thread
 * realtime again (no CAP_SYS_NICE, RLIMIT_RTPRIO too low) its policy is left
 * alone.
 *
 * - Policy: FreeSWITCH runs its threads SCHED_FIFO.  Go's threads (garbage
 *   collection, publishers, the REST server, the scheduler's spinning) are
 *   not media and must not hold a core against the switch's media threads,
 *   which under FIFO they could until they block.  They get SCHED_OTHER.
 *   Calls into Go from FreeSWITCH's threads still run on those threads.
 * - Timer slack: Go's scheduler monitor (sysmon) naps in 20 us steps while
 *   any Go thread is busy: thousands of timer interrupts a second on a
 *   switch with calls up, measured at over a tenth of FreeSWITCH's CPU.
 *   Linux rounds a SCHED_OTHER thread's timers up by its slack (50 us by
 *   default, none for realtime threads).  A coarser slack means fewer naps,
 *   and Go timers up to that much late (all of ours are tens of ms or more).
 *
 * - NWAYACD_GO_THREADS=realtime in FreeSWITCH's environment keeps Go's
 *   threads at the switch's policy instead.  On a switch driven to
 *   saturation a SCHED_OTHER thread gets Linux's 5% leftover, and one that
 *   holds the service's lock then stalls every switch thread calling in
 *   (a priority inversion): offers and dispatch wait for it.  Go's
 *   scheduler monitor alone goes back to normal once found (go/bridge/cgo.go,
 *   normalSysmon): realtime, its naps would get no slack.
 *
 * Priority 101 runs this before the Go archive's initialiser; the load
 * function gives the loading thread its own settings back.
 * NWAYACD_GO_TIMER_SLACK_US in FreeSWITCH's environment overrides the slack
 * (0: the kernel's).
 */
#define NWAY_GO_TIMER_SLACK_US 4000
#define NWAY_GO_TIMER_SLACK_MAX_US 10000

static struct {
	long slack_us;				/* what Go's threads got; 0: the kernel's */
	long saved_slack_ns;		/* the loading thread's own */
	int slack_pending;			/* the loading thread still has slack_us */
	int bad_env;				/* NWAYACD_GO_TIMER_SLACK_US was refused */
	int bad_mode;				/* NWAYACD_GO_THREADS was refused */
	int policy;					/* the loading thread's own */
	struct sched_param param;
	int policy_pending;			/* the loading thread is SCHED_OTHER for now */
	int restore_errno;			/* giving it back its policy failed */
	int realtime;				/* Go's threads stayed realtime: asked for, or dropping it failed */
} nway_go_threads;

/* Microseconds from NWAYACD_GO_TIMER_SLACK_US, 0..NWAY_GO_TIMER_SLACK_MAX_US;
 * -1 when it is set to anything else. */
static long nway_slack_us(const char *v)
{
	char *end;
	long us;

	if (!v || !*v) {
		return NWAY_GO_TIMER_SLACK_US;
	}
	errno = 0;
	us = strtol(v, &end, 10);
	if (errno || *end || us < 0 || us > NWAY_GO_TIMER_SLACK_MAX_US) {
		return -1;
	}
	return us;
}

/* NWAYACD_GO_THREADS: 1 for "realtime", 0 for "normal" or unset, -1 for
 * anything else. */
static int nway_go_realtime(const char *v)
{
	if (!v || !*v || !strcmp(v, "normal")) {
		return 0;
	}
	return strcmp(v, "realtime") ? -1 : 1;
}

#ifdef __linux__
/* Whether this thread may make itself realtime at prio again once it has
 * dropped to SCHED_OTHER: with CAP_SYS_NICE, or an RLIMIT_RTPRIO that allows
 * it (FreeSWITCH may have become realtime as root, then given root up). */
static int nway_may_return_to_rt(int prio)
{
	struct rlimit rl;
	char line[256];
	unsigned long long cap = 0;
	int found = 0;
	FILE *f;

	if (getrlimit(RLIMIT_RTPRIO, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t) prio)) {
		return 1;
	}
	if (!(f = fopen("/proc/thread-self/status", "r"))) {
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			found = 1;
			break;
		}
	}
	fclose(f);
	return found && (cap >> 23) & 1;	/* CAP_SYS_NICE */
}

__attribute__((constructor(101)))
static void nway_go_threads_init(void)
{
	long us = nway_slack_us(getenv("NWAYACD_GO_TIMER_SLACK_US"));
	int keep_rt = nway_go_realtime(getenv("NWAYACD_GO_THREADS"));
	struct sched_param other = { 0 };
	int cur;

	if (keep_rt < 0) {
		nway_go_threads.bad_mode = 1;	/* logged at load; normal, the default */
		keep_rt = 0;
	}
	nway_go_threads.policy = sched_getscheduler(0);
	if (nway_go_threads.policy == SCHED_FIFO || nway_go_threads.policy == SCHED_RR) {
		if (keep_rt) {
			nway_go_threads.realtime = 1;	/* asked for: Go's threads stay as the switch's (but sysmon: go/bridge/cgo.go) */
		} else if (sched_getparam(0, &nway_go_threads.param) == 0 && nway_may_return_to_rt(nway_go_threads.param.sched_priority)
			&& sched_setscheduler(0, SCHED_OTHER, &other) == 0) {
			nway_go_threads.policy_pending = 1;
		} else {
			nway_go_threads.realtime = 1;
		}
	}
	if (us < 0) {
		nway_go_threads.bad_env = 1;	/* logged at load, when logging works */
		us = NWAY_GO_TIMER_SLACK_US;
	}
	if (us == 0 || (cur = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) < 0) {
		return;
	}
	if (prctl(PR_SET_TIMERSLACK, (unsigned long) us * 1000UL, 0, 0, 0) == 0) {
		nway_go_threads.saved_slack_ns = cur;
		nway_go_threads.slack_us = us;
		nway_go_threads.slack_pending = 1;
	}
}

static void nway_go_threads_restore(void)
{
	if (nway_go_threads.slack_pending) {
		prctl(PR_SET_TIMERSLACK, (unsigned long) nway_go_threads.saved_slack_ns, 0, 0, 0);
		nway_go_threads.slack_pending = 0;
	}
	if (nway_go_threads.policy_pending) {
		/* checked before the drop (nway_may_return_to_rt); a failure is logged */
		if (sched_setscheduler(0, nway_go_threads.policy, &nway_go_threads.param) != 0) {
			nway_go_threads.restore_errno = errno;
		}
		nway_go_threads.policy_pending = 0;
	}
}
#else
static void nway_go_threads_restore(void)
{
}
#endif

SWITCH_MODULE_LOAD_FUNCTION(mod_nwayacd_load)
{
	switch_api_interface_t *api_interface;
	switch_application_interface_t *app_interface;
	nway_params_t params;
	char err[512] = "";

	nway_go_threads_restore();	/* the initialisers ran on this thread just now */
	memset(&globals, 0, sizeof(globals));
	globals.pool = pool;
	switch_mutex_init(&globals.go_bind_mutex, SWITCH_MUTEX_NESTED, pool);
	switch_mutex_init(&globals.job_mutex, SWITCH_MUTEX_NESTED, pool);
	switch_thread_cond_create(&globals.job_cond, pool);

	if (switch_event_reserve_subclass(NWAYACD_EVENT_SUBCLASS) != SWITCH_STATUS_SUCCESS) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "Couldn't register subclass %s!\n", NWAYACD_EVENT_SUBCLASS);
		return SWITCH_STATUS_TERM;
	}
	globals.subclass_reserved = 1;

	nway_read_config(&params);
	globals.running = 1;	/* host callbacks work from here on */
	if (nwayacd_start(&nway_host, (const char *const *) params.kv, params.n, err, sizeof(err)) != 0) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "Couldn't start nwayacd: %s\n", err);
		nway_params_free(&params);
		nway_teardown();
		return SWITCH_STATUS_TERM;
	}
	nway_params_free(&params);
	globals.go_started = 1;

	nway_headers_init();
	if (nway_bind_events() != SWITCH_STATUS_SUCCESS) {
		nway_teardown();
		return SWITCH_STATUS_GENERR;
	}
	globals.events_bound = 1;

	*module_interface = switch_loadable_module_create_module_interface(pool, modname);

	NWAYACD_API_COMMANDS(NWAY_REGISTER_API)
	switch_console_add_complete_func("::nwayacd::list_exts", nway_list_exts_complete);
	switch_console_add_complete_func("::nwayacd::list_groups", nway_list_groups_complete);
	NWAYACD_API_COMPLETIONS(NWAY_COMPLETE)
	NWAYACD_APPLICATIONS(NWAY_REGISTER_APP)

	if (nway_go_threads.bad_env) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "NWAYACD_GO_TIMER_SLACK_US must be 0..%d microseconds; using %d\n",
						  NWAY_GO_TIMER_SLACK_MAX_US, NWAY_GO_TIMER_SLACK_US);
	}
	if (nway_go_threads.bad_mode) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "NWAYACD_GO_THREADS must be normal or realtime; using normal\n");
	}
	if (nway_go_threads.restore_errno) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "Couldn't give the loading thread back its realtime priority: %s\n",
						  strerror(nway_go_threads.restore_errno));
	}
	switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_NOTICE, "mod_nwayacd loaded (Go's threads: %s scheduling, timer slack %ld us)\n",
					  nway_go_threads.realtime ? "realtime" : "normal", nway_go_threads.realtime ? 0 : nway_go_threads.slack_us);
	return SWITCH_STATUS_SUCCESS;
}

SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_nwayacd_shutdown)
{
	NWAYACD_API_COMMANDS(NWAY_UNCOMPLETE)
	switch_console_del_complete_func("::nwayacd::list_exts");
	switch_console_del_complete_func("::nwayacd::list_groups");
	nway_teardown();
	/* SUCCESS, not NOUNLOAD: with NOUNLOAD this function would never run again */
	return SWITCH_STATUS_SUCCESS;
}

/* For Emacs:
 * Local Variables:
 * mode:c
 * indent-tabs-mode:t
 * tab-width:4
 * c-basic-offset:4
 * End:
 * For VIM:
 * vim:set softtabstop=4 shiftwidth=4 tabstop=4 noet:
 */
