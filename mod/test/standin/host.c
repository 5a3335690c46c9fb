/*
 * Stand-in FreeSWITCH host: dlopens build/standin/mod_nwayacd.so (the real
 * shim compiled against switch.h here, linked with the Go c-archive), loads
 * it, drives every API command and application with scripted media, fires
 * channel events, unloads and loads it again.  Prints "N passed, N failed".
 *
 * usage: host <module.so> <nwayacd.conf.xml>
 */
#define _GNU_SOURCE
#include "switch.h"
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* ------------------------------------------------------------------------ */
/* test bookkeeping                                                           */

static int passed, failed, verbose;

#define CHECK(cond, ...) do { \
	if (cond) { passed++; } else { failed++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------ */
/* logging, time, uuids                                                       */

switch_directories SWITCH_GLOBAL_dirs;	/* a private folder per run, set in main */
static char run_dir[64];

static int log_count[8];

void switch_log_printf(switch_text_channel_t channel, const char *file, const char *func, int line,
					   const char *userdata, switch_log_level_t level, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lock);
	if (level >= 0 && level < 8) log_count[level]++;
	pthread_mutex_unlock(&lock);
	if (!verbose && level > SWITCH_LOG_ERROR) return;
	fprintf(stderr, "[%d] %s:%d %s: ", level, file, line, func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

switch_time_t switch_micro_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (switch_time_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static unsigned uuid_seq;

char *switch_uuid_str(char *buf, switch_size_t len)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = ++uuid_seq;
	pthread_mutex_unlock(&lock);
	snprintf(buf, len, "00000000-0000-4000-8000-%012u", n);
	return buf;
}

/* ------------------------------------------------------------------------ */
/* threads, mutexes, conditions: pthreads                                     */

struct standin_mutex { pthread_mutex_t m; };
struct standin_cond { pthread_cond_t c; };

switch_status_t switch_mutex_init(switch_mutex_t **lock, unsigned int flags, switch_memory_pool_t *pool)
{
	pthread_mutexattr_t a;

	(void) pool;	/* never freed: one per module load, and one per caller left ringing */
	*lock = calloc(1, sizeof(**lock));
	pthread_mutexattr_init(&a);
	if (flags & SWITCH_MUTEX_NESTED) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&(*lock)->m, &a);
	pthread_mutexattr_destroy(&a);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_mutex_lock(switch_mutex_t *lock) { pthread_mutex_lock(&lock->m); return SWITCH_STATUS_SUCCESS; }
switch_status_t switch_mutex_unlock(switch_mutex_t *lock) { pthread_mutex_unlock(&lock->m); return SWITCH_STATUS_SUCCESS; }

switch_status_t switch_thread_cond_create(switch_thread_cond_t **cond, switch_memory_pool_t *pool)
{
	(void) pool;
	*cond = calloc(1, sizeof(**cond));
	pthread_cond_init(&(*cond)->c, NULL);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_thread_cond_timedwait(switch_thread_cond_t *cond, switch_mutex_t *mutex, switch_interval_time_t timeout)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout / 1000000;
	ts.tv_nsec += (timeout % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
	return pthread_cond_timedwait(&cond->c, &mutex->m, &ts) ? SWITCH_STATUS_TIMEOUT : SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_thread_cond_broadcast(switch_thread_cond_t *cond) { pthread_cond_broadcast(&cond->c); return SWITCH_STATUS_SUCCESS; }
static int cond_signals;	/* switch_thread_cond_signal calls: the module wakes one waiter (a caller left ringing) */

switch_status_t switch_thread_cond_signal(switch_thread_cond_t *cond)
{
	__atomic_add_fetch(&cond_signals, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&cond->c);
	return SWITCH_STATUS_SUCCESS;
}

static int pool_threads;	/* switch_thread_pool_launch_thread calls */

/* Where a thread may be born (the pool, an API command), the caller must be
 * scheduled as the switch's own threads are: a thread inherits its
 * creator's policy and slack.  host_rt: this host runs them
 * SCHED_FIFO, as FreeSWITCH does; Go's threads carry a 4 ms slack. */
static int host_rt, may_spawn_calls, may_spawn_unlike[2];
#define GO_SLACK_NS 4000000

static char may_spawn_first_unlike[96];	/* what the first such call ran as */

static void may_spawn(int where)
{
	int policy = sched_getscheduler(0);
	long slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	int unlike = (host_rt && policy != SCHED_FIFO) || slack == GO_SLACK_NS;

	pthread_mutex_lock(&lock);
	may_spawn_calls++;
	may_spawn_unlike[where] += unlike;
	if (unlike && !may_spawn_first_unlike[0]) {
		snprintf(may_spawn_first_unlike, sizeof(may_spawn_first_unlike), "first: %s, thread %ld, policy %d, slack %ld ns",
				 where ? "API command" : "pool launch", (long) syscall(SYS_gettid), policy, slack);
	}
	pthread_mutex_unlock(&lock);
}

static void *pool_thread(void *arg)
{
	switch_thread_data_t *td = arg;

	td->running = 1;
	td->func(NULL, td->obj);
	if (td->alloc) free(td);
	return NULL;
}

/* FreeSWITCH runs td on its session thread pool; a detached thread here. */
switch_status_t switch_thread_pool_launch_thread(switch_thread_data_t **tdp)
{
	pthread_t t;
	pthread_attr_t a;
	switch_thread_data_t *td = *tdp;
	int rc;

	*tdp = NULL;
	may_spawn(0);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &a, pool_thread, td);
	pthread_attr_destroy(&a);
	if (rc == 0) {
		pthread_mutex_lock(&lock);
		pool_threads++;
		pthread_mutex_unlock(&lock);
	}
	return rc ? SWITCH_STATUS_FALSE : SWITCH_STATUS_SUCCESS;
}

char *switch_copy_string(char *to, const char *from, switch_size_t to_len)
{
	snprintf(to, to_len, "%s", from ? from : "");
	return to;
}

/* ------------------------------------------------------------------------ */
/* streams                                                                    */

switch_status_t switch_console_stream_raw_write(switch_stream_handle_t *h, uint8_t *data, switch_size_t datalen)
{
	if (h->data_len + datalen + 1 > h->data_size) {
		switch_size_t n = h->data_size * 2 + datalen + 1;
		void *p = realloc(h->data, n);

		if (!p) return SWITCH_STATUS_MEMERR;
		h->data = p;
		h->data_size = n;
	}
	memcpy((char *) h->data + h->data_len, data, datalen);
	h->data_len += datalen;
	((char *) h->data)[h->data_len] = '\0';
	h->end = (char *) h->data + h->data_len;
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_console_stream_write(switch_stream_handle_t *h, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;
	switch_status_t st;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) return SWITCH_STATUS_MEMERR;
	st = switch_console_stream_raw_write(h, (uint8_t *) s, (switch_size_t) n);
	free(s);
	return st;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int completions;

void switch_console_set_complete(const char *string)
{
	pthread_mutex_lock(&lock);
	if (!strncmp(string, "add ", 4)) completions++;
	else if (!strncmp(string, "del ", 4)) completions = completions > 0 ? completions - 1 : 0;
	pthread_mutex_unlock(&lock);
}

#define MAX_COMPLETE_FUNCS 8
static struct { char name[64]; switch_console_complete_callback_t cb; } complete_funcs[MAX_COMPLETE_FUNCS];

switch_status_t switch_console_add_complete_func(const char *name, switch_console_complete_callback_t cb)
{
	int i;

	for (i = 0; i < MAX_COMPLETE_FUNCS; i++) {
		if (!complete_funcs[i].cb) {
			snprintf(complete_funcs[i].name, sizeof(complete_funcs[i].name), "%s", name);
			complete_funcs[i].cb = cb;
			return SWITCH_STATUS_SUCCESS;
		}
	}
	return SWITCH_STATUS_FALSE;
}

switch_status_t switch_console_del_complete_func(const char *name)
{
	int i;

	for (i = 0; i < MAX_COMPLETE_FUNCS; i++) {
		if (complete_funcs[i].cb && !strcmp(complete_funcs[i].name, name)) {
			complete_funcs[i].cb = NULL;
			return SWITCH_STATUS_SUCCESS;
		}
	}
	return SWITCH_STATUS_FALSE;
}

void switch_console_push_match(switch_console_callback_match_t **matches, const char *new_val)
{
	switch_console_callback_match_node_t *n = calloc(1, sizeof(*n));

	if (!*matches) *matches = calloc(1, sizeof(**matches));
	n->val = strdup(new_val);
	if ((*matches)->end) (*matches)->end->next = n;
	else (*matches)->head = n;
	(*matches)->end = n;
	(*matches)->count++;
}

/* Runs the completion list `name` and reports whether `want` is among its matches. */
static int complete_has(const char *name, const char *want)
{
	switch_console_callback_match_t *m = NULL;
	switch_console_callback_match_node_t *n, *next;
	int i, found = 0;

	for (i = 0; i < MAX_COMPLETE_FUNCS; i++) {
		if (complete_funcs[i].cb && !strcmp(complete_funcs[i].name, name)) complete_funcs[i].cb("", "", &m);
	}
	for (n = m ? m->head : NULL; n; n = next) {
		next = n->next;
		found |= !strcmp(n->val, want);
		free(n->val);
		free(n);
	}
	free(m);
	return found;
}

/* ------------------------------------------------------------------------ */
/* module interfaces                                                          */

struct standin_module {
	const char *name;
	switch_api_interface_t *apis;
	switch_application_interface_t *apps;
};

static struct standin_module *current_module;

switch_loadable_module_interface_t *switch_loadable_module_create_module_interface(switch_memory_pool_t *pool, const char *name)
{
	struct standin_module *m = calloc(1, sizeof(*m));

	(void) pool;
	m->name = name;
	current_module = m;
	return m;
}

void *switch_loadable_module_create_interface(switch_loadable_module_interface_t *mod, switch_module_interface_name_t iname)
{
	if (iname == SWITCH_API_INTERFACE) {
		switch_api_interface_t *a = calloc(1, sizeof(*a)), **pp = &mod->apis;

		while (*pp) pp = &(*pp)->next;
		*pp = a;
		return a;
	}
	if (iname == SWITCH_APPLICATION_INTERFACE) {
		switch_application_interface_t *a = calloc(1, sizeof(*a)), **pp = &mod->apps;

		while (*pp) pp = &(*pp)->next;
		*pp = a;
		return a;
	}
	return NULL;
}

static void module_free(struct standin_module *m)
{
	while (m && m->apis) { switch_api_interface_t *n = m->apis->next; free(m->apis); m->apis = n; }
	while (m && m->apps) { switch_application_interface_t *n = m->apps->next; free(m->apps); m->apps = n; }
	free(m);
}

static switch_api_interface_t *find_api(const char *name)
{
	switch_api_interface_t *a;

	for (a = current_module ? current_module->apis : NULL; a; a = a->next) {
		if (!strcmp(a->interface_name, name)) return a;
	}
	return NULL;
}

static switch_application_interface_t *find_app(const char *name)
{
	switch_application_interface_t *a;

	for (a = current_module ? current_module->apps : NULL; a; a = a->next) {
		if (!strcmp(a->interface_name, name)) return a;
	}
	return NULL;
}

static int api_from_go;
static int session_break(const char *args);

switch_status_t switch_api_execute(const char *cmd, const char *arg, switch_core_session_t *session, switch_stream_handle_t *stream)
{
	switch_api_interface_t *a;

	pthread_mutex_lock(&lock);
	api_from_go++;	/* the module itself never calls switch_api_execute: this is Go */
	pthread_mutex_unlock(&lock);
	may_spawn(1);
	if (verbose) fprintf(stderr, "api from Go: %s %s\n", cmd, arg ? arg : "");
	if (!strcmp(cmd, "uuid_break")) {
		stream->write_function(stream, session_break(arg) ? "+OK\n" : "-ERR no such channel\n");
		return SWITCH_STATUS_SUCCESS;
	}
	if (!strcmp(cmd, "uuid_kill") || !strcmp(cmd, "originate") || !strcmp(cmd, "uuid_transfer")) {
		stream->write_function(stream, "+OK\n");
		return SWITCH_STATUS_SUCCESS;
	}
	if ((a = find_api(cmd))) return a->function(arg, session, stream);
	stream->write_function(stream, "-ERR %s Command not found!\n", cmd);
	return SWITCH_STATUS_FALSE;
}

/* ------------------------------------------------------------------------ */
/* xml: a tiny reader for <param name="" value=""/> of the real conf file   */

static const char *conf_path;
#define MAX_EXTRA 16
static const char *extra_param[MAX_EXTRA * 2];	/* appended after the file's params: later wins */

static char *attr_of(const char *tag, const char *end, const char *name)
{
	char key[64];
	const char *p, *q;

	snprintf(key, sizeof(key), "%s=\"", name);
	if (!(p = strstr(tag, key)) || p > end) return strdup("");
	p += strlen(key);
	if (!(q = strchr(p, '"')) || q > end) return strdup("");
	return strndup(p, (size_t) (q - p));
}

static switch_xml_t xml_node(const char *name)
{
	switch_xml_t x = calloc(1, sizeof(*x));

	x->name = strdup(name);
	x->attr = calloc(5, sizeof(char *));
	return x;
}

static void xml_add_param(switch_xml_t settings, char *name, char *value)
{
	switch_xml_t p = xml_node("param"), *pp = &settings->child;

	p->attr[0] = strdup("name");
	p->attr[1] = name;
	p->attr[2] = strdup("value");
	p->attr[3] = value;
	while (*pp) pp = &(*pp)->next;
	*pp = p;
}

switch_xml_t switch_xml_open_cfg(const char *file_path, switch_xml_t *node, void *params)
{
	FILE *f;
	char *buf, *p, *c;
	long n;
	switch_xml_t root, cfg, settings;

	(void) params;
	if (strcmp(file_path, "nwayacd.conf") || !conf_path || !(f = fopen(conf_path, "r"))) return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n) { fclose(f); free(buf); return NULL; }
	fclose(f);
	while ((c = strstr(buf, "<!--"))) {	/* blank out comments */
		char *e = strstr(c, "-->");

		memset(c, ' ', e ? (size_t) (e + 3 - c) : strlen(c));
	}
	root = xml_node("configuration");
	cfg = root;
	settings = xml_node("settings");
	cfg->child = settings;
	for (p = buf; (p = strstr(p, "<param")); p++) {
		char *end = strchr(p, '>');

		if (!end) break;
		xml_add_param(settings, attr_of(p, end, "name"), attr_of(p, end, "value"));
	}
	for (n = 0; n < MAX_EXTRA && extra_param[2 * n]; n++) xml_add_param(settings, strdup(extra_param[2 * n]), strdup(extra_param[2 * n + 1]));
	free(buf);
	*node = cfg;
	return root;
}

switch_xml_t switch_xml_child(switch_xml_t xml, const char *name)
{
	switch_xml_t c;

	for (c = xml ? xml->child : NULL; c; c = c->next) {
		if (!strcmp(c->name, name)) return c;
	}
	return NULL;
}

const char *switch_xml_attr_soft(switch_xml_t xml, const char *attr)
{
	int i;

	for (i = 0; xml && xml->attr && xml->attr[i]; i += 2) {
		if (!strcmp(xml->attr[i], attr)) return xml->attr[i + 1];
	}
	return "";
}

void switch_xml_free(switch_xml_t xml)
{
	int i;

	while (xml) {
		switch_xml_t next = xml->next;

		switch_xml_free(xml->child);
		for (i = 0; xml->attr && xml->attr[i]; i++) free(xml->attr[i]);
		free(xml->attr);
		free(xml->name);
		free(xml);
		xml = next;
	}
}

/* ------------------------------------------------------------------------ */
/* events                                                                     */

/* The switch's case-insensitive header hash (times 33 plus the lowered
 * byte); a header whose hash is 0 is found by name alone. */
unsigned int switch_ci_hashfunc_default(const char *char_key, switch_ssize_t *klen)
{
	const unsigned char *p = (const unsigned char *) char_key;
	unsigned int hash = 0;

	if (*klen < 0) {
		for (; *p; p++) hash = hash * 33 + (unsigned int) tolower(*p);
		*klen = (switch_ssize_t) (p - (const unsigned char *) char_key);
	} else {
		switch_ssize_t i;

		for (i = 0; i < *klen; i++) hash = hash * 33 + (unsigned int) tolower(p[i]);
	}
	return hash;
}

/* What switch_core_idle_cpu reports (percent). */
static double standin_idle_cpu = 100;

double switch_core_idle_cpu(void)
{
	return standin_idle_cpu;
}

/* standin_unhashed: headers added while it is set carry hash 0, as a
 * switch may leave them; the module must still find them by name. */
static int standin_unhashed;

#define MAX_BINDINGS 64
static struct {
	switch_event_types_t id;
	char *subclass;
	switch_event_callback_t cb;
	void *user_data;
} bindings[MAX_BINDINGS];
static int nbindings, subclass_reserved, fired_info, info_whole, fail_bind_at, bind_calls;
static char *reserved_name;

switch_status_t switch_event_create_subclass_detailed(const char *file, const char *func, int line, switch_event_t **event,
													  switch_event_types_t event_id, const char *subclass_name)
{
	(void) file; (void) func; (void) line;
	*event = calloc(1, sizeof(switch_event_t));
	(*event)->event_id = event_id;
	(*event)->subclass_name = subclass_name ? strdup(subclass_name) : NULL;
	if (event_id != SWITCH_EVENT_CLONE) {
		/* as the switch prepares an event for delivery: a dozen headers of
		   its own, which become channel variables if used as ovars */
		switch_event_add_header_string(*event, SWITCH_STACK_BOTTOM, "Event-Name", "STANDIN");
		switch_event_add_header_string(*event, SWITCH_STACK_BOTTOM, "Core-UUID", "00000000-0000-0000-0000-000000000000");
	}
	return SWITCH_STATUS_SUCCESS;
}

char *switch_event_get_header_idx(switch_event_t *event, const char *header_name, int idx)
{
	switch_event_header_t *h;

	switch_ssize_t klen = -1;
	unsigned long hash = switch_ci_hashfunc_default(header_name, &klen);

	/* as the switch looks: the hash first, then the name */
	(void) idx;
	for (h = event->headers; h; h = h->next) {
		if ((!h->hash || h->hash == hash) && !strcasecmp(h->name, header_name)) return h->value;
	}
	return NULL;
}

switch_status_t switch_event_add_header_string(switch_event_t *event, switch_stack_t stack, const char *header_name, const char *data)
{
	switch_event_header_t *h = calloc(1, sizeof(*h));

	(void) stack;
	h->name = strdup(header_name);
	h->value = strdup(data ? data : "");
	if (!standin_unhashed) {
		switch_ssize_t klen = -1;

		h->hash = switch_ci_hashfunc_default(h->name, &klen);
	}
	if (event->last_header) event->last_header->next = h;
	else event->headers = h;
	event->last_header = h;
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_add_body(switch_event_t *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(event->body);
	if (vasprintf(&event->body, fmt, ap) < 0) event->body = NULL;
	va_end(ap);
	return SWITCH_STATUS_SUCCESS;
}

void switch_event_destroy(switch_event_t **event)
{
	switch_event_header_t *h;

	if (!event || !*event) return;
	for (h = (*event)->headers; h;) {
		switch_event_header_t *n = h->next;

		free(h->name); free(h->value); free(h);
		h = n;
	}
	free((*event)->subclass_name);
	free((*event)->body);
	free(*event);
	*event = NULL;
}

switch_status_t switch_event_fire_detailed(const char *file, const char *func, int line, switch_event_t **event, void *user_data)
{
	switch_event_t *e = *event;
	int i;

	(void) file; (void) func; (void) line; (void) user_data;
	if (e->event_id == SWITCH_EVENT_CUSTOM && e->subclass_name && !strcmp(e->subclass_name, "nwayacd::info")) {
		const char *action = switch_event_get_header(e, "Action");

		pthread_mutex_lock(&lock);
		fired_info++;
		/* the header and the body crossed from Go intact */
		if (action && *action && e->body && e->body[0] == '{' && e->body[strlen(e->body) - 1] == '}' && strstr(e->body, action)) {
			info_whole++;
		}
		pthread_mutex_unlock(&lock);
		if (verbose) fprintf(stderr, "nwayacd::info Action=%s %s\n", switch_event_get_header(e, "Action"), e->body ? e->body : "");
	}
	/* dispatch like FreeSWITCH's event threads would (here on the firing thread) */
	for (i = 0; i < nbindings; i++) {
		if (bindings[i].id != e->event_id) continue;
		if (e->event_id == SWITCH_EVENT_CUSTOM && bindings[i].subclass && (!e->subclass_name || strcmp(bindings[i].subclass, e->subclass_name))) continue;
		e->bind_user_data = bindings[i].user_data;
		bindings[i].cb(e);
	}
	switch_event_destroy(event);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_bind(const char *id, switch_event_types_t event, const char *subclass_name, switch_event_callback_t callback, void *user_data)
{
	(void) id;
	pthread_mutex_lock(&lock);
	if (fail_bind_at && ++bind_calls == fail_bind_at) { pthread_mutex_unlock(&lock); return SWITCH_STATUS_GENERR; }
	if (nbindings == MAX_BINDINGS) { pthread_mutex_unlock(&lock); return SWITCH_STATUS_MEMERR; }
	bindings[nbindings].id = event;
	bindings[nbindings].subclass = subclass_name ? strdup(subclass_name) : NULL;
	bindings[nbindings].cb = callback;
	bindings[nbindings].user_data = user_data;
	nbindings++;
	pthread_mutex_unlock(&lock);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_unbind_callback(switch_event_callback_t callback)
{
	int i, j;

	pthread_mutex_lock(&lock);
	for (i = j = 0; i < nbindings; i++) {
		if (bindings[i].cb == callback) { free(bindings[i].subclass); continue; }
		bindings[j++] = bindings[i];
	}
	nbindings = j;
	pthread_mutex_unlock(&lock);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_reserve_subclass_detailed(const char *owner, const char *subclass_name)
{
	(void) owner;
	if (subclass_reserved) return SWITCH_STATUS_INUSE;
	subclass_reserved = 1;
	reserved_name = strdup(subclass_name);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_free_subclass_detailed(const char *owner, const char *subclass_name)
{
	(void) owner;
	if (!subclass_reserved || strcmp(reserved_name, subclass_name)) return SWITCH_STATUS_FALSE;
	subclass_reserved = 0;
	free(reserved_name);
	reserved_name = NULL;
	return SWITCH_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* sessions, scripted media                                                   */

typedef enum { O_ANSWER, O_NOANSWER, O_FAIL, O_CANCEL } script_outcome_t;

typedef struct {
	script_outcome_t outcome;
	int break_on_play;		/* the n-th play is cut by "uuid_break" (0: never) */
	int hangup_in_bridge;	/* the caller hangs up during the bridge */
	int max_offers;			/* the caller hangs up at the offer after this many (0: 3) */
	int saturate;			/* the originate leaves the switch with 5% idle CPU (until reset) */
	int ready_on_play;		/* at the n-th play an operator runs "nway_ready 1000" (0: never) */
	const char *transfer_to;	/* during the bridge the caller is transferred there (a phone's REFER) */
	const char *skills;			/* the caller's nwayacd_skills channel variable (NULL: unset) */
	int answer_leg;				/* O_ANSWER: the n-th origination_uuid of the dial string answers (0: the first) */
	int early_ring_ms;			/* an originate without a-leg rings this long first (a cancel ends it) */
	int early_ring_after_play;	/* ...counted from the caller's first play after the ring began (at most 5 s) */
	int hangup_on_play;			/* the caller hangs up at the n-th play (0: never) */
	int key_on_play;			/* the caller presses key at the n-th play (0: never) */
	char key;
} script_t;

struct standin_channel {
	int ready, answered, brk, transferred;
	int early;					/* pre-answered: media before the answer */
	int proxy;					/* media bypassed (CF_PROXY_MODE) */
	int rang;					/* 180 sent (ring_ready) */
	switch_channel_timetable_t tt;
	const char *priv_key;		/* one channel private, as FreeSWITCH's hash would hold it */
	void *priv;
	char vars[16][2][600];
	int nvars;
	switch_caller_profile_t profile;
	char trace[8192];
	char last_ovars[1024];
	char last_cid[128];
};

struct standin_session {
	char uuid[64];
	struct standin_channel ch;
	script_t script;
	int plays, offers, is_peer;
	char dtmf;	/* a digit queued on the channel, not yet read */
	int refs;	/* peers: the read locks held (originate's, then each locate's) */
	switch_time_t started;
	void *mem[4];	/* switch_core_session_alloc: freed with the session, as its pool */
	int nmem;
};

static void session_mem_free(switch_core_session_t *s)
{
	while (s->nmem > 0) free(s->mem[--s->nmem]);
}

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;	/* an offer's thread traces into its caller too */

static void trace(switch_core_session_t *s, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	pthread_mutex_lock(&trace_lock);
	n = strlen(s->ch.trace);
	va_start(ap, fmt);
	vsnprintf(s->ch.trace + n, sizeof(s->ch.trace) - n, fmt, ap);
	va_end(ap);
	n = strlen(s->ch.trace);
	if (n + 1 < sizeof(s->ch.trace)) { s->ch.trace[n] = ' '; s->ch.trace[n + 1] = '\0'; }
	pthread_mutex_unlock(&trace_lock);
}

/* a copy of s's trace, taken under the trace lock */
static void trace_copy(switch_core_session_t *s, char *buf, size_t len)
{
	pthread_mutex_lock(&trace_lock);
	snprintf(buf, len, "%s", s->ch.trace);
	pthread_mutex_unlock(&trace_lock);
}

#define MAX_LIVE 16
static switch_core_session_t *live[MAX_LIVE];	/* callers, for uuid_break */

static void session_free(switch_core_session_t *s)
{
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_LIVE; i++) if (live[i] == s) live[i] = NULL;
	pthread_mutex_unlock(&lock);
	session_mem_free(s);
	free(s);
}

/* uuid_break <uuid> [all]: what FreeSWITCH does is set CF_BREAK; media code sees it */
static int session_break(const char *args)
{
	int i, found = 0;

	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_LIVE; i++) {
		if (live[i] && args && !strncmp(args, live[i]->uuid, strlen(live[i]->uuid))) {
			live[i]->ch.brk = 1;
			found = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int sig_breaks;	/* switch_core_session_kill_channel(SWITCH_SIG_BREAK) calls: direct wakes */

/* Callers and answered agent legs, as FreeSWITCH finds any live session; a
 * leg's read locks are counted (it is freed by the last unlock), a caller's
 * are not modelled. */
switch_core_session_t *switch_core_session_perform_locate(const char *uuid_str, const char *file, const char *func, int line)
{
	switch_core_session_t *found = NULL;
	int i;

	(void) file; (void) func; (void) line;
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_LIVE && uuid_str; i++) {
		if (live[i] && !strcmp(live[i]->uuid, uuid_str)) found = live[i];
	}
	if (found && found->is_peer) found->refs++;
	pthread_mutex_unlock(&lock);
	return found;
}

switch_status_t switch_core_session_perform_kill_channel(switch_core_session_t *session, const char *file, const char *func, int line, switch_signal_t sig)
{
	(void) session; (void) file; (void) func; (void) line;
	if (sig == SWITCH_SIG_BREAK) {
		pthread_mutex_lock(&lock);
		sig_breaks++;
		pthread_mutex_unlock(&lock);
	}
	return SWITCH_STATUS_SUCCESS;
}

static switch_core_session_t *session_new(const char *caller)
{
	switch_core_session_t *s = calloc(1, sizeof(*s));

	switch_uuid_str(s->uuid, sizeof(s->uuid));
	s->ch.ready = 1;
	s->ch.profile.caller_id_number = caller;
	s->ch.profile.caller_id_name = "Caller";
	s->ch.profile.destination_number = "85733555";
	return s;
}

switch_channel_t *switch_core_session_get_channel(switch_core_session_t *session) { return &session->ch; }
char *switch_core_session_get_uuid(switch_core_session_t *session) { return session->uuid; }

static int peers_live;	/* answered agent legs not yet unlocked for the last time */

void switch_core_session_rwunlock(switch_core_session_t *session)
{
	int i, last;

	if (!session->is_peer) return;
	pthread_mutex_lock(&lock);
	last = --session->refs == 0;
	if (last) {
		for (i = 0; i < MAX_LIVE; i++) if (live[i] == session) live[i] = NULL;
		peers_live--;
	}
	pthread_mutex_unlock(&lock);
	if (last) {
		session_mem_free(session);
		free(session);
	}
}

#define SESSION_OF(c) ((switch_core_session_t *) ((char *) (c) - offsetof(struct standin_session, ch)))

int switch_channel_test_ready(switch_channel_t *channel, switch_bool_t check_ready, switch_bool_t check_media)
{
	(void) check_ready;
	/* media: answered or early media, as CF_ANSWERED || CF_EARLY_MEDIA */
	return channel->ready && (!check_media || channel->answered || channel->early);
}

switch_status_t switch_channel_perform_ring_ready_value(switch_channel_t *channel, switch_ring_ready_t rv, const char *file, const char *func, int line)
{
	(void) rv; (void) file; (void) func; (void) line;
	if (!channel->rang && !channel->answered) trace(SESSION_OF(channel), "ring-ready");
	channel->rang = 1;
	return SWITCH_STATUS_SUCCESS;
}

switch_channel_timetable_t *switch_channel_get_timetable(switch_channel_t *channel) { return &channel->tt; }

switch_status_t switch_channel_set_private(switch_channel_t *channel, const char *key, const void *private_info)
{
	channel->priv_key = key;
	channel->priv = (void *) private_info;
	return SWITCH_STATUS_SUCCESS;
}

void *switch_channel_get_private(switch_channel_t *channel, const char *key)
{
	return channel->priv_key && !strcmp(channel->priv_key, key) ? channel->priv : NULL;
}

void *switch_core_perform_session_alloc(switch_core_session_t *session, switch_size_t memory, const char *file, const char *func, int line)
{
	(void) file; (void) func; (void) line;
	if (session->nmem == (int) (sizeof(session->mem) / sizeof(session->mem[0]))) return NULL;
	return session->mem[session->nmem++] = calloc(1, memory);
}

switch_memory_pool_t *switch_core_session_get_pool(switch_core_session_t *session) { (void) session; return NULL; }

uint32_t switch_channel_test_flag(switch_channel_t *channel, switch_channel_flag_t flag)
{
	if (flag == CF_BREAK) return (uint32_t) channel->brk;
	if (flag == CF_TRANSFER) return (uint32_t) channel->transferred;
	if (flag == CF_PROXY_MODE) return (uint32_t) channel->proxy;
	if (flag == CF_RING_READY) return (uint32_t) channel->rang;
	return flag == CF_ANSWERED ? (uint32_t) channel->answered : 0;
}

void switch_channel_set_flag_value(switch_channel_t *channel, switch_channel_flag_t flag, uint32_t value)
{
	if (flag == CF_BREAK) {
		pthread_mutex_lock(&lock);
		channel->brk = (int) value;
		pthread_mutex_unlock(&lock);
	} else if (flag == CF_ANSWERED) {
		channel->answered = (int) value;
	}
}

/* uuid_break sets the channel's break flag (ch.brk here) until media clears it */
void switch_channel_clear_flag(switch_channel_t *channel, switch_channel_flag_t flag)
{
	if (flag == CF_BREAK) {
		pthread_mutex_lock(&lock);
		channel->brk = 0;
		pthread_mutex_unlock(&lock);
	}
}

switch_status_t switch_channel_perform_answer(switch_channel_t *channel, const char *file, const char *func, int line)
{
	(void) file; (void) func; (void) line;
	if (!channel->answered) trace(SESSION_OF(channel), "answer");
	channel->answered = 1;
	return SWITCH_STATUS_SUCCESS;
}

static const struct { switch_call_cause_t c; const char *s; } causes[] = {
	{SWITCH_CAUSE_NONE, "NONE"}, {SWITCH_CAUSE_UNALLOCATED_NUMBER, "UNALLOCATED_NUMBER"},
	{SWITCH_CAUSE_NORMAL_CLEARING, "NORMAL_CLEARING"}, {SWITCH_CAUSE_USER_BUSY, "USER_BUSY"},
	{SWITCH_CAUSE_NO_USER_RESPONSE, "NO_USER_RESPONSE"}, {SWITCH_CAUSE_NO_ANSWER, "NO_ANSWER"},
	{SWITCH_CAUSE_CALL_REJECTED, "CALL_REJECTED"}, {SWITCH_CAUSE_NORMAL_TEMPORARY_FAILURE, "NORMAL_TEMPORARY_FAILURE"},
	{SWITCH_CAUSE_ORIGINATOR_CANCEL, "ORIGINATOR_CANCEL"}, {SWITCH_CAUSE_USER_NOT_REGISTERED, "USER_NOT_REGISTERED"}
};

switch_call_cause_t switch_channel_str2cause(const char *str)
{
	size_t i;

	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		if (!strcasecmp(causes[i].s, str)) return causes[i].c;
	}
	return SWITCH_CAUSE_NORMAL_CLEARING;
}

const char *switch_channel_cause2str(switch_call_cause_t cause)
{
	size_t i;

	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		if (causes[i].c == cause) return causes[i].s;
	}
	return "UNKNOWN";
}

switch_channel_state_t switch_channel_perform_hangup(switch_channel_t *channel, const char *file, const char *func, int line, switch_call_cause_t hangup_cause)
{
	(void) file; (void) func; (void) line;
	trace(SESSION_OF(channel), "hangup:%s", switch_channel_cause2str(hangup_cause));
	channel->ready = 0;
	return CS_HANGUP;
}

switch_status_t switch_channel_set_variable_var_check(switch_channel_t *channel, const char *varname, const char *value, switch_bool_t var_check)
{
	(void) var_check;
	if (channel->nvars < 16) {
		snprintf(channel->vars[channel->nvars][0], 600, "%s", varname);
		snprintf(channel->vars[channel->nvars][1], 600, "%s", value ? value : "");
		channel->nvars++;
	}
	trace(SESSION_OF(channel), "set:%s=%s", varname, value ? value : "");
	return SWITCH_STATUS_SUCCESS;
}

const char *switch_channel_get_variable_dup(switch_channel_t *channel, const char *varname, switch_bool_t dup, int idx)
{
	int i;

	(void) dup; (void) idx;
	for (i = 0; i < channel->nvars; i++) {
		if (!strcmp(channel->vars[i][0], varname)) return channel->vars[i][1];
	}
	return NULL;
}

switch_caller_profile_t *switch_channel_get_caller_profile(switch_channel_t *channel) { return &channel->profile; }

static char *run_api(const char *name, const char *args);

/* A "file" is 60 frames of 2 ms (the shim treats files under 100 ms as unplayable); a break or the read-frame callback cuts it. */
static switch_status_t media(switch_core_session_t *s, int frames, switch_input_args_t *args)
{
	int i, brk;

	for (i = 0; i < frames; i++) {
		if (s->started && switch_micro_time_now() - s->started > 10000000) {
			trace(s, "caller-gives-up-after-10s");	/* whatever Go decides, a test ends */
			s->ch.ready = 0;
		}
		if (!s->ch.ready) return SWITCH_STATUS_FALSE;
		pthread_mutex_lock(&lock);
		brk = s->ch.brk;
		s->ch.brk = 0;
		pthread_mutex_unlock(&lock);
		if (brk) {
			trace(s, "woken");
			return SWITCH_STATUS_BREAK;
		}
		if (s->dtmf && args && args->input_callback) {
			/* as FreeSWITCH: a queued digit is read, and its DTMF event
			   fired, only by a media loop given input args */
			char d[2] = { s->dtmf, '\0' };
			switch_event_t *e;
			switch_status_t st;

			s->dtmf = 0;
			trace(s, "dtmf:%s", d);
			switch_event_create_subclass(&e, SWITCH_EVENT_DTMF, NULL);
			switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Unique-ID", s->uuid);
			switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Call-Direction", "inbound");
			switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "DTMF-Digit", d);
			switch_event_fire(&e);
			st = args->input_callback(s, NULL, SWITCH_INPUT_TYPE_DTMF, NULL, 0);
			if (st != SWITCH_STATUS_SUCCESS) return st;
		}
		if (args && args->read_frame_callback) {
			switch_status_t st = args->read_frame_callback(s, NULL, args->user_data);

			if (st != SWITCH_STATUS_SUCCESS) return st;
		}
		usleep(2000);
	}
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_ivr_play_file(switch_core_session_t *session, switch_file_handle_t *fh, const char *file, switch_input_args_t *args)
{
	(void) fh;
	session->plays++;
	trace(session, "play:%s", file);
	if (session->script.break_on_play == session->plays) session->ch.brk = 1;
	if (session->script.ready_on_play == session->plays) free(run_api("nway_ready", "1000"));
	if (session->script.key_on_play == session->plays) session->dtmf = session->script.key;
	if (session->script.hangup_on_play == session->plays) {
		trace(session, "caller-hangs-up");
		session->ch.ready = 0;
	}
	return media(session, 60, args);
}

/* no private events are queued here: what matters is that a ring wait asks */
static int parsed_events;

switch_status_t switch_ivr_parse_all_events(switch_core_session_t *session)
{
	(void) session;
	__atomic_add_fetch(&parsed_events, 1, __ATOMIC_RELAXED);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_ivr_sleep(switch_core_session_t *session, uint32_t ms, switch_bool_t sync, switch_input_args_t *args)
{
	(void) sync;
	trace(session, "sleep");
	return media(session, (int) (ms / 2 > 0 ? ms / 2 : 1), args);
}

/* Takes a bypassed channel's media back (re-INVITE) */
switch_status_t switch_ivr_media(const char *uuid, switch_media_flag_t flags)
{
	switch_core_session_t *s = switch_core_session_locate(uuid);

	(void) flags;
	if (!s) return SWITCH_STATUS_FALSE;
	trace(s, "media");
	s->ch.proxy = 0;
	switch_core_session_rwunlock(s);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_ivr_originate(switch_core_session_t *session, switch_core_session_t **bleg, switch_call_cause_t *cause,
									 const char *bridgeto, uint32_t timelimit_sec, const switch_state_handler_table_t *table,
									 const char *cid_name_override, const char *cid_num_override,
									 switch_caller_profile_t *caller_profile_override, switch_event_t *ovars,
									 switch_originate_flag_t flags, switch_call_cause_t *cancel_cause, switch_dial_handle_t *dh)
{
	const char *ouuid = ovars ? switch_event_get_header(ovars, "origination_uuid") : NULL, *q;
	switch_core_session_t *peer;
	int early = !session, i;

	(void) table; (void) cid_name_override; (void) caller_profile_override; (void) flags; (void) dh;
	if (early) {
		/* no a-leg (the module's own offer thread): the caller is the channel
		   named by nwayacd_call; it rings early_ring_ms unless cancelled */
		const char *call = ovars ? switch_event_get_header(ovars, "nwayacd_call") : NULL;

		pthread_mutex_lock(&lock);
		for (i = 0; i < MAX_LIVE && call; i++) if (live[i] && !live[i]->is_peer && !strcmp(live[i]->uuid, call)) session = live[i];
		pthread_mutex_unlock(&lock);
		if (!session) {
			*cause = SWITCH_CAUSE_NORMAL_TEMPORARY_FAILURE;
			return SWITCH_STATUS_FALSE;
		}
		trace(session, "originate-early");
		if (session->script.early_ring_after_play) {
			/* a busy machine may run this thread before the woken session
			   plays; the check is of the music while the agent rings, so the
			   phone rings on until the music has begun */
			char buf[sizeof(session->ch.trace)];
			const char *o;

			for (i = 0; i < 2500; i++) {
				trace_copy(session, buf, sizeof(buf));
				if ((o = strstr(buf, "originate-early")) && strstr(o, "play:")) break;
				if (cancel_cause && *cancel_cause) break;
				usleep(2000);
			}
		}
		for (i = 0; i < session->script.early_ring_ms / 2; i++) {
			if (cancel_cause && *cancel_cause) {
				trace(session, "originate-cancelled");
				*cause = *cancel_cause;
				return SWITCH_STATUS_FALSE;
			}
			usleep(2000);
		}
	}
	trace(session, "originate:%s", bridgeto);
	{
		/* every ovar becomes a variable of the agent's channel, and the
		   switch scans a channel's variables on each media frame */
		int nh = 0;
		switch_event_header_t *h;

		for (h = ovars ? ovars->headers : NULL; h; h = h->next) nh++;
		snprintf(session->ch.last_ovars, sizeof(session->ch.last_ovars), "nwayacd_call=%s timelimit=%u headers=%d event_name=%s",
				 ovars && switch_event_get_header(ovars, "nwayacd_call") ? switch_event_get_header(ovars, "nwayacd_call") : "", timelimit_sec,
				 nh, ovars && switch_event_get_header(ovars, "Event-Name") ? "yes" : "no");
	}
	snprintf(session->ch.last_cid, sizeof(session->ch.last_cid), "%s", cid_num_override ? cid_num_override : "");
	if (++session->offers > (session->script.max_offers ? session->script.max_offers : 3)) {
		trace(session, "caller-hangs-up");
		session->ch.ready = 0;
		*cause = SWITCH_CAUSE_ORIGINATOR_CANCEL;
		return SWITCH_STATUS_FALSE;
	}
	if (session->script.saturate) {
		standin_idle_cpu = 5;	/* read as the offer ends, not as the call entered */
	}
	switch (session->script.outcome) {
	case O_ANSWER:
		peer = session_new("1000");
		peer->is_peer = 1;
		peer->refs = 1;	/* originate's read lock */
		q = strstr(bridgeto, "origination_uuid=");
		for (int n = 1; q && n < session->script.answer_leg; n++) q = strstr(q + 17, "origination_uuid=");
		if (ouuid) snprintf(peer->uuid, sizeof(peer->uuid), "%s", ouuid);
		else if (q) snprintf(peer->uuid, sizeof(peer->uuid), "%.*s", (int) strcspn(q + 17, ",}]"), q + 17);
		if (q && q > bridgeto && q[-1] == '[') {	/* the answering leg's own [vars], as FreeSWITCH sets them */
			const char *end = strchr(q, ']'), *ag = strstr(q, "nwayacd_agent=");
			char v[64];

			if (end && ag && ag < end) {
				snprintf(v, sizeof(v), "%.*s", (int) strcspn(ag + 14, ",]"), ag + 14);
				switch_channel_set_variable(&peer->ch, "nwayacd_agent", v);
			}
		}
		pthread_mutex_lock(&lock);	/* findable by uuid, as a live leg is */
		for (i = 0; i < MAX_LIVE && live[i]; i++);
		if (i < MAX_LIVE) live[i] = peer;
		peers_live++;
		pthread_mutex_unlock(&lock);
		*bleg = peer;
		*cause = SWITCH_CAUSE_NONE;
		return SWITCH_STATUS_SUCCESS;
	case O_NOANSWER:
		*cause = SWITCH_CAUSE_NO_ANSWER;
		break;
	case O_FAIL:
		*cause = SWITCH_CAUSE_USER_NOT_REGISTERED;
		break;
	case O_CANCEL:
		if (!early) session->ch.ready = 0;
		*cause = SWITCH_CAUSE_ORIGINATOR_CANCEL;
		break;
	}
	return SWITCH_STATUS_FALSE;
}

switch_status_t switch_ivr_multi_threaded_bridge(switch_core_session_t *session, switch_core_session_t *peer_session,
												 switch_input_callback_function_t dtmf_callback, void *session_data, void *peer_session_data)
{
	(void) dtmf_callback; (void) session_data; (void) peer_session_data;
	trace(session, "bridge:%s", peer_session->uuid);
	if (session->script.hangup_in_bridge) session->ch.ready = 0;
	if (session->script.transfer_to) {	/* as switch_ivr_session_transfer: new profile, CF_TRANSFER */
		session->ch.profile.destination_number = session->script.transfer_to;
		session->ch.transferred = 1;
	}
	return SWITCH_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* driving the module                                                         */

static char *run_api(const char *name, const char *args)
{
	switch_stream_handle_t stream;
	switch_api_interface_t *a = find_api(name);

	if (!a) return strdup("");
	SWITCH_STANDARD_STREAM(stream);
	a->function(args, NULL, &stream);
	return (char *) stream.data;
}

static int reply_ok(const char *r)
{
	return r && (!strncmp(r, "+OK", 3) || !strncmp(r, "-ERR", 4) || !strncmp(r, "-USAGE", 6));
}

static const struct { const char *name, *valid; } commands[] = {
	{"nway_add_ext", "1000 1234"}, {"nway_set_ext_jobnumber", "1000 1234 true"}, {"nway_rm_ext", "1000"},
	{"nway_set_reged_ext", "1000"}, {"nway_set_unreg_ext", "1000"}, {"nway_add_group", "110 4"},
	{"nway_rm_group", "110"}, {"nway_set_ring_group", "110 /nway/welcome.wav /nway/black.wav /nway/busy.wav /nway/transfer.wav"},
	{"nway_list_exts", ""}, {"nway_list_groups", ""}, {"nway_login", "1000 120,119,110"}, {"nway_logout", "1000"},
	{"nway_busy", "1000"}, {"nway_ready", "1000"}, {"nwayacd_transfer", "3f1c2d4e-0000-4000-8000-000000000001 1002"},
	{"nwayacd_version", ""}, {"nway_uuid_hold", "3f1c2d4e-0000-4000-8000-000000000001"},
	{"nway_uuid_unhold", "3f1c2d4e-0000-4000-8000-000000000001"}, {"nway_threeway", "3f1c2d4e-0000-4000-8000-000000000001 018621575908 gw1"},
	{"nwayacd", "status"}, {"nway_set_ext_dialstring", "1000 user/1000"}, {"nway_set_callstate", "1000 idle"},
	{"nway_set_group", "110 timeout 20"}, {"nway_add_blacklist", "110 13800000000"}, {"nway_rm_blacklist", "110 13800000000"},
	{"nway_add_vip", "110 13900000000"}, {"nway_rm_vip", "110 13900000000"}, {"nway_list_queue", ""},
	{"nway_set_tier", "1000 110 2"}, {"nway_set_weight", "1000 110 5"}, {"nway_set_skill", "1000 zh 5"},
	{"nway_rm_skill", "1000 zh"}, {"nway_list_skills", ""}, {"nway_list_tiers", ""}, {"nway_list_group_options", ""}
};
#define NCOMMANDS ((int) (sizeof(commands) / sizeof(commands[0])))

static void test_apis(void)
{
	char big[16384];
	const char *garbage[] = { "\x01\xff garbage ;;; '\" %s%n%x", "   ", big };
	int i, j, napis = 0;
	switch_api_interface_t *a;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (a = current_module->apis; a; a = a->next) napis++;
	CHECK(napis == NCOMMANDS, "registered %d APIs, want %d", napis, NCOMMANDS);

	for (i = 0; i < NCOMMANDS; i++) {
		char *r;
		int listing = strstr(commands[i].name, "list") != NULL;

		CHECK(find_api(commands[i].name) != NULL, "API %s not registered", commands[i].name);
		if (!find_api(commands[i].name)) continue;
		r = run_api(commands[i].name, commands[i].valid);
		CHECK(*r && (reply_ok(r) || listing), "%s %s -> %s", commands[i].name, commands[i].valid, r);
		free(r);
		r = run_api(commands[i].name, NULL);
		CHECK(*r && (reply_ok(r) || listing), "%s (no args) -> %s", commands[i].name, r);
		free(r);
		for (j = 0; j < 3; j++) {
			r = run_api(commands[i].name, garbage[j]);
			CHECK(*r && (reply_ok(r) || listing), "%s garbage %d -> %.80s", commands[i].name, j, r);
			free(r);
		}
	}
	/* the syntax `show api` prints is the one Go's usage line names */
	for (a = current_module->apis; a; a = a->next) {
		char *r = run_api(a->interface_name, "\x01"), want[512];

		snprintf(want, sizeof(want), "Usage: %s%s%s\n", a->interface_name, *a->syntax ? " " : "", a->syntax);
		CHECK(strstr(r, want) != NULL, "%s: registered syntax \"%s\", Go's usage: %s", a->interface_name, a->syntax, r);
		free(r);
	}
	{
		char *r = run_api("nwayacd", "reload");

		CHECK(!strncmp(r, "+OK", 3), "nwayacd reload -> %s", r);
		free(r);
	}
}

static int proxy_next;	/* the next run_app's caller comes with its media bypassed */

static switch_core_session_t *run_app(const char *app, const char *data, script_t script, const char *level)
{
	switch_core_session_t *s = session_new("13912345678");

	s->ch.proxy = proxy_next;
	proxy_next = 0;

	switch_application_interface_t *a = find_app(app);

	s->script = script;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_LIVE; i++) if (!live[i]) { live[i] = s; break; }
	pthread_mutex_unlock(&lock);
	if (level) switch_channel_set_variable(&s->ch, "nwayacd_level", level);
	if (script.skills) switch_channel_set_variable(&s->ch, "nwayacd_skills", script.skills);
	s->ch.trace[0] = '\0';
	s->started = switch_micro_time_now();
	s->ch.tt.created = s->started;
	CHECK(a != NULL, "application %s not registered", app);
	/* as switch_core_session_execute_application_get_flags: an application
	   without SAF_SUPPORT_NOMEDIA gets an inbound caller pre-answered */
	if (a && !(a->flags & SAF_SUPPORT_NOMEDIA) && !s->ch.answered && !s->ch.early) {
		trace(s, "pre-answer");
		s->ch.early = 1;
	}
	if (a) a->application_function(s, data);
	if (verbose) fprintf(stderr, "%s %s: %s\n", app, data ? data : "", s->ch.trace);
	CHECK(strstr(s->ch.trace, "caller-gives-up-after-10s") == NULL, "%s %s: still running after 10 s: %.300s", app, data ? data : "", s->ch.trace);
	return s;
}

static void api_quiet(const char *name, const char *args)
{
	char *r = run_api(name, args);

	if (verbose) fprintf(stderr, "%s %s -> %s", name, args, r);
	free(r);
}

static int ext_line_has(const char *ext, const char *want);

/* What a helper thread does to a caller in a ring wait, which reads no
 * media and so runs none of the scripts' hooks. */
typedef struct {
	switch_core_session_t *s;
	int after_ms;			/* then: */
	const char *ready;		/* run nway_ready on this extension, or */
	int hangup;				/* hang the caller up */
	char seen[8192];		/* the caller's trace at that moment */
	int peek_ms;			/* before: its trace at this moment (0: none) */
	char peeked[8192];
	int gone_ms;			/* a guard: hang up anyway after this (a test ends) */
} ringer_t;

static void *ringer_run(void *obj)
{
	ringer_t *r = obj;
	int waited = 0;

	if (r->peek_ms) {
		usleep((useconds_t) r->peek_ms * 1000);
		trace_copy(r->s, r->peeked, sizeof(r->peeked));
	}
	usleep((useconds_t) (r->after_ms - r->peek_ms) * 1000);
	trace_copy(r->s, r->seen, sizeof(r->seen));
	if (r->ready) free(run_api("nway_ready", r->ready));
	if (r->hangup) {
		trace(r->s, "caller-hangs-up");
		r->s->ch.ready = 0;
	}
	while (waited < r->gone_ms && r->s->ch.ready) {
		usleep(10000);
		waited += 10;
	}
	if (r->s->ch.ready) {
		trace(r->s, "caller-gives-up");
		r->s->ch.ready = 0;
	}
	return NULL;
}

/* A ringer that, after after_ms (peeking at peek_ms when > 0), readies
 * the extension ready or, without one, hangs the caller up. */
static void ringer_set(ringer_t *r, int peek_ms, int after_ms, const char *ready)
{
	memset(r, 0, sizeof(*r));
	r->peek_ms = peek_ms;
	r->after_ms = after_ms;
	r->ready = ready;
	r->hangup = ready == NULL;
	r->gone_ms = 5000;
}

/* Runs app with a ringer on its caller; the caller exists before the app runs. */
static switch_core_session_t *run_ringing(const char *group, script_t sc, ringer_t *r, int64_t *took_us)
{
	pthread_t t;
	switch_core_session_t *s;
	switch_time_t t0 = switch_micro_time_now();

	/* run_app makes the session: start the ringer from its first trace */
	r->s = NULL;
	s = session_new("13912345678");
	s->script = sc;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_LIVE; i++) if (!live[i]) { live[i] = s; break; }
	pthread_mutex_unlock(&lock);
	s->started = switch_micro_time_now();
	s->ch.tt.created = s->started;
	r->s = s;
	pthread_create(&t, NULL, ringer_run, r);
	find_app("nwayacd")->application_function(s, group);
	*took_us = switch_micro_time_now() - t0;
	s->ch.ready = 0;	/* the call is over: the ringer need not wait out its guard */
	pthread_join(t, NULL);
	if (verbose) fprintf(stderr, "ring wait %s: %s\n", group, s->ch.trace);
	return s;
}

/* Group option ring_wait: a waiting caller is left ringing (180, no answer,
 * no media read or played) until an agent answers or ring_wait has passed
 * since its channel came up; the freed agent's offer still leaves at once
 * and the caller is answered only as the agent answers. */
static void test_ring_wait(void)
{
	script_t sc = { 0 };
	switch_core_session_t *s;
	ringer_t r;
	int64_t took;
	int signals;
	const char *o, *ans, *br;

	api_quiet("nway_add_group", "12321 0");
	api_quiet("nway_add_ext", "1005 1005");
	api_quiet("nway_set_reged_ext", "1005");
	api_quiet("nway_login", "1005 12321");
	api_quiet("nway_busy", "1005");
	api_quiet("nway_set_group", "12321 ring_wait 30");

	/* the agent frees up while the caller rings: offered at once, and the
	   caller has no media until the agent answers */
	sc.outcome = O_ANSWER;
	sc.early_ring_ms = 100;
	ringer_set(&r, 0, 300, "1005");
	signals = __atomic_load_n(&cond_signals, __ATOMIC_RELAXED);
	s = run_ringing("12321", sc, &r, &took);
	CHECK(strstr(r.seen, "ring-ready") && !strstr(r.seen, "answer") && !strstr(r.seen, "sleep") && !strstr(r.seen, "play:"),
		  "ring wait: the waiting caller was not left ringing without media: %.300s", r.seen);
	o = strstr(s->ch.trace, "originate-early");
	ans = strstr(s->ch.trace, "answer");
	br = strstr(s->ch.trace, "bridge:");
	CHECK(o && ans && br && o < ans && ans < br, "ring wait: not offered, then answered as the agent answered, then bridged: %.600s", s->ch.trace);
	CHECK(!strstr(s->ch.trace, "sleep") && !strstr(s->ch.trace, "play:"), "ring wait: media while the caller rang: %.600s", s->ch.trace);
	/* woken by its condition (the offer's end signals it), not left to the
	   100 ms tick; and not held long: 300 ms, the agent's 100 ms ring, then at once */
	CHECK(__atomic_load_n(&cond_signals, __ATOMIC_RELAXED) > signals, "ring wait: the ringing caller's condition was never signalled");
	CHECK(took < 1000000, "ring wait: the ringing caller took %lld us to take its answered agent", (long long) took);
	CHECK(__atomic_load_n(&parsed_events, __ATOMIC_RELAXED) > 0, "ring wait: the ringing caller's queued events were never run");
	session_free(s);
	api_quiet("nway_busy", "1005");

	/* the caller hangs up while it rings: seen within the tick, the queue lets it go */
	ringer_set(&r, 0, 200, NULL);
	s = run_ringing("12321", sc, &r, &took);
	CHECK(took < 600000, "ring wait: a caller who hung up while ringing held its session %lld us", (long long) took);
	CHECK(!strstr(s->ch.trace, "answer") && !strstr(s->ch.trace, "originate"), "ring wait: a caller who left was answered or offered: %.300s", s->ch.trace);
	session_free(s);

	/* past ring_wait the caller is answered and hears the queue's music */
	api_quiet("nway_set_group", "12321 ring_wait 1");
	ringer_set(&r, 600, 1500, NULL);
	s = run_ringing("12321", sc, &r, &took);
	CHECK(strstr(r.peeked, "ring-ready") && !strstr(r.peeked, "answer"), "ring wait: answered before ring_wait: %.300s", r.peeked);
	CHECK(strstr(r.seen, "ring-ready") && (ans = strstr(r.seen, "answer")) && strstr(ans, "play:local_stream://moh"),
		  "ring wait: past ring_wait the caller was not answered into the music: %.300s", r.seen);
	session_free(s);

	/* a busy ring counted in plays (busy_ring_times): ringing is no play;
	   past ring_wait the caller is answered and hears it */
	api_quiet("nway_set_ring_group", "12321 - - busy.wav -");
	api_quiet("nway_set_group", "12321 busy_ring_times 1");
	ringer_set(&r, 0, 3000, NULL);
	s = run_ringing("12321", sc, &r, &took);
	ans = strstr(s->ch.trace, "answer");
	CHECK(strstr(s->ch.trace, "ring-ready") && ans && strstr(ans, "play:busy.wav"),
		  "ring wait: with busy_ring_times 1 the caller rang out and never heard the busy ring: %.300s", s->ch.trace);
	session_free(s);
	api_quiet("nway_set_group", "12321 busy_ring_times 0");
	api_quiet("nway_set_ring_group", "12321 - - - -");

	/* 0: answered at once, as before */
	api_quiet("nway_set_group", "12321 ring_wait 0");
	ringer_set(&r, 0, 200, NULL);
	s = run_ringing("12321", sc, &r, &took);
	CHECK(!strstr(r.seen, "ring-ready") && strstr(r.seen, "answer"), "ring wait 0: the caller was not answered at once: %.300s", r.seen);
	session_free(s);
	api_quiet("nway_logout", "1005");
}

/* Issue 12 across the boundary: the shim reads nwayacd_skills at entry, and a
   ring-all step is one originate ringing every leg, the answering leg's uuid
   naming the winner. */
static void test_routing(void)
{
	script_t sc = { 0 };
	switch_core_session_t *s;
	char want[128], *q;
	int i, legs = 0;
	const char *skill[] = { "2000 zh 3", "2001 zh 8", "2002 en 9" };

	api_quiet("nway_add_group", "12330 11");
	api_quiet("nway_add_group", "12340 9");
	for (i = 0; i < 3; i++) {
		char a[64];

		snprintf(a, sizeof(a), "200%d", i);
		api_quiet("nway_add_ext", a);
		api_quiet("nway_set_reged_ext", a);
		api_quiet("nway_ready", a);
		api_quiet("nway_set_skill", skill[i]);
		snprintf(a, sizeof(a), "200%d 12330,12340", i);
		api_quiet("nway_login", a);
	}

	/* best-skill: the call asking zh:5 goes to the only agent with it */
	sc.outcome = O_NOANSWER;
	sc.max_offers = 1;
	sc.skills = "zh:5";
	s = run_app("nwayacd", "12330", sc, NULL);
	CHECK(strstr(s->ch.trace, "nwayacd_agent=2001") != NULL && strstr(s->ch.trace, "nwayacd_agent=2000") == NULL,
		  "skills: zh:5 not offered to 2001 first: %.400s", s->ch.trace);
	session_free(s);
	/* garbage is logged and ignored: the call is still offered */
	sc.skills = "zh:99,\x01";
	s = run_app("nwayacd", "12330", sc, NULL);
	CHECK(strstr(s->ch.trace, "originate:") != NULL, "skills: a bad nwayacd_skills stopped the call: %.300s", s->ch.trace);
	session_free(s);
	sc.skills = NULL;
	sc.max_offers = 0;
	for (i = 0; i < 3; i++) {
		char a[16];

		snprintf(a, sizeof(a), "200%d", i);
		api_quiet("nway_ready", a);
	}

	/* ring-all: one originate, three legs; the second leg answers and is bridged */
	sc.outcome = O_ANSWER;
	sc.answer_leg = 2;
	s = run_app("nwayacd", "12340", sc, NULL);
	for (q = strstr(s->ch.trace, "originate:"); q && (q = strstr(q, "[origination_uuid=")); q++) legs++;
	CHECK(legs == 3, "ring-all: %d legs in the originate, want 3: %.600s", legs, s->ch.trace);
	CHECK(strstr(s->ch.trace, "local_var_clobber=true}") != NULL, "ring-all: per-leg vars would not win: %.300s", s->ch.trace);
	q = strstr(s->ch.trace, "[origination_uuid=");
	q = q ? strstr(q + 1, "[origination_uuid=") : NULL;
	if (q) {
		snprintf(want, sizeof(want), "bridge:%.*s", (int) strcspn(q + 18, ",]"), q + 18);
		CHECK(strstr(s->ch.trace, want) != NULL, "ring-all: the second leg was not bridged (%s): %.600s", want, s->ch.trace);
	}
	CHECK(strstr(s->ch.trace, "set:nwayacd_result=answered") != NULL, "ring-all: not answered: %.300s", s->ch.trace);
	if (q && (q = strstr(q, "nwayacd_agent="))) {	/* the caller names the agent that answered, not the first */
		const char *set = strstr(s->ch.trace, "set:nwayacd_agent="), *br = strstr(s->ch.trace, "bridge:");

		/* the name set as the agent answers, before the bridge (hangup_after_bridge=true never gets further) */
		snprintf(want, sizeof(want), "set:nwayacd_agent=%.*s ", (int) strcspn(q + 14, ",]"), q + 14);
		CHECK(set && br && set < br && !strncmp(set, want, strlen(want)), "ring-all: the caller does not name the answering agent (%s): %.600s", want, s->ch.trace);
	}
	session_free(s);
	/* the losers were cancelled, not offered a no-answer: ready again, no streak */
	CHECK(!ext_line_has("2000", "no_answer") && !ext_line_has("2002", "no_answer") &&
		  ext_line_has("2000", "ready") && ext_line_has("2002", "ready"),
		  "ring-all: a loser counted a no-answer or is not ready: %.400s", run_api("nway_list_exts", ""));
}

/* Checks hold for any Handler: they are about the boundary, not the routing. */
static void test_apps(void)
{
	script_t sc = { 0 };
	switch_core_session_t *s;
	char want[256], uuids[16][64], buf[8192], *q;
	int nu = 0, i;

	/* a group with three ready agents */
	api_quiet("nway_add_group", "12320 0");
	for (i = 0; i < 3; i++) {
		char a[64];

		snprintf(a, sizeof(a), "100%d 100%d", i, i);
		api_quiet("nway_add_ext", a);
		snprintf(a, sizeof(a), "100%d", i);
		api_quiet("nway_set_reged_ext", a);
		api_quiet("nway_ready", a);
		snprintf(a, sizeof(a), "100%d 12320", i);
		api_quiet("nway_login", a);
	}

	/* answered: offered with the caller's number, the caller answered, bridged */
	sc.outcome = O_ANSWER;
	s = run_app("nwayacd", "12320", sc, "vip");
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(strstr(s->ch.trace, "originate:") != NULL, "answer: no offer: %s", s->ch.trace);
	CHECK(strstr(s->ch.trace, "answer bridge:") != NULL, "answer: not answered then bridged: %s", s->ch.trace);
	q = strstr(s->ch.trace, "set:nwayacd_result=answered");
	CHECK(q && q < strstr(s->ch.trace, "bridge:"), "answer: nwayacd_result not set before the bridge: %s", s->ch.trace);
	q = strstr(s->ch.trace, "set:transfer_ringback=local_stream://moh");
	CHECK(q && q < strstr(s->ch.trace, "originate:"), "answer: the caller hears nothing while the agent rings: %s", s->ch.trace);
	if ((q = strstr(s->ch.trace, "origination_uuid="))) {	/* Go named the agent leg: that is the leg bridged */
		snprintf(want, sizeof(want), "bridge:%.*s", (int) strcspn(q + 17, ",}"), q + 17);
		CHECK(strstr(s->ch.trace, want) != NULL, "answer: bridged another leg than %s: %s", want, s->ch.trace);
	}
	CHECK(!strcmp(s->ch.last_cid, "13912345678"), "answer: caller id %s", s->ch.last_cid);
	snprintf(want, sizeof(want), "nwayacd_call=%s ", s->uuid);
	CHECK(!strncmp(s->ch.last_ovars, want, strlen(want)), "answer: ovars %s", s->ch.last_ovars);
	CHECK(strstr(s->ch.last_ovars, " headers=2 event_name=no") != NULL, "answer: ovars carry more than the call and the agent: %s", s->ch.last_ovars);
	{
		/* an idle agent's offer leaves before the caller has any media: it
		   is answered as the agent answers, as by a bare bridge */
		const char *o = strstr(s->ch.trace, "originate:"), *ans = strstr(s->ch.trace, "answer");

		CHECK(o && ans && ans > o && !strstr(s->ch.trace, "pre-answer"), "answer: the caller had media before the offer: %.300s", s->ch.trace);
	}
	session_free(s);
	/* with its media bypassed, the caller gets it back before anything
	   else (here: an unknown group, which ends the application at once) */
	{
		switch_core_session_t *p;

		proxy_next = 1;
		p = run_app("nwayacd", "12399", sc, NULL);
		CHECK(!strncmp(p->ch.trace, "media", 5) && !p->ch.proxy, "proxy media: not taken back first: %.200s", p->ch.trace);
		session_free(p);
	}

	/* nobody answers: no bridge; the call ends (by Go or by the caller) */
	sc.outcome = O_NOANSWER;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(strstr(s->ch.trace, "originate:") != NULL && strstr(s->ch.trace, "bridge:") == NULL, "no answer: %s", s->ch.trace);
	session_free(s);

	/* unreachable agents */
	sc.outcome = O_FAIL;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(strstr(s->ch.trace, "bridge:") == NULL, "failed: %s", s->ch.trace);
	session_free(s);

	/* the caller hangs up while it rings: the module does not hang up itself */
	sc.outcome = O_CANCEL;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(strstr(s->ch.trace, "originate:") != NULL && strstr(s->ch.trace, "hangup:") == NULL, "cancel: %s", s->ch.trace);
	session_free(s);

	/* uuid_break on the first play ends it early, and the call goes on */
	sc.outcome = O_NOANSWER;
	sc.break_on_play = 1;
	sc.max_offers = 1;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(s->ch.trace[0] != '\0', "break: nothing happened");
	session_free(s);
	sc.break_on_play = 0;
	sc.max_offers = 0;

	/* callout via a gateway */
	sc.outcome = O_ANSWER;
	s = run_app("nwaycallout", "018612345678 gw1 12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK((q = strstr(s->ch.trace, "originate:")) && strstr(q, "018612345678") && strstr(q, "gw1"), "callout: %s", s->ch.trace);
	session_free(s);

	/* direct to an extension; the caller hangs up in the bridge */
	sc.hangup_in_bridge = 1;
	s = run_app("nway_bridge", "1002", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK((q = strstr(s->ch.trace, "originate:")) && strstr(q, "1002"), "nway_bridge: %s", s->ch.trace);
	CHECK(strstr(s->ch.trace, "hangup:") == NULL, "hangup in bridge: %s", s->ch.trace);
	session_free(s);
	sc.hangup_in_bridge = 0;

	/* the agent's phone transfers the caller to 1002 (REFER): the shim tells Go
	 * before the bridge's end, so 1002 is talking on that call, not offered
	 * another, and the agent who answered wraps up */
	sc.outcome = O_ANSWER;
	sc.transfer_to = "1002";
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	CHECK(strstr(s->ch.trace, "bridge:") != NULL, "transfer: not bridged: %s", s->ch.trace);
	CHECK(ext_line_has("1002", "\ttalking"), "transfer: 1002 is not talking after the caller was transferred to it");
	session_free(s);
	sc.transfer_to = NULL;
	api_quiet("nway_ready", "1002");

	/* no agent is ready: the caller waits; an operator readies 1000; Go starts
	 * the offer at once on a thread of the module's own (the host's offer:
	 * an originate without a-leg), and wakes the waiting session through the
	 * host's wake (CF_BREAK + SWITCH_SIG_BREAK, no API command); the session
	 * takes the offer over, hears music while 1000 rings and bridges the leg
	 * that answered */
	api_quiet("nway_busy", "1000");
	api_quiet("nway_busy", "1001");
	api_quiet("nway_busy", "1002");
	sc.outcome = O_ANSWER;
	sc.ready_on_play = 3;
	sc.early_ring_ms = 200;
	sc.early_ring_after_play = 1;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	q = strstr(s->ch.trace, "originate-early");
	CHECK(q && strstr(q, "originate:") && strstr(q, "user/1000"), "early offer: not started off the session for 1000: %.600s", s->ch.trace);
	CHECK(strstr(s->ch.trace, "woken") != NULL, "early offer: the session was not woken: %.600s", s->ch.trace);
	CHECK(q && strstr(q, "play:local_stream://moh"), "early offer: no music while 1000 rang: %.600s", s->ch.trace);
	if (q && (q = strstr(q, "origination_uuid="))) {
		snprintf(want, sizeof(want), "bridge:%.*s", (int) strcspn(q + 17, ",}"), q + 17);
		CHECK(strstr(s->ch.trace, want) != NULL, "early offer: did not bridge the leg it rang (%s): %.600s", want, s->ch.trace);
	}
	CHECK(strstr(s->ch.trace, "set:nwayacd_result=answered") != NULL, "early offer: not answered: %.600s", s->ch.trace);
	q = strstr(s->ch.trace, "originate:");
	CHECK(q && !strstr(q + 1, "originate:"), "early offer: the session rang the agent a second time: %.600s", s->ch.trace);
	pthread_mutex_lock(&lock);
	i = sig_breaks;
	pthread_mutex_unlock(&lock);
	CHECK(i > 0, "wake: the session was not woken directly (SWITCH_SIG_BREAK), only by uuid_break");
	session_free(s);
	for (i = 0; i < 500; i++) {	/* the offer's thread lets go of the leg once the session has it */
		int n;

		pthread_mutex_lock(&lock);
		n = peers_live;
		pthread_mutex_unlock(&lock);
		if (n == 0) break;
		usleep(2000);
	}
	CHECK(i < 500, "early offer: an answered leg was never unlocked");

	/* the caller hangs up while the early offer rings: the originate is
	 * cancelled, Go hears the caller abandoned, 1000 is free again */
	api_quiet("nway_busy", "1000");
	sc.ready_on_play = 3;
	sc.hangup_on_play = 4;
	sc.early_ring_ms = 3000;
	sc.early_ring_after_play = 0;
	s = run_app("nwayacd", "12320", sc, NULL);
	snprintf(uuids[nu++], 64, "%s", s->uuid);
	for (i = 0; i < 500; i++) {	/* the offer's thread notices the cancel within a few ms */
		trace_copy(s, buf, sizeof(buf));
		if (strstr(buf, "originate-cancelled")) break;
		usleep(2000);
	}
	CHECK(strstr(buf, "originate-early") && strstr(buf, "originate-cancelled") && !strstr(buf, "bridge:"),
		  "early offer: not cancelled when the caller left: %.600s", buf);
	CHECK(!ext_line_has("1000", "\tring"), "early offer: 1000 still ringing for a caller who left");
	session_free(s);
	sc.ready_on_play = 0;
	sc.hangup_on_play = 0;
	sc.early_ring_ms = 0;
	api_quiet("nway_ready", "1000");
	api_quiet("nway_ready", "1001");
	api_quiet("nway_ready", "1002");

	/* give-up policy: nobody ready, the busy ring plays twice, then the call is
	 * hung up (each play returns to Go, which counts them) */
	api_quiet("nway_add_group", "12399 0");
	api_quiet("nway_set_ring_group", "12399 - - /nway/busy.wav -");
	api_quiet("nway_set_group", "12399 busy_ring_times 2");
	s = run_app("nwayacd", "12399", sc, NULL);
	q = strstr(s->ch.trace, "play:/nway/busy.wav");
	CHECK(q && (q = strstr(q + 1, "play:/nway/busy.wav")) && !strstr(q + 1, "play:/nway/busy.wav"),
		  "give-up: the busy ring did not play exactly twice: %.600s", s->ch.trace);
	CHECK(strstr(s->ch.trace, "set:nwayacd_result=gave_up") && strstr(s->ch.trace, "hangup:"),
		  "give-up: not hung up with nwayacd_result=gave_up: %.600s", s->ch.trace);
	session_free(s);

	/* admission control (overload-idle-cpu 10 in this host's config): the
	 * switch's idle CPU read as the call enters; at 5% a call nobody can
	 * take is refused as full (busy ring, USER_BUSY) instead of waiting */
	standin_idle_cpu = 5;
	s = run_app("nwayacd", "12399", sc, NULL);
	standin_idle_cpu = 100;
	CHECK(strstr(s->ch.trace, "set:nwayacd_result=full") && strstr(s->ch.trace, "play:/nway/busy.wav") &&
		  strstr(s->ch.trace, "hangup:USER_BUSY"), "overload: not refused as full: %.600s", s->ch.trace);
	session_free(s);

	/* no-answer-idle-cpu (10 by default): an offer failing while the switch
	 * has 5% idle CPU (read as the originate ends) is not held against the
	 * agent: it rests 2 s, then the waiting caller is offered to it again
	 * (and hangs up: max_offers); on an idle switch the failure counts and
	 * the agent is offered the call again at once */
	api_quiet("nway_add_group", "12396 0");
	api_quiet("nway_add_ext", "2096");
	api_quiet("nway_set_reged_ext", "2096");
	api_quiet("nway_login", "2096 12396");
	api_quiet("nway_ready", "2096");
	sc.outcome = O_NOANSWER;
	sc.max_offers = 1;
	{
		switch_time_t t0 = switch_micro_time_now(), t1, t2;
		long idle_ms, sat_ms;

		s = run_app("nwayacd", "12396", sc, NULL);
		session_free(s);
		t1 = switch_micro_time_now();
		sc.saturate = 1;	/* the call enters an idle switch; its offer ends on a saturated one */
		s = run_app("nwayacd", "12396", sc, NULL);
		sc.saturate = 0;
		standin_idle_cpu = 100;
		session_free(s);
		t2 = switch_micro_time_now();
		idle_ms = (long) ((t1 - t0) / 1000);
		sat_ms = (long) ((t2 - t1) / 1000);

		CHECK(idle_ms < 1500, "no-answer-idle-cpu: on an idle switch the failed agent was not offered again at once (%ld ms)", idle_ms);
		CHECK(sat_ms >= 1900, "no-answer-idle-cpu: on a saturated switch the failed agent did not rest (offered again after %ld ms)", sat_ms);
	}
	CHECK(ext_line_has("2096", "\tready\t"), "no-answer-idle-cpu: 2096 is not ready after its calls: %.400s", run_api("nway_list_exts", ""));
	sc.outcome = O_ANSWER;
	sc.max_offers = 0;
	api_quiet("nway_logout", "2096");
	api_quiet("nway_rm_ext", "2096");
	api_quiet("nway_rm_group", "12396");

	/* the exit key pressed during the welcome prompt: the prompt reads it
	 * (FreeSWITCH fires a DTMF event only when a digit is read), Go ends the
	 * wait and wakes the session, which leaves before any hold music (with
	 * a prompt that read no digits, a key pressed during announcements that
	 * followed each other was never seen on FreeSWITCH 1.10.12) */
	api_quiet("nway_add_group", "12397 0");
	api_quiet("nway_set_ring_group", "12397 /nway/welcome.wav - - -");
	api_quiet("nway_set_group", "12397 exit_key 0");
	api_quiet("nway_set_group", "12397 exit_to 99");
	sc.key_on_play = 1;
	sc.key = '0';
	s = run_app("nwayacd", "12397", sc, NULL);
	CHECK((q = strstr(s->ch.trace, "play:/nway/welcome.wav")) && strstr(q, "dtmf:0") && strstr(q, "set:nwayacd_result=exit"),
		  "exit key in the welcome: not taken: %.600s", s->ch.trace);
	CHECK(strstr(s->ch.trace, "play:local_stream://moh") == NULL,
		  "exit key in the welcome: seen only once the hold music played: %.600s", s->ch.trace);
	session_free(s);
	sc.key_on_play = 0;
	api_quiet("nway_rm_group", "12397");

	/* usage errors never reach Go */
	s = run_app("nwaycallout", "018612345678", sc, NULL);
	CHECK(s->ch.trace[0] == '\0', "callout usage: %s", s->ch.trace);
	session_free(s);
	s = run_app("nwayacd", NULL, sc, NULL);
	CHECK(s->ch.trace[0] == '\0', "nwayacd usage: %s", s->ch.trace);
	session_free(s);

	/* fs_cli completes extension and group arguments from the module's lists */
	CHECK(complete_has("::nwayacd::list_exts", "1001"), "completion: extension 1001 not offered");
	CHECK(complete_has("::nwayacd::list_groups", "12320"), "completion: group 12320 not offered");
	CHECK(!complete_has("::nwayacd::list_groups", "1001"), "completion: an extension offered as a group");

	/* every application returned, so Leave reached Go: no call is still queued */
	q = run_api("nway_list_queue", "");
	for (i = 0; i < nu; i++) CHECK(strstr(q, uuids[i]) == NULL, "call %s still queued after it left: %s", uuids[i], q);
	free(q);
}

static const struct { switch_event_types_t id; const char *subclass; } kinds[] = {
	{SWITCH_EVENT_CHANNEL_CREATE, NULL}, {SWITCH_EVENT_CHANNEL_PROGRESS, NULL}, {SWITCH_EVENT_CHANNEL_PROGRESS_MEDIA, NULL},
	{SWITCH_EVENT_CHANNEL_ANSWER, NULL}, {SWITCH_EVENT_CHANNEL_BRIDGE, NULL}, {SWITCH_EVENT_CHANNEL_UNBRIDGE, NULL},
	{SWITCH_EVENT_CHANNEL_HOLD, NULL}, {SWITCH_EVENT_CHANNEL_UNHOLD, NULL}, {SWITCH_EVENT_DTMF, NULL},
	{SWITCH_EVENT_CHANNEL_PARK, NULL}, {SWITCH_EVENT_CHANNEL_UNPARK, NULL}, {SWITCH_EVENT_PLAYBACK_START, NULL},
	{SWITCH_EVENT_PLAYBACK_STOP, NULL}, {SWITCH_EVENT_CHANNEL_HANGUP, NULL}, {SWITCH_EVENT_CHANNEL_HANGUP_COMPLETE, NULL},
	{SWITCH_EVENT_CHANNEL_DESTROY, NULL}, {SWITCH_EVENT_CUSTOM, "sofia::register"}, {SWITCH_EVENT_CUSTOM, "sofia::unregister"},
	{SWITCH_EVENT_CUSTOM, "sofia::expire"}
};
#define NKINDS ((int) (sizeof(kinds) / sizeof(kinds[0])))

/* filler_headers: channel variables added to each event as a real switch
 * adds its ~200 (every variable of the channel), before the ones the module
 * reads. */
static int filler_headers;

static void add_fillers(switch_event_t *e, int n)
{
	char name[48];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "variable_standin_filler_%d", i);
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, name, "x");
	}
}

static switch_event_t *channel_event(switch_event_types_t id, const char *subclass, const char *user)
{
	switch_event_t *e;

	switch_event_create_subclass(&e, id, subclass);
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Unique-ID", "3f1c2d4e-0000-4000-8000-000000000001");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Call-Direction", "inbound");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Caller-Caller-ID-Number", "13912345678");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Caller-Destination-Number", "85733555");
	add_fillers(e, filler_headers);
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "variable_domain_name", "10.0.0.1");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Caller-Channel-Created-Time", "1764028800000000");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "Caller-Channel-Answered-Time", "1764028805000000");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "variable_nwayacd_call", "3f1c2d4e-0000-4000-8000-000000000002");
	switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "DTMF-Digit", "1");
	if (user) {
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "from-user", user);
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "from-host", "10.0.0.1");
	}
	return e;
}

/* the extension's line of nway_list_exts holds want */
static int ext_line_has(const char *ext, const char *want)
{
	char *r = run_api("nway_list_exts", ""), key[32], *line;
	int ok = 0;

	snprintf(key, sizeof(key), "%s\t", ext);
	for (line = r; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, key, strlen(key))) {
			char *end = strchr(line, '\n');

			if (end) *end = '\0';
			ok = strstr(line, want) != NULL;
			break;
		}
	}
	free(r);
	return ok;
}

static int ext_reged(const char *ext) { return ext_line_has(ext, "\treged"); }

static void test_events(int bench)
{
	int i, j;
	switch_event_t *e;

	CHECK(nbindings == NKINDS, "%d event bindings, want %d", nbindings, NKINDS);
	api_quiet("nway_add_ext", "1009 1009");
	api_quiet("nway_set_unreg_ext", "1009");
	for (i = 0; i < NKINDS; i++) {
		e = channel_event(kinds[i].id, kinds[i].subclass, kinds[i].id == SWITCH_EVENT_CUSTOM ? "1009" : NULL);
		if (kinds[i].subclass && strcmp(kinds[i].subclass, "sofia::register")) {
			switch_event_destroy(&e);	/* only the register: unregister/expire would undo it */
			continue;
		}
		switch_event_fire(&e);
	}
	/* an event nobody bound must not reach the module */
	e = channel_event(SWITCH_EVENT_CUSTOM, "sofia::gateway_state", NULL);
	switch_event_fire(&e);
	/* sofia::register went C block -> ring -> Go -> service */
	for (j = 0; j < 300 && !ext_reged("1009"); j++) usleep(10000);
	CHECK(ext_reged("1009"), "sofia::register for 1009 did not mark it reged");
	e = channel_event(SWITCH_EVENT_CUSTOM, "sofia::unregister", "1009");
	switch_event_fire(&e);
	for (j = 0; j < 300 && ext_reged("1009"); j++) usleep(10000);
	CHECK(!ext_reged("1009"), "sofia::unregister for 1009 did not mark it unreg");

	/* The module reads each header in one pass over the event: after 300
	 * others, in any case, the first of two of a name, the fallbacks
	 * (username when from-user is absent), and headers without a hash. */
	api_quiet("nway_add_ext", "1010 1010");
	api_quiet("nway_set_unreg_ext", "1010");
	for (i = 0; i < 2; i++) {
		switch_event_create_subclass(&e, SWITCH_EVENT_CUSTOM, "sofia::register");
		standin_unhashed = i;
		add_fillers(e, 300);
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, i ? "USERNAME" : "From-User", "1010");
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "from-user", "1009");	/* a second: ignored */
		switch_event_add_header_string(e, SWITCH_STACK_BOTTOM, "FROM-HOST", "10.0.0.1");
		standin_unhashed = 0;
		if (i) {
			/* no from-user: username names it */
			switch_event_header_t *h;

			for (h = e->headers; h; h = h->next) if (!strcasecmp(h->name, "from-user")) h->name[0] = 'X';
		}
		switch_event_fire(&e);
		for (j = 0; j < 300 && !ext_reged("1010"); j++) usleep(10000);
		CHECK(ext_reged("1010"), "register %d: 1010 not reged (a header not found in one pass)", i);
		CHECK(!ext_reged("1009"), "register %d: the second from-user was taken", i);
		e = channel_event(SWITCH_EVENT_CUSTOM, "sofia::unregister", "1010");
		switch_event_fire(&e);
		for (j = 0; j < 300 && ext_reged("1010"); j++) usleep(10000);
		CHECK(!ext_reged("1010"), "unregister after register %d: 1010 still reged", i);
	}

	if (bench) {
		/* the module's cost on the event thread: the bound callback itself */
		switch_event_callback_t cb = NULL;
		void *ud = NULL;
		int64_t t0, t1, sum = 0;
		int n = 20000, k;

		for (j = 0; j < nbindings; j++) if (bindings[j].id == SWITCH_EVENT_CHANNEL_ANSWER) { cb = bindings[j].cb; ud = bindings[j].user_data; }
		/* as many headers as a real channel event carries */
		filler_headers = 200;
		e = channel_event(SWITCH_EVENT_CHANNEL_ANSWER, NULL, NULL);
		filler_headers = 0;
		e->bind_user_data = ud;
		/* CPU time of this thread (the machine is shared, wall time is noise),
		 * in bursts of 100 with pauses, as events arrive on a real switch */
		for (j = 0; j < n / 100; j++) {
			t0 = thread_cpu_ns();
			for (k = 0; k < 100; k++) cb(e);
			t1 = thread_cpu_ns();
			sum += t1 - t0;
			usleep(2000);
		}
		printf("bench: channel event of 212 headers, cost on the calling thread: %.0f ns/event (%d events, thread CPU time)\n", (double) sum / n, n);
		{
			static const char *names[] = { "Unique-ID", "Other-Leg-Unique-ID", "variable_bridge_uuid", "Call-Direction",
				"Caller-Caller-ID-Number", "Caller-Destination-Number", "DTMF-Digit", "variable_sip_gateway_name",
				"Caller-Orig-Caller-ID-Number", "variable_nwayacd_dest", "variable_sip_to_user", "Hangup-Cause",
				"variable_sip_hangup_disposition", "variable_nwayacd_record_file", "variable_record_file",
				"Caller-Channel-Created-Time", "Caller-Channel-Answered-Time", "Caller-Channel-Hangup-Time",
				"variable_nwayacd_call", "variable_domain_name" };
			volatile const char *sink;

			t0 = thread_cpu_ns();
			for (j = 0; j < n; j++) for (k = 0; k < 20; k++) sink = switch_event_get_header(e, names[k]);
			t1 = thread_cpu_ns();
			(void) sink;
			printf("bench: 20 switch_event_get_header look-ups of the same event (the module's way before its one pass): %.0f ns/event\n", (double) (t1 - t0) / n);
		}
		switch_event_destroy(&e);

		n = 20000;
		t0 = thread_cpu_ns();
		for (j = 0; j < n; j++) free(run_api("nwayacd_version", ""));
		t1 = thread_cpu_ns();
		printf("bench: API command round trip (C stream -> Go -> C reply): %.0f ns/op (thread CPU time)\n", (double) (t1 - t0) / n);
	}
}

/* Counts this process's threads whose timer slack is want_ns and, of them,
 * how many are SCHED_OTHER; -1 when the kernel will not show another
 * thread's slack (it takes CAP_SYS_NICE). */
static int threads_with_slack(long want_ns, int *normal)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (normal) *normal = 0;
	if (!d) return -1;
	while ((e = readdir(d))) {
		char path[300];
		FILE *f;
		long v = -1;

		if (e->d_name[0] == '.') continue;
		/* the per-thread file is only under /proc/<tid> */
		snprintf(path, sizeof(path), "/proc/%s/timerslack_ns", e->d_name);
		if (!(f = fopen(path, "r"))) continue;
		if (fscanf(f, "%ld", &v) != 1) {
			if (errno == EPERM || errno == EACCES) {
				fclose(f);
				closedir(d);
				return -1;
			}
		} else if (v == want_ns) {
			n++;
			if (normal && sched_getscheduler(atoi(e->d_name)) == SCHED_OTHER) (*normal)++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* This process's SCHED_FIFO threads now; -1 when unreadable. */
static int fifo_threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d) return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] != '.' && sched_getscheduler(atoi(e->d_name)) == SCHED_FIFO) n++;
	}
	closedir(d);
	return n;
}

/* This process's SCHED_FIFO threads, settled: a Go thread lent the
 * switch's policy for a moment (nw_sched_lend) is not counted, so the
 * least count seen over up to 2 s, or want as soon as it is seen (the
 * event reader takes its policy a moment after the load, and a stopped
 * one gives its thread back a moment after the stop: on a busy machine
 * 200 ms was not always enough). */
static int realtime_threads(int want)
{
	int least = -1;

	for (int i = 0; i < 1000; i++) {
		int n = fifo_threads_now();

		if (n < 0) return -1;
		if (least < 0 || n < least) least = n;
		if (n == want) return n;
		usleep(2000);
	}
	return least;
}

/* The shim's initialiser runs the Go runtime's threads SCHED_OTHER with a
 * 4 ms timer slack (fewer scheduler-monitor naps, no realtime Go work
 * beside the media threads) and leaves the loading thread, like every
 * thread of the host's, as it was: realtime here, as in FreeSWITCH, when
 * this host may be. */
static void test_go_threads(int host_rt, long host_slack_ns)
{
	int normal = 0, go_threads = threads_with_slack(4000000, &normal);

	if (go_threads < 0) {
		printf("note: this host may not read other threads' timer slack (CAP_SYS_NICE); Go threads not checked\n");
		return;
	}
	CHECK(go_threads >= 2, "%d threads with the Go timer slack", go_threads);	/* sysmon, the template thread … */
	CHECK(normal == go_threads, "%d of %d Go threads are SCHED_OTHER", normal, go_threads);
	if (host_rt) {
		int fifo;

		CHECK(sched_getscheduler(0) == SCHED_FIFO, "loading thread's realtime policy not restored: %d", sched_getscheduler(0));
		/* nwayacd_start ran on this realtime thread and started goroutines:
		   no Go thread was cloned from it (only this one is realtime) */
		fifo = realtime_threads(1);
		CHECK(fifo == 1, "%d realtime threads after the load, want only the loading one", fifo);
	} else {
		printf("note: this host may not run SCHED_FIFO; checked the timer slack only\n");
		CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == host_slack_ns, "loading thread's timer slack not restored: %d ns, was %ld",
			  prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), host_slack_ns);
	}
}

/* NWAYACD_GO_THREADS=realtime (run by standin-test as a process of its
 * own: the shim's initialiser reads it once, at dlopen) keeps Go's threads
 * at the loading thread's policy: the Go runtime starts inside dlopen, so
 * its threads are there, realtime, right after it. */
static int test_go_threads_realtime(const char *so, int host_rt)
{
	void *dl;
	int fifo = 0;

	if (!host_rt) {
		printf("note: this host may not run SCHED_FIFO; NWAYACD_GO_THREADS not checked\n");
		return 0;
	}
	if (!(dl = dlopen(so, RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "dlopen %s: %s\n", so, dlerror());
		return 2;
	}
	CHECK(sched_getscheduler(0) == SCHED_FIFO, "loading thread's realtime policy not kept: %d", sched_getscheduler(0));
	for (int i = 0; i < 100 && (fifo = fifo_threads_now()) < 3; i++) {
		usleep(2000);	/* the runtime may still be starting its threads */
	}
	/* the loading thread, and Go's: the runtime's first thread, sysmon, … */
	CHECK(fifo >= 3, "NWAYACD_GO_THREADS=realtime: %d realtime threads after dlopen, want the loading one and Go's", fifo);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* The event reader's thread runs as the thread that loaded the module
 * (realtime here, as in FreeSWITCH), not with Go's coarse timer slack:
 * after the load it is the one realtime thread (the loading thread has
 * dropped again, no pool thread has started yet, and the reader of an
 * earlier load gave its thread back). */
static long fifo_thread_slack(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long slack = -1;

	if (!d) return -1;
	while ((e = readdir(d))) {
		char path[300];
		FILE *f;

		if (e->d_name[0] == '.' || sched_getscheduler(atoi(e->d_name)) != SCHED_FIFO) continue;
		snprintf(path, sizeof(path), "/proc/%s/timerslack_ns", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%ld", &slack) != 1) slack = -1;
			fclose(f);
		}
	}
	closedir(d);
	return slack;
}

static void test_reader_thread(int round, long host_slack_ns)
{
	int fifo = -1;
	long slack = -1;

	/* settled: the one realtime thread is the reader, not a Go thread
	   lent the policy for a moment while the reader has yet to take it */
	for (int i = 0; i < 1000; i++) {
		if ((fifo = realtime_threads(1)) == 1 && (slack = fifo_thread_slack()) != GO_SLACK_NS) break;
		usleep(2000);
	}
	CHECK(fifo == 1, "round %d: %d realtime threads after the load, want the event reader's alone", round, fifo);
	if (fifo != 1) return;
	/* Linux shows a realtime thread's slack as 0 (it has none) */
	CHECK(slack != GO_SLACK_NS, "round %d: the event reader kept Go's timer slack (%ld ns; the loading thread's %ld)", round, slack, host_slack_ns);
}

/* Go's calls that may start a switch thread ran as the switch's threads
 * do (go/bridge/ring.c, nw_sched_lend), and every Go thread has given the
 * loan back: none keeps a realtime policy. */
static void test_loans(int round)
{
	int normal = 0, go_threads = threads_with_slack(GO_SLACK_NS, &normal);

	pthread_mutex_lock(&lock);
	CHECK(may_spawn_calls > 0 && pool_threads > 0, "round %d: %d calls that may start a thread, %d pool launches", round, may_spawn_calls, pool_threads);
	CHECK(!may_spawn_unlike[0] && !may_spawn_unlike[1],
		  "round %d: calls not scheduled as the switch's threads: %d pool launches, %d API commands of %d (%s; %s)",
		  round, may_spawn_unlike[0], may_spawn_unlike[1], may_spawn_calls, host_rt ? "SCHED_FIFO host" : "slack only", may_spawn_first_unlike);
	pthread_mutex_unlock(&lock);
	if (go_threads >= 0) {
		CHECK(normal == go_threads, "round %d: %d of %d Go threads kept a loan of the realtime policy", round, go_threads - normal, go_threads);
	}
}

static switch_status_t load(void *dl)
{
	switch_loadable_module_function_table_t *t = dlsym(dl, "mod_nwayacd_module_interface");
	switch_loadable_module_interface_t *mi = NULL;
	switch_status_t st;

	CHECK(t != NULL, "no mod_nwayacd_module_interface: %s", dlerror());
	if (!t) return SWITCH_STATUS_FALSE;
	CHECK(t->switch_api_version == SWITCH_API_VERSION, "api version %d", t->switch_api_version);
	current_module = NULL;
	st = t->load(&mi, NULL);
	if (st != SWITCH_STATUS_SUCCESS && current_module) {
		module_free(current_module);
		current_module = NULL;
	}
	return st;
}

static switch_status_t unload(void *dl)
{
	switch_loadable_module_function_table_t *t = dlsym(dl, "mod_nwayacd_module_interface");
	switch_status_t st = t->shutdown();

	module_free(current_module);
	current_module = NULL;
	return st;
}

static void set_extra(const char *k, const char *v)
{
	int i;

	for (i = 0; i < MAX_EXTRA - 1; i++) {
		if (!extra_param[2 * i] || !strcmp(extra_param[2 * i], k)) {
			extra_param[2 * i] = k;
			extra_param[2 * i + 1] = v;
			return;
		}
	}
}

static void remove_run_dir(void)
{
	if (!getenv("STANDIN_KEEP")) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", run_dir);
		if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", run_dir);
	}
}

/* The SIP capture (sip-capture-listen) is drained by the module's event
 * reader, on its own thread (go/bridge/feed.go): datagrams sent to it are
 * counted in `nwayacd status`, which names that reader.  Round 1 binds the same port again, so the
 * unload of round 0 must have closed the reader's socket. */
static int capture_port;

static void pick_capture_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char v[32];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) || getsockname(fd, (struct sockaddr *) &a, &len)) {
		CHECK(0, "no free UDP port for the capture: %s", strerror(errno));
	} else {
		capture_port = ntohs(a.sin_port);
		snprintf(v, sizeof(v), "127.0.0.1:%d", capture_port);
		set_extra("sip-capture-listen", strdup(v));	/* kept: set_extra holds the pointer */
	}
	if (fd >= 0) close(fd);
}

static long capture_count(const char *key)
{
	char *st = run_api("nwayacd", "status"), *p, want[64];
	long n = -1;

	snprintf(want, sizeof(want), "\"%s\":", key);
	if ((p = strstr(st, "sip_capture: ")) && (p = strstr(p, want))) n = strtol(p + strlen(want), NULL, 10);
	free(st);
	return n;
}

static void test_capture(int round)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long before, got = -1, bad = -1;
	int fd, i;

	if (!capture_port) return;
	to.sin_port = htons(capture_port);
	before = capture_count("packets");
	CHECK(before >= 0, "round %d: no sip_capture in nwayacd status", round);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) return;
	for (i = 0; i < 5; i++) {
		sendto(fd, "not hep", 7, 0, (struct sockaddr *) &to, sizeof(to));
	}
	close(fd);
	for (i = 0; i < 200; i++) {
		if ((got = capture_count("packets")) >= before + 5) break;
		usleep(10000);
	}
	bad = capture_count("bad_packets");
	CHECK(got == before + 5 && bad >= 5, "round %d: the capture took %ld of 5 datagrams (%ld bad)", round, got - before, bad);
	{
		/* the module's own reader took them, not the node's fallback goroutine */
		char *st = run_api("nwayacd", "status");

		CHECK(strstr(st, "\"read_by\":\"event reader\"") != NULL, "round %d: the capture is not read by the event reader: %.400s",
			  round, strstr(st, "sip_capture") ? strstr(st, "sip_capture") : st);
		free(st);
	}
}

int main(int argc, char **argv)
{
	void *dl;
	int round;
	long host_slack_ns;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <mod_nwayacd.so> <nwayacd.conf.xml>\n", argv[0]);
		return 2;
	}
	verbose = getenv("STANDIN_VERBOSE") != NULL;
	conf_path = argv[2];
	snprintf(run_dir, sizeof(run_dir), "/tmp/nwayacd-standin.XXXXXX");
	if (!mkdtemp(run_dir)) return 2;
	asprintf(&SWITCH_GLOBAL_dirs.log_dir, "%s/log", run_dir);
	asprintf(&SWITCH_GLOBAL_dirs.db_dir, "%s/db", run_dir);
	asprintf(&SWITCH_GLOBAL_dirs.conf_dir, "%s/conf", run_dir);
	asprintf(&SWITCH_GLOBAL_dirs.recordings_dir, "%s/recordings", run_dir);
	if (mkdir(SWITCH_GLOBAL_dirs.log_dir, 0755) || mkdir(SWITCH_GLOBAL_dirs.db_dir, 0755)) return 2;
	/* keep the test to itself: any free port, no broker */
	set_extra("rest-listen", "127.0.0.1:0");
	set_extra("publisher", "none");
	set_extra("wrapup-seconds", "0");
	set_extra("overload-idle-cpu", "10");
	pick_capture_port();

	host_slack_ns = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	{
		/* FreeSWITCH's threads are SCHED_FIFO: load the module from one */
		struct sched_param fifo = { .sched_priority = 1 };

		host_rt = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;
	}
	if (getenv("NWAYACD_GO_THREADS")) {
		int rc = test_go_threads_realtime(argv[1], host_rt);

		remove_run_dir();
		return rc;
	}
	for (round = 0; round < 2; round++) {
		if (!(dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL))) {
			fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
			return 2;
		}
		/* FreeSWITCH loads a module from a realtime thread, failing or not:
		   a failed load's Go start may still run an API command as the
		   switch's threads run (it captured the loading thread's policy) */
		if (host_rt) {
			struct sched_param fifo = { .sched_priority = 1 };

			sched_setscheduler(0, SCHED_FIFO, &fifo);
		}
		/* a load that fails part-way undoes what it did: in C (an event bind fails) ... */
		fail_bind_at = 7;
		bind_calls = 0;
		CHECK(load(dl) != SWITCH_STATUS_SUCCESS, "round %d: load with a failing bind succeeded", round);
		if (round == 0) {
			test_go_threads(host_rt, host_slack_ns);
		}
		CHECK(nbindings == 0 && !subclass_reserved, "round %d: failed load left %d bindings, subclass %d", round, nbindings, subclass_reserved);
		fail_bind_at = 0;
		/* ... and in Go (refused config: public REST with the default password) */
		set_extra("rest-listen", "0.0.0.0:0");
		CHECK(load(dl) != SWITCH_STATUS_SUCCESS, "round %d: load with a refused config succeeded", round);
		CHECK(nbindings == 0 && !subclass_reserved, "round %d: failed Go start left %d bindings, subclass %d", round, nbindings, subclass_reserved);
		set_extra("rest-listen", "127.0.0.1:0");

		CHECK(load(dl) == SWITCH_STATUS_SUCCESS, "round %d: load failed", round);	/* still realtime, as FreeSWITCH's loading thread */
		if (host_rt) {
			struct sched_param other = { 0 };

			sched_setscheduler(0, SCHED_OTHER, &other);
			if (current_module) test_reader_thread(round, host_slack_ns);	/* no reader to wait for after a failed load */
		}
		if (!current_module) break;
		CHECK(subclass_reserved && !strcmp(reserved_name, "nwayacd::info"), "round %d: subclass not reserved", round);
		CHECK(completions >= NCOMMANDS, "round %d: %d completions", round, completions);
		test_apis();
		test_apps();
		test_ring_wait();
		test_routing();
		test_events(round == 0);
		test_capture(round);
		test_loans(round);
		CHECK(unload(dl) == SWITCH_STATUS_SUCCESS, "round %d: shutdown did not return SUCCESS", round);
		CHECK(nbindings == 0, "round %d: %d bindings after shutdown", round, nbindings);
		CHECK(!subclass_reserved, "round %d: subclass still reserved after shutdown", round);
		for (int i = 0; i < MAX_COMPLETE_FUNCS; i++) {
			CHECK(!complete_funcs[i].cb, "round %d: completion list %s still registered after shutdown", round, complete_funcs[i].name);
		}
		dlclose(dl);	/* a no-op under -z nodelete; the next dlopen gets the same image */
	}
	printf("host calls from Go: %d api_execute, %d nwayacd::info events\n", api_from_go, fired_info);
	CHECK(fired_info > 0 && info_whole == fired_info, "%d of %d nwayacd::info events had an Action header named in a JSON body",
		  info_whole, fired_info);

	remove_run_dir();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
