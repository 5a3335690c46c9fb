/*
 * Stand-in for <switch.h>: declares only what mod/mod_nwayacd.c uses, with
 * FreeSWITCH 1.10's names and signatures, so the real shim source compiles
 * unchanged.  The stand-in host (host.c) implements every function.
 * Layouts of structs are our own except where the shim reads fields.
 * Written for the test; not derived from FreeSWITCH's source text.
 */
#ifndef NWAY_STANDIN_SWITCH_H
#define NWAY_STANDIN_SWITCH_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <assert.h>

#define SWITCH_DECLARE(type) type
#define SWITCH_DECLARE_NONSTD(type) type
#define SWITCH_MOD_DECLARE_DATA __attribute__((visibility("default")))
#define __SWITCH_FUNC__ (const char *)__func__
#define switch_assert(x) assert(x)

typedef size_t switch_size_t;
typedef int64_t switch_time_t;
typedef enum { SWITCH_FALSE = 0, SWITCH_TRUE = 1 } switch_bool_t;

typedef enum {
	SWITCH_STATUS_SUCCESS,
	SWITCH_STATUS_FALSE,
	SWITCH_STATUS_TIMEOUT,
	SWITCH_STATUS_RESTART,
	SWITCH_STATUS_INTR,
	SWITCH_STATUS_NOTIMPL,
	SWITCH_STATUS_MEMERR,
	SWITCH_STATUS_NOOP,
	SWITCH_STATUS_RESAMPLE,
	SWITCH_STATUS_GENERR,
	SWITCH_STATUS_INUSE,
	SWITCH_STATUS_BREAK,
	SWITCH_STATUS_SOCKERR,
	SWITCH_STATUS_MORE_DATA,
	SWITCH_STATUS_NOTFOUND,
	SWITCH_STATUS_UNLOAD,
	SWITCH_STATUS_NOUNLOAD,
	SWITCH_STATUS_IGNORE,
	SWITCH_STATUS_TOO_SMALL,
	SWITCH_STATUS_FOUND,
	SWITCH_STATUS_CONTINUE,
	SWITCH_STATUS_TERM
} switch_status_t;

typedef enum {
	SWITCH_LOG_DEBUG = 7,
	SWITCH_LOG_INFO = 6,
	SWITCH_LOG_NOTICE = 5,
	SWITCH_LOG_WARNING = 4,
	SWITCH_LOG_ERROR = 3,
	SWITCH_LOG_CRIT = 2,
	SWITCH_LOG_ALERT = 1,
	SWITCH_LOG_CONSOLE = 0
} switch_log_level_t;

typedef enum { SWITCH_CHANNEL_ID_LOG, SWITCH_CHANNEL_ID_LOG_CLEAN, SWITCH_CHANNEL_ID_EVENT, SWITCH_CHANNEL_ID_SESSION } switch_text_channel_t;

typedef struct standin_pool switch_memory_pool_t;
typedef struct standin_session switch_core_session_t;
typedef struct standin_channel switch_channel_t;
typedef struct standin_module switch_loadable_module_interface_t;
typedef struct standin_frame switch_frame_t;
typedef struct standin_file_handle switch_file_handle_t;
typedef struct standin_state_table switch_state_handler_table_t;
typedef struct standin_dial_handle switch_dial_handle_t;

static inline switch_core_session_t *switch_core_session_type_check(switch_core_session_t *session) { return session; }
#define SWITCH_CHANNEL_LOG SWITCH_CHANNEL_ID_LOG, __FILE__, __SWITCH_FUNC__, __LINE__, NULL
#define SWITCH_CHANNEL_SESSION_LOG(x) SWITCH_CHANNEL_ID_SESSION, __FILE__, __SWITCH_FUNC__, __LINE__, (const char *)switch_core_session_type_check(x)
void switch_log_printf(switch_text_channel_t channel, const char *file, const char *func, int line,
					   const char *userdata, switch_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static inline int _zstr(const char *s) { return !s || *s == '\0'; }
#define zstr(x) _zstr(x)

/* modules */
#define SWITCH_API_VERSION 5
#define SWITCH_MODULE_LOAD_ARGS (switch_loadable_module_interface_t **module_interface, switch_memory_pool_t *pool)
#define SWITCH_MODULE_RUNTIME_ARGS (void)
#define SWITCH_MODULE_SHUTDOWN_ARGS (void)
typedef switch_status_t (*switch_module_load_t) SWITCH_MODULE_LOAD_ARGS;
typedef switch_status_t (*switch_module_runtime_t) SWITCH_MODULE_RUNTIME_ARGS;
typedef switch_status_t (*switch_module_shutdown_t) SWITCH_MODULE_SHUTDOWN_ARGS;
#define SWITCH_MODULE_LOAD_FUNCTION(name) switch_status_t name SWITCH_MODULE_LOAD_ARGS
#define SWITCH_MODULE_SHUTDOWN_FUNCTION(name) switch_status_t name SWITCH_MODULE_SHUTDOWN_ARGS
typedef enum { SMODF_NONE = 0 } switch_module_flag_enum_t;
typedef uint32_t switch_module_flag_t;
typedef struct switch_loadable_module_function_table {
	int switch_api_version;
	switch_module_load_t load;
	switch_module_shutdown_t shutdown;
	switch_module_runtime_t runtime;
	switch_module_flag_t flags;
} switch_loadable_module_function_table_t;
#define SWITCH_MODULE_DEFINITION(name, load, shutdown, runtime) \
	static const char modname[] = #name; \
	SWITCH_MOD_DECLARE_DATA switch_loadable_module_function_table_t name##_module_interface = { SWITCH_API_VERSION, load, shutdown, runtime, SMODF_NONE }

typedef enum { SWITCH_ENDPOINT_INTERFACE, SWITCH_TIMER_INTERFACE, SWITCH_DIALPLAN_INTERFACE, SWITCH_CODEC_INTERFACE,
	SWITCH_APPLICATION_INTERFACE, SWITCH_API_INTERFACE } switch_module_interface_name_t;

/* streams */
typedef struct switch_stream_handle switch_stream_handle_t;
typedef switch_status_t (*switch_stream_handle_write_function_t) (switch_stream_handle_t *handle, const char *fmt, ...);
typedef switch_status_t (*switch_stream_handle_raw_write_function_t) (switch_stream_handle_t *handle, uint8_t *data, switch_size_t datalen);
struct switch_stream_handle {
	void *read_function;
	switch_stream_handle_write_function_t write_function;
	switch_stream_handle_raw_write_function_t raw_write_function;
	void *data;
	void *end;
	switch_size_t data_size;
	switch_size_t data_len;
	switch_size_t alloc_len;
	switch_size_t alloc_chunk;
	void *param_event;
};
switch_status_t switch_console_stream_write(switch_stream_handle_t *handle, const char *fmt, ...);
switch_status_t switch_console_stream_raw_write(switch_stream_handle_t *handle, uint8_t *data, switch_size_t datalen);
#define SWITCH_CMD_CHUNK_LEN 1024
#define SWITCH_STANDARD_STREAM(s) memset(&s, 0, sizeof(s)); s.data = malloc(SWITCH_CMD_CHUNK_LEN); \
	switch_assert(s.data); memset(s.data, 0, SWITCH_CMD_CHUNK_LEN); s.end = s.data; s.data_size = SWITCH_CMD_CHUNK_LEN; \
	s.write_function = switch_console_stream_write; s.raw_write_function = switch_console_stream_raw_write; \
	s.alloc_len = SWITCH_CMD_CHUNK_LEN; s.alloc_chunk = SWITCH_CMD_CHUNK_LEN
void switch_console_set_complete(const char *string);
struct switch_console_callback_match_node {
	char *val;
	struct switch_console_callback_match_node *next;
};
typedef struct switch_console_callback_match_node switch_console_callback_match_node_t;
struct switch_console_callback_match {
	struct switch_console_callback_match_node *head;
	struct switch_console_callback_match_node *end;
	int count;
	int dynamic;
};
typedef struct switch_console_callback_match switch_console_callback_match_t;
typedef switch_status_t (*switch_console_complete_callback_t) (const char *, const char *, switch_console_callback_match_t **matches);
switch_status_t switch_console_add_complete_func(const char *name, switch_console_complete_callback_t cb);
switch_status_t switch_console_del_complete_func(const char *name);
void switch_console_push_match(switch_console_callback_match_t **matches, const char *new_val);

/* interfaces */
typedef switch_status_t (*switch_api_function_t) (const char *cmd, switch_core_session_t *session, switch_stream_handle_t *stream);
typedef void (*switch_application_function_t) (switch_core_session_t *, const char *);
#define SWITCH_STANDARD_API(name) static switch_status_t name (const char *cmd, switch_core_session_t *session, switch_stream_handle_t *stream)
#define SWITCH_STANDARD_APP(name) static void name (switch_core_session_t *session, const char *data)
typedef struct switch_api_interface {
	const char *interface_name;
	const char *desc;
	switch_api_function_t function;
	const char *syntax;
	struct switch_api_interface *next;
} switch_api_interface_t;
typedef enum { SAF_NONE = 0, SAF_SUPPORT_NOMEDIA = (1 << 0) } switch_application_flag_enum_t;
typedef struct switch_application_interface {
	const char *interface_name;
	switch_application_function_t application_function;
	const char *long_desc;
	const char *short_desc;
	const char *syntax;
	uint32_t flags;
	struct switch_application_interface *next;
} switch_application_interface_t;
switch_loadable_module_interface_t *switch_loadable_module_create_module_interface(switch_memory_pool_t *pool, const char *name);
void *switch_loadable_module_create_interface(switch_loadable_module_interface_t *mod, switch_module_interface_name_t iname);
#define SWITCH_ADD_API(api_int, int_name, descript, funcptr, syntax_string) \
	for (;;) { \
	api_int = (switch_api_interface_t *)switch_loadable_module_create_interface(*module_interface, SWITCH_API_INTERFACE); \
	api_int->interface_name = int_name; api_int->desc = descript; api_int->function = funcptr; api_int->syntax = syntax_string; \
	break; }
#define SWITCH_ADD_APP(app_int, int_name, short_descript, long_descript, funcptr, syntax_string, app_flags) \
	for (;;) { \
	app_int = (switch_application_interface_t *)switch_loadable_module_create_interface(*module_interface, SWITCH_APPLICATION_INTERFACE); \
	app_int->interface_name = int_name; app_int->application_function = funcptr; app_int->short_desc = short_descript; \
	app_int->long_desc = long_descript; app_int->syntax = syntax_string; app_int->flags = app_flags; \
	break; }
switch_status_t switch_api_execute(const char *cmd, const char *arg, switch_core_session_t *session, switch_stream_handle_t *stream);

/* xml */
typedef struct switch_xml *switch_xml_t;
struct switch_xml {
	char *name;
	char **attr;
	char *txt;
	switch_xml_t next;
	switch_xml_t child;
};
switch_xml_t switch_xml_open_cfg(const char *file_path, switch_xml_t *node, void *params);
switch_xml_t switch_xml_child(switch_xml_t xml, const char *name);
const char *switch_xml_attr_soft(switch_xml_t xml, const char *attr);
void switch_xml_free(switch_xml_t xml);

typedef struct {
	char *log_dir;
	char *db_dir;
	char *conf_dir;
	char *recordings_dir;
} switch_directories;
extern switch_directories SWITCH_GLOBAL_dirs;

/* events */
typedef enum {
	SWITCH_EVENT_CUSTOM,
	SWITCH_EVENT_CHANNEL_CREATE,
	SWITCH_EVENT_CHANNEL_DESTROY,
	SWITCH_EVENT_CHANNEL_ANSWER,
	SWITCH_EVENT_CHANNEL_HANGUP,
	SWITCH_EVENT_CHANNEL_HANGUP_COMPLETE,
	SWITCH_EVENT_CHANNEL_BRIDGE,
	SWITCH_EVENT_CHANNEL_UNBRIDGE,
	SWITCH_EVENT_CHANNEL_PROGRESS,
	SWITCH_EVENT_CHANNEL_PROGRESS_MEDIA,
	SWITCH_EVENT_CHANNEL_HOLD,
	SWITCH_EVENT_CHANNEL_UNHOLD,
	SWITCH_EVENT_CHANNEL_PARK,
	SWITCH_EVENT_CHANNEL_UNPARK,
	SWITCH_EVENT_DTMF,
	SWITCH_EVENT_PLAYBACK_START,
	SWITCH_EVENT_PLAYBACK_STOP,
	SWITCH_EVENT_REQUEST_PARAMS,
	SWITCH_EVENT_CHANNEL_DATA,
	SWITCH_EVENT_CLONE,
	SWITCH_EVENT_ALL
} switch_event_types_t;
typedef enum { SWITCH_STACK_BOTTOM = (1 << 0), SWITCH_STACK_TOP = (1 << 1) } switch_stack_t;
/* The fields the module reads, as switch_event.h has them. */
typedef struct switch_event_header {
	char *name;
	char *value;
	char **array;
	int idx;
	unsigned long hash;
	struct switch_event_header *next;
} switch_event_header_t;
typedef long switch_ssize_t;
unsigned int switch_ci_hashfunc_default(const char *char_key, switch_ssize_t *klen);
double switch_core_idle_cpu(void);
typedef struct switch_event {
	switch_event_types_t event_id;
	int priority;
	char *owner;
	char *subclass_name;
	switch_event_header_t *headers;
	switch_event_header_t *last_header;
	char *body;
	void *bind_user_data;
	void *event_user_data;
	unsigned long key;
	struct switch_event *next;
	int flags;
} switch_event_t;
typedef void (*switch_event_callback_t) (switch_event_t *);
#define SWITCH_EVENT_SUBCLASS_ANY NULL
switch_status_t switch_event_create_subclass_detailed(const char *file, const char *func, int line, switch_event_t **event,
													  switch_event_types_t event_id, const char *subclass_name);
#define switch_event_create_subclass(_e, _eid, _sn) switch_event_create_subclass_detailed(__FILE__, __SWITCH_FUNC__, __LINE__, _e, _eid, _sn)
#define switch_event_create(event, id) switch_event_create_subclass(event, id, SWITCH_EVENT_SUBCLASS_ANY)
#define EF_UNIQ_HEADERS (1 << 0)
/* As switch_event.h has it: an event without the headers the switch adds
   for delivery (Event-Name, Core-UUID, ...). */
static inline switch_status_t switch_event_create_plain(switch_event_t **event, switch_event_types_t event_id)
{
	switch_status_t status = switch_event_create(event, SWITCH_EVENT_CLONE);

	if (status == SWITCH_STATUS_SUCCESS) {
		(*event)->event_id = event_id;
		if (event_id == SWITCH_EVENT_REQUEST_PARAMS || event_id == SWITCH_EVENT_CHANNEL_DATA) {
			(*event)->flags |= EF_UNIQ_HEADERS;
		}
	}
	return status;
}
char *switch_event_get_header_idx(switch_event_t *event, const char *header_name, int idx);
#define switch_event_get_header(_e, _h) switch_event_get_header_idx(_e, _h, -1)
switch_status_t switch_event_add_header_string(switch_event_t *event, switch_stack_t stack, const char *header_name, const char *data);
switch_status_t switch_event_add_body(switch_event_t *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void switch_event_destroy(switch_event_t **event);
switch_status_t switch_event_fire_detailed(const char *file, const char *func, int line, switch_event_t **event, void *user_data);
#define switch_event_fire(event) switch_event_fire_detailed(__FILE__, __SWITCH_FUNC__, __LINE__, event, NULL)
switch_status_t switch_event_bind(const char *id, switch_event_types_t event, const char *subclass_name, switch_event_callback_t callback, void *user_data);
switch_status_t switch_event_unbind_callback(switch_event_callback_t callback);
switch_status_t switch_event_reserve_subclass_detailed(const char *owner, const char *subclass_name);
switch_status_t switch_event_free_subclass_detailed(const char *owner, const char *subclass_name);
#define switch_event_reserve_subclass(subclass_name) switch_event_reserve_subclass_detailed(__FILE__, subclass_name)
#define switch_event_free_subclass(subclass_name) switch_event_free_subclass_detailed(__FILE__, subclass_name)

/* sessions and channels */
typedef enum {
	SWITCH_CAUSE_NONE = 0,
	SWITCH_CAUSE_UNALLOCATED_NUMBER = 1,
	SWITCH_CAUSE_NORMAL_CLEARING = 16,
	SWITCH_CAUSE_USER_BUSY = 17,
	SWITCH_CAUSE_NO_USER_RESPONSE = 18,
	SWITCH_CAUSE_NO_ANSWER = 19,
	SWITCH_CAUSE_CALL_REJECTED = 21,
	SWITCH_CAUSE_NORMAL_TEMPORARY_FAILURE = 41,
	SWITCH_CAUSE_ORIGINATOR_CANCEL = 487,
	SWITCH_CAUSE_USER_NOT_REGISTERED = 806
} switch_call_cause_t;
typedef enum { CS_NEW, CS_INIT, CS_ROUTING, CS_EXECUTE, CS_HANGUP } switch_channel_state_t;
typedef enum { CF_ANSWERED = 1, CF_BREAK = 2, CF_TRANSFER = 3, CF_PROXY_MODE = 4, CF_RING_READY = 5 } switch_channel_flag_t;
typedef enum { SMF_NONE = 0 } switch_media_flag_enum_t;
typedef uint32_t switch_media_flag_t;
switch_status_t switch_ivr_media(const char *uuid, switch_media_flag_t flags);
typedef enum { SWITCH_SIG_NONE, SWITCH_SIG_KILL, SWITCH_SIG_XFER, SWITCH_SIG_BREAK } switch_signal_t;
typedef enum { SWITCH_INPUT_TYPE_DTMF, SWITCH_INPUT_TYPE_EVENT } switch_input_type_t;
typedef uint32_t switch_originate_flag_t;
#define SOF_NONE 0
#define SWITCH_UUID_FORMATTED_LENGTH 256

typedef struct switch_caller_profile {
	const char *caller_id_name;
	const char *caller_id_number;
	const char *destination_number;
} switch_caller_profile_t;

typedef switch_status_t (*switch_input_callback_function_t) (switch_core_session_t *session, void *input, switch_input_type_t input_type, void *buf, unsigned int buflen);
typedef switch_status_t (*switch_read_frame_callback_function_t) (switch_core_session_t *session, switch_frame_t *frame, void *user_data);
typedef struct {
	switch_input_callback_function_t input_callback;
	void *buf;
	uint32_t buflen;
	switch_read_frame_callback_function_t read_frame_callback;
	void *user_data;
	void *dmachine;
	int loops;
} switch_input_args_t;

switch_channel_t *switch_core_session_get_channel(switch_core_session_t *session);
char *switch_core_session_get_uuid(switch_core_session_t *session);
void switch_core_session_rwunlock(switch_core_session_t *session);
switch_core_session_t *switch_core_session_perform_locate(const char *uuid_str, const char *file, const char *func, int line);
#define switch_core_session_locate(uuid_str) switch_core_session_perform_locate(uuid_str, __FILE__, __SWITCH_FUNC__, __LINE__)
switch_status_t switch_core_session_perform_kill_channel(switch_core_session_t *session, const char *file, const char *func, int line, switch_signal_t sig);
#define switch_core_session_kill_channel(session, sig) switch_core_session_perform_kill_channel(session, __FILE__, __SWITCH_FUNC__, __LINE__, sig)
void switch_channel_set_flag_value(switch_channel_t *channel, switch_channel_flag_t flag, uint32_t value);
#define switch_channel_set_flag(_c, _f) switch_channel_set_flag_value(_c, _f, 1)
int switch_channel_test_ready(switch_channel_t *channel, switch_bool_t check_ready, switch_bool_t check_media);
#define switch_channel_ready(_channel) switch_channel_test_ready(_channel, SWITCH_TRUE, SWITCH_FALSE)
uint32_t switch_channel_test_flag(switch_channel_t *channel, switch_channel_flag_t flag);
void switch_channel_clear_flag(switch_channel_t *channel, switch_channel_flag_t flag);
switch_status_t switch_channel_perform_answer(switch_channel_t *channel, const char *file, const char *func, int line);
#define switch_channel_answer(channel) switch_channel_perform_answer(channel, __FILE__, __SWITCH_FUNC__, __LINE__)
switch_channel_state_t switch_channel_perform_hangup(switch_channel_t *channel, const char *file, const char *func, int line, switch_call_cause_t hangup_cause);
#define switch_channel_hangup(channel, hangup_cause) switch_channel_perform_hangup(channel, __FILE__, __SWITCH_FUNC__, __LINE__, hangup_cause)
switch_status_t switch_channel_set_variable_var_check(switch_channel_t *channel, const char *varname, const char *value, switch_bool_t var_check);
#define switch_channel_set_variable(_channel, _var, _val) switch_channel_set_variable_var_check(_channel, _var, _val, SWITCH_TRUE)
const char *switch_channel_get_variable_dup(switch_channel_t *channel, const char *varname, switch_bool_t dup, int idx);
#define switch_channel_get_variable(_c, _v) switch_channel_get_variable_dup(_c, _v, SWITCH_TRUE, -1)
switch_caller_profile_t *switch_channel_get_caller_profile(switch_channel_t *channel);
#define switch_channel_media_ready(_channel) switch_channel_test_ready(_channel, SWITCH_TRUE, SWITCH_TRUE)
typedef enum { SWITCH_RING_READY_NONE, SWITCH_RING_READY_RINGING, SWITCH_RING_READY_QUEUED } switch_ring_ready_t;
switch_status_t switch_channel_perform_ring_ready_value(switch_channel_t *channel, switch_ring_ready_t rv, const char *file, const char *func, int line);
#define switch_channel_ring_ready(channel) switch_channel_perform_ring_ready_value(channel, SWITCH_RING_READY_RINGING, __FILE__, __SWITCH_FUNC__, __LINE__)
typedef struct switch_channel_timetable {
	switch_time_t profile_created;
	switch_time_t created;
	switch_time_t answered;
} switch_channel_timetable_t;
switch_channel_timetable_t *switch_channel_get_timetable(switch_channel_t *channel);
switch_status_t switch_channel_set_private(switch_channel_t *channel, const char *key, const void *private_info);
void *switch_channel_get_private(switch_channel_t *channel, const char *key);
void *switch_core_perform_session_alloc(switch_core_session_t *session, switch_size_t memory, const char *file, const char *func, int line);
#define switch_core_session_alloc(_session, _memory) switch_core_perform_session_alloc(_session, _memory, __FILE__, __SWITCH_FUNC__, __LINE__)
switch_memory_pool_t *switch_core_session_get_pool(switch_core_session_t *session);
switch_call_cause_t switch_channel_str2cause(const char *str);
const char *switch_channel_cause2str(switch_call_cause_t cause);

/* threads, mutexes, conditions (switch_apr.h, switch_core.h) */
typedef struct standin_mutex switch_mutex_t;
typedef struct standin_cond switch_thread_cond_t;
typedef struct standin_thread switch_thread_t;
typedef int64_t switch_interval_time_t;
#define SWITCH_MUTEX_NESTED 0x1
#define SWITCH_THREAD_FUNC
typedef void *(SWITCH_THREAD_FUNC * switch_thread_start_t) (switch_thread_t *, void *);
typedef struct switch_thread_data_s {
	switch_thread_start_t func;
	void *obj;
	int alloc;
	int running;
	switch_memory_pool_t *pool;
} switch_thread_data_t;
switch_status_t switch_mutex_init(switch_mutex_t **lock, unsigned int flags, switch_memory_pool_t *pool);
switch_status_t switch_mutex_lock(switch_mutex_t *lock);
switch_status_t switch_mutex_unlock(switch_mutex_t *lock);
switch_status_t switch_thread_cond_create(switch_thread_cond_t **cond, switch_memory_pool_t *pool);
switch_status_t switch_thread_cond_timedwait(switch_thread_cond_t *cond, switch_mutex_t *mutex, switch_interval_time_t timeout);
switch_status_t switch_thread_cond_broadcast(switch_thread_cond_t *cond);
switch_status_t switch_thread_cond_signal(switch_thread_cond_t *cond);
switch_status_t switch_thread_pool_launch_thread(switch_thread_data_t **tdp);
char *switch_copy_string(char *to, const char *from, switch_size_t to_len);

switch_time_t switch_micro_time_now(void);
char *switch_uuid_str(char *buf, switch_size_t len);

switch_status_t switch_ivr_parse_all_events(switch_core_session_t *session);
switch_status_t switch_ivr_sleep(switch_core_session_t *session, uint32_t ms, switch_bool_t sync, switch_input_args_t *args);
switch_status_t switch_ivr_play_file(switch_core_session_t *session, switch_file_handle_t *fh, const char *file, switch_input_args_t *args);
switch_status_t switch_ivr_originate(switch_core_session_t *session, switch_core_session_t **bleg, switch_call_cause_t *cause,
									 const char *bridgeto, uint32_t timelimit_sec, const switch_state_handler_table_t *table,
									 const char *cid_name_override, const char *cid_num_override,
									 switch_caller_profile_t *caller_profile_override, switch_event_t *ovars,
									 switch_originate_flag_t flags, switch_call_cause_t *cancel_cause, switch_dial_handle_t *dh);
switch_status_t switch_ivr_multi_threaded_bridge(switch_core_session_t *session, switch_core_session_t *peer_session,
												 switch_input_callback_function_t dtmf_callback, void *session_data, void *peer_session_data);

#endif
