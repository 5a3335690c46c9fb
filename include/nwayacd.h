/*
 * nwayacd.h -- the boundary between the FreeSWITCH shim (mod/mod_nwayacd.c)
 * and the Go c-archive (go/cmd/mod_nwayacd, go/bridge).
 *
 * Rules that hold for every function below:
 *  - Channels are named by UUID strings; no pointer to a FreeSWITCH object
 *    crosses into Go, and no Go pointer is ever handed to C.
 *  - Strings passed host -> Go are borrowed: valid for the duration of the
 *    call only; Go copies what it keeps.  NULL is read as "".
 *  - Strings returned Go -> host as char * are malloc()'d by Go; the host
 *    releases them with free().
 *  - No Go entry point blocks on anything but Go-side locks held briefly;
 *    every entry point recovers Go panics (logged with the stack) and returns
 *    a safe value instead.
 *  - Host callbacks (nwayacd_host_t) are called from Go goroutines only, never
 *    from inside a host -> Go call, so FreeSWITCH never waits on itself;
 *    the exceptions are wake and offer, which never block.
 */
#ifndef NWAYACD_H
#define NWAYACD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NWAYACD_ABI_VERSION 4

/* Name of the custom event subclass the module reserves and fires. */
#define NWAYACD_EVENT_SUBCLASS "nwayacd::info"

/* ------------------------------------------------------------------------ */
/* Host services, handed to Go once at nwayacd_start().                      */

struct nwayacd_directive;	/* below */

typedef struct nwayacd_host {
	/* Must be NWAYACD_ABI_VERSION. */
	int abi_version;

	/* Runs the FreeSWITCH API command `cmd` with `args` (either may be "" but
	 * not NULL).  On return *out is a malloc()'d, NUL-terminated copy of the
	 * command's output (Go free()s it), or NULL when there was none.
	 * Returns 0 when the command ran (its output may still say -ERR),
	 * -1 when it could not run (unknown command, module not running). */
	int (*api_execute)(const char *cmd, const char *args, char **out);

	/* Writes one line to FreeSWITCH's log.  level is a switch_log_level_t
	 * value (0 console .. 7 debug); file/line name the Go caller; msg has no
	 * trailing newline.  All strings are borrowed. */
	void (*log)(int level, const char *file, int line, const char *msg);

	/* Fires a CUSTOM event with the given subclass (normally
	 * NWAYACD_EVENT_SUBCLASS).  headers holds nheaders*2 borrowed strings:
	 * name0, value0, name1, value1, ...  body may be NULL (no body).
	 * Returns 0 when fired, -1 when the event could not be created. */
	int (*fire_event)(const char *subclass, const char *const *headers, int nheaders, const char *body);

	/* Wakes the session `uuid` waiting in a WAIT directive, so it asks
	 * nwayacd_next at once (what uuid_break did, without the API layer and
	 * without waiting for the next media frame).  Never blocks; may be called
	 * from inside a host -> Go call (the session is found with a try-lock).
	 * Returns 0 when the session was found, -1 otherwise. */
	int (*wake)(const char *uuid);

	/* Starts offer d (an OFFER directive, borrowed) of the waiting caller
	 * uuid at once, on a thread of its own, rather than when the caller's
	 * session next asks (after its next media frame): the agent's INVITE
	 * leaves now.  The originate has no a-leg; the caller's session, woken,
	 * gets the same OFFER from nwayacd_next, takes this job over instead of
	 * originating, plays d->file while it rings, bridges the answered leg
	 * and reports with nwayacd_offer_result as usual.  If the caller leaves
	 * first the originate is cancelled (an answered leg hung up).  Never
	 * blocks; may be called from inside a host -> Go call, like wake.
	 * Returns 0 when started, -1 otherwise (then the session originates
	 * itself when it asks). */
	int (*offer)(const char *uuid, const struct nwayacd_directive *d);
} nwayacd_host_t;

/* ------------------------------------------------------------------------ */
/* Session protocol (see go/session): the application thread asks Go what to */
/* do next and reports outcomes.                                             */

typedef enum {
	NWAYACD_KIND_QUEUE = 1,		/* nwayacd <group> */
	NWAYACD_KIND_CALLOUT = 2,	/* nwaycallout <number> <gateway> <group> */
	NWAYACD_KIND_DIRECT = 3		/* nway_bridge <extension> */
} nwayacd_kind_t;

typedef enum {
	NWAYACD_WAIT = 1,	/* play file until woken (host wake, uuid_break), timeout_ms (0: none) or, with loops > 0, that many plays */
	NWAYACD_PLAY = 2,	/* answer if needed, play file `loops` times */
	NWAYACD_OFFER = 3,	/* originate dial (timeout_ms, caller_number), bridge on answer; file: what the caller hears meanwhile */
	NWAYACD_HANGUP = 4,	/* play file if set, hang up with cause */
	NWAYACD_DONE = 5	/* set vars, return to the dialplan */
} nwayacd_action_t;

/* Borrowed description of the channel entering an application. */
typedef struct nwayacd_call {
	int kind;					/* nwayacd_kind_t */
	const char *uuid;
	const char *group;			/* QUEUE, CALLOUT */
	const char *target;			/* CALLOUT: outside number; DIRECT: extension */
	const char *gateway;		/* CALLOUT */
	const char *caller_number;
	const char *caller_name;
	const char *dest_number;
	const char *level;			/* channel variable nwayacd_level, "" when unset */
	const char *skills;			/* channel variable nwayacd_skills ("zh:5,billing:3"), "" when unset */
	double idle_cpu;			/* the switch's idle CPU in percent (switch_core_idle_cpu); < 0 when not known */
} nwayacd_call_t;

#define NWAYACD_FILE_LEN 1024
#define NWAYACD_DIAL_LEN 4096
#define NWAYACD_NAME_LEN 128
#define NWAYACD_CAUSE_LEN 64
#define NWAYACD_MAX_VARS 16
#define NWAYACD_VAR_NAME_LEN 128
#define NWAYACD_VAR_VALUE_LEN 512

/* One step for the session thread.  Owned by the caller (the shim), filled
 * by Go; every string is NUL-terminated within its buffer.  A value that does
 * not fit is never truncated silently: Go logs it and substitutes a safe
 * directive (a failed offer is reported and Next asked; otherwise HANGUP with
 * NORMAL_TEMPORARY_FAILURE; an oversized variable is dropped). */
typedef struct nwayacd_directive {
	int action;					/* nwayacd_action_t */
	int loops;					/* PLAY; WAIT: > 0 returns after that many plays */
	int timeout_ms;				/* WAIT, OFFER */
	int nvars;					/* set on the channel before the action runs */
	int ring_ms;				/* WAIT, OFFER: a caller without media yet stays ringing,
								 * unanswered, until ring_ms after its channel was created
								 * (then it is answered and hears file); 0: answer at once */
	char file[NWAYACD_FILE_LEN];
	char dial[NWAYACD_DIAL_LEN];
	char agent[NWAYACD_NAME_LEN];
	char caller_number[NWAYACD_NAME_LEN];
	char cause[NWAYACD_CAUSE_LEN];	/* FreeSWITCH cause name */
	char var_name[NWAYACD_MAX_VARS][NWAYACD_VAR_NAME_LEN];
	char var_value[NWAYACD_MAX_VARS][NWAYACD_VAR_VALUE_LEN];
} nwayacd_directive_t;

/* Borrowed outcome of one OFFER.  Go derives the outcome: answered -> Answered;
 * caller_gone -> Canceled; otherwise by cause (NO_ANSWER, USER_BUSY,
 * CALL_REJECTED, timeouts -> NoAnswer; anything else -> Failed). */
typedef struct nwayacd_offer_result {
	const char *uuid;			/* the caller's channel */
	const char *agent;			/* directive.agent */
	const char *agent_uuid;		/* the answered agent leg; "" otherwise (Go names legs in the dial string) */
	int answered;				/* 1: the agent answered and will be bridged */
	int caller_gone;			/* 1: the caller hung up while it rang */
	const char *cause;			/* switch_channel_cause2str() of the originate */
	double idle_cpu;			/* the switch's idle CPU in percent as it ended (switch_core_idle_cpu);
								   < 0 when not known: a failure on a saturated switch is not the agent's */
} nwayacd_offer_result_t;

/* ------------------------------------------------------------------------ */
/* Channel events: one malloc()'d block per event.                           */

typedef enum {
	NWAYACD_EF_UUID,			/* Unique-ID */
	NWAYACD_EF_OTHER_UUID,		/* Other-Leg-Unique-ID, else variable_bridge_uuid */
	NWAYACD_EF_DIRECTION,		/* Call-Direction */
	NWAYACD_EF_CALLER_NUMBER,	/* Caller-Caller-ID-Number */
	NWAYACD_EF_DEST_NUMBER,		/* Caller-Destination-Number */
	NWAYACD_EF_DOMAIN,			/* variable_domain_name; registrations: from-host, realm, host */
	NWAYACD_EF_DTMF,			/* DTMF-Digit */
	NWAYACD_EF_GATEWAY,			/* variable_sip_gateway_name */
	NWAYACD_EF_ORIG_CALLER,		/* Caller-Orig-Caller-ID-Number */
	NWAYACD_EF_ORIG_DEST,		/* variable_nwayacd_dest, else variable_sip_to_user */
	NWAYACD_EF_HANGUP_CAUSE,	/* Hangup-Cause */
	NWAYACD_EF_SIP_DISPOSITION,	/* variable_sip_hangup_disposition */
	NWAYACD_EF_RECORD_FILE,		/* variable_nwayacd_record_file, else variable_record_file */
	NWAYACD_EF_START_USEC,		/* Caller-Channel-Created-Time (decimal microseconds) */
	NWAYACD_EF_ANSWER_USEC,		/* Caller-Channel-Answered-Time */
	NWAYACD_EF_END_USEC,		/* Caller-Channel-Hangup-Time */
	NWAYACD_EF_USER,			/* registrations: from-user, else username, else user */
	NWAYACD_EF_NWAY_CALL,		/* variable_nwayacd_call */
	NWAYACD_EF_COUNT
} nwayacd_event_field_t;

/* kind is the go/session EventKind of the binding that delivered the event
 * (NWAYACD_EVENT_BINDINGS in nwayacd_commands.h, generated from Go, names
 * it explicitly).  f[i] points inside this same block at a NUL-terminated
 * copy of field i ("" when absent) of length len[i]. */
typedef struct nwayacd_event {
	int kind;
	uint32_t len[NWAYACD_EF_COUNT];
	const char *f[NWAYACD_EF_COUNT];
} nwayacd_event_t;

/* ------------------------------------------------------------------------ */
/* Entry points of the c-archive (Go exports, and one C function).           */
/* cgo's generated prototypes differ in constness, so the Go side includes    */
/* this header with NWAYACD_NO_PROTOTYPES defined.                           */
#ifndef NWAYACD_NO_PROTOTYPES

/* Starts (or, after nwayacd_stop, restarts) the Go side.  host is copied.
 * kv holds nkv*2 borrowed strings: key0, value0, ...  (the <settings> params
 * of nwayacd.conf.xml plus fs-log-dir, fs-db-dir, fs-conf-dir, fs-recordings-dir).
 * Returns 0 on success; -1 with a NUL-terminated reason in err (errlen bytes). */
int nwayacd_start(const nwayacd_host_t *host, const char *const *kv, int nkv, char *err, size_t errlen);

/* Stops the Go side: REST closed, publishers drained, spool flushed, event
 * queue emptied.  Blocks until done (bounded by Go-side timeouts).  Host
 * callbacks are not used after it returns.  Safe to call when not started. */
void nwayacd_stop(void);

/* Runs console/API command `name` (e.g. "nway_add_ext") with `args` (the text
 * after the command name, may be NULL).  Returns the complete reply
 * ("+OK ...", "-ERR ...", or a listing), malloc()'d, never NULL unless out of
 * memory; the caller free()s it. */
char *nwayacd_api(const char *name, const char *args);

/* Applies a re-read configuration (same kv layout as nwayacd_start); used by
 * `nwayacd reload`, which the shim intercepts to re-read the XML first.
 * Returns the reply text, malloc()'d ("+OK reloaded" / "-ERR ..."). */
char *nwayacd_reload(const char *const *kv, int nkv);

/* Names for fs_cli tab completion: list is "extensions" or "groups".
 * Returns them one per line (at most 1000), malloc()'d; the caller free()s
 * it.  "" when there are none or the module is stopped. */
char *nwayacd_names(const char *list);

/* Session protocol.  enter/next fill *out (caller-owned) and return 0; they
 * return -1 only when out is NULL.  A Go failure yields HANGUP with cause
 * NORMAL_TEMPORARY_FAILURE; a stopped module yields DONE. */
int nwayacd_enter(const nwayacd_call_t *call, nwayacd_directive_t *out);
int nwayacd_next(const char *uuid, nwayacd_directive_t *out);
/* Reports an OFFER's outcome (before bridging when answered). */
void nwayacd_offer_result(const nwayacd_offer_result_t *result);
/* The caller's channel was transferred out of the bridge (CF_TRANSFER: a
 * phone's blind transfer, uuid_transfer) to dest (its new destination
 * number, "" when unknown).  Called before nwayacd_bridge_ended, so that Go
 * keeps the call and its agent's books until the channel really ends. */
void nwayacd_transferring(const char *uuid, const char *dest);
/* The bridge that followed an answered OFFER has ended. */
void nwayacd_bridge_ended(const char *uuid);
/* The application returns, for any reason.  Always called exactly once per enter. */
void nwayacd_leave(const char *uuid);

/* A block of size bytes for nwayacd_channel_event, from the archive's pool
 * of fixed blocks (malloc'd when larger, or while the pool is empty); NULL
 * only when out of memory.  Pooled, because a block malloc'd on the event
 * thread and freed on Go's made glibc trim and fault the event thread's heap
 * back in, about 1 us per event.  Plain C (go/bridge/ring.c); lock-free. */
nwayacd_event_t *nwayacd_event_alloc(size_t size);

/* Hands one event to Go.  Takes ownership of ev, which nwayacd_event_alloc
 * or malloc made (it is released later, after one Go goroutine has copied it
 * out).  Plain C inside the archive
 * (go/bridge/ring.c), not a Go export: it pushes ev onto a bounded lock-free
 * ring (16384 events) and never enters the Go runtime, never blocks, and is
 * safe from several threads at once.  When the Go reader sleeps (the ring was
 * empty), the push wakes it with one eventfd write; Go never polls.  When the
 * ring is full or Go is stopped, ev is released at once and counted as dropped. */
void nwayacd_channel_event(nwayacd_event_t *ev);

#endif /* NWAYACD_NO_PROTOTYPES */

#ifdef __cplusplus
}
#endif

#endif /* NWAYACD_H */
