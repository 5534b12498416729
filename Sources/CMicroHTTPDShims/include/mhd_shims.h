#ifndef CMICROHTTPD_SHIMS_H
#define CMICROHTTPD_SHIMS_H
#include <microhttpd.h>
#include <stdint.h>

/// Options for icmm_mhd_start, passed as a struct because MHD_start_daemon is variadic
/// and Swift cannot call variadic C functions.
typedef struct icmm_mhd_config {
    unsigned int flags;              /* MHD_USE_* flags */
    const char *bind_address;        /* IPv4 dotted quad, NULL for any */
    uint16_t port;
    unsigned int thread_pool_size;   /* 0 or 1: no pool option */
    unsigned int connection_limit;
    unsigned int connection_timeout; /* seconds */
    size_t connection_memory_limit;  /* bytes */
    MHD_AccessHandlerCallback access_handler;
    void *access_context;
    MHD_RequestCompletedCallback completed_handler;
    void *completed_context;
    MHD_NotifyConnectionCallback connection_handler;
    void *connection_context;
    unsigned int per_ip_connection_limit; /* 0: none */
    int check_uri;                   /* 1: run icmm_mhd_check_uri on every request line */
    unsigned int max_query_parameters;
    const char *tls_cert_pem;        /* NULL: plain HTTP; else MHD_USE_TLS with these */
    const char *tls_key_pem;
    const char *tls_priorities;
    MHD_AcceptPolicyCallback accept_policy;
    void *accept_policy_context;
    unsigned int header_deadline_seconds;    /* 0: none; else a connection's first request headers must be in by then */
    unsigned int keepalive_deadline_seconds; /* the same for each later request of a kept-alive connection */
    void **deadlines_out;                    /* receives the deadline state, for icmm_mhd_deadlines_stop */
} icmm_mhd_config;

/// What icmm_mhd_check_uri found in a raw request target, left in the request's context pointer
/// (libmicrohttpd stores the URI log callback's result there before the first access call).
/// A real per-request pointer is an aligned object address, never one of these small values.
enum {
    ICMM_URI_NUL = 1,              /* a percent-encoded NUL (%00): the decoded path would be cut short */
    ICMM_URI_TOO_MANY_PARAMETERS = 2,
};

/// Checks a raw request target before libmicrohttpd decodes it. Returns NULL when it is fine.
/// Used as MHD_OPTION_URI_LOG_CALLBACK (cls: the icmm_mhd_config's max_query_parameters).
void *icmm_mhd_check_uri(void *cls, const char *uri, struct MHD_Connection *connection);

/// Whether this libmicrohttpd was built with HTTPS. The corresponding C function is MHD_is_feature_supported.
int icmm_mhd_supports_tls(void);

/// Starts a daemon from the config. Returns NULL on failure (port in use, bad address...).
/// The corresponding C function is MHD_start_daemon, called with MHD_OPTION_ARRAY.
struct MHD_Daemon *icmm_mhd_start(const icmm_mhd_config *config);

/// The port the daemon listens on (useful with port 0), or 0 when unknown.
uint16_t icmm_mhd_bound_port(struct MHD_Daemon *daemon);

/// The number of open connections. The corresponding C function is MHD_get_daemon_info.
unsigned int icmm_mhd_current_connections(struct MHD_Daemon *daemon);

/* 1 when the client of this connection has closed it, half-closed it or reset it (a poll that
   does not wait), else 0. For a stop's drain: a suspended connection is not watched by
   libmicrohttpd, so a request whose client left would otherwise be waited for. */
int icmm_mhd_peer_gone(struct MHD_Connection *connection);

/// Writes the client's IP address as text into buffer; returns 0 on success.
/// The corresponding C function is MHD_get_connection_info.
int icmm_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t length);

/// A pointer kept per thread, for the server's per-event-loop state: C's thread-local storage is a
/// few instructions, where pthread_getspecific is a call through the dynamic TLS machinery.
void *icmm_thread_context_get(void);
void icmm_thread_context_set(void *context);

/// Stops the header-deadline reaper of a daemon (after MHD_stop_daemon) and frees its state.
void icmm_mhd_deadlines_stop(void *deadlines);

/// The request's headers are in: its connection is no longer subject to the header deadline.
void icmm_mhd_headers_complete(struct MHD_Connection *connection);

/// A request completed: the connection waits for the next request's headers, under the keep-alive deadline.
void icmm_mhd_request_finished(struct MHD_Connection *connection, void *deadlines);

/// Calls iterator with every header field and every query parameter of the request, in one pass
/// over libmicrohttpd's list (each kind in its order); returns how many were passed.
/// The corresponding C function is MHD_get_connection_values with both kinds (a bit mask, which
/// Swift's import of enum MHD_ValueKind cannot express).
int icmm_mhd_get_headers_and_query(struct MHD_Connection *connection, MHD_KeyValueIterator iterator, void *iterator_cls);

/// Names the calling thread (at most 15 bytes are kept), for ps and /proc. pthread_setname_np
/// needs _GNU_SOURCE, which Swift's Glibc module does not define.
void icmm_set_thread_name(const char *name);

/// Asks the processor to fetch the cache line at `address` for a write, without waiting for it: the
/// access log's ring fetches the lines its next line goes to while the next request is served, so
/// that writing the line does not wait for memory.
static inline void icmm_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
