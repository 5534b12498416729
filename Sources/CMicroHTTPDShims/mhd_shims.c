#define _GNU_SOURCE
#include <pthread.h>
#include "mhd_shims.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <poll.h>

void icmm_set_thread_name(const char *name);

/* ---- Header deadline -------------------------------------------------------------------------
 * libmicrohttpd's connection timeout is an idle timeout: a client that sends one byte a second
 * never reaches it. Each connection is registered here when it opens (NOTIFY_CONNECTION STARTED)
 * and removed when it closes (CLOSED, which libmicrohttpd calls before it closes the socket). A
 * reaper thread shuts down, under the same lock, the socket of any connection still waiting for
 * its request headers past the deadline; libmicrohttpd then sees the socket closed and releases
 * the connection on its own thread. The event loops only store two atomics per request. */

struct icmm_deadline_entry {
    int fd;
    int waiting;         /* 1 while waiting for a request's headers (atomic) */
    long long due;       /* CLOCK_MONOTONIC seconds when the wait ends (atomic) */
    int shut;
    struct icmm_deadline_entry *prev, *next;
};

struct icmm_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct icmm_deadline_entry *head;
    unsigned int seconds;          /* for the first request of a connection */
    unsigned int keepalive_seconds; /* for the next request on a kept-alive connection */
    int stopping;
    pthread_t reaper;
};

/* The coarse clock: whole seconds are all a deadline needs, and it is read from the last tick
 * without the time-stamp counter (called on every request). Same clock as CLOCK_MONOTONIC, at
 * most one tick behind, for both the event loops and the reaper. */
static long long icmm_now_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (long long)now.tv_sec;
}

static void icmm_notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code) {
    struct icmm_deadlines *d = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info == NULL) return;
        struct icmm_deadline_entry *e = calloc(1, sizeof(*e));
        if (e == NULL) return;
        e->fd = info->connect_fd;
        e->waiting = 1;
        e->due = icmm_now_seconds() + d->seconds;
        pthread_mutex_lock(&d->lock);
        e->next = d->head;
        if (d->head != NULL) d->head->prev = e;
        d->head = e;
        pthread_mutex_unlock(&d->lock);
        *socket_context = e;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct icmm_deadline_entry *e = *socket_context;
        if (e == NULL) return;
        pthread_mutex_lock(&d->lock);
        if (e->prev != NULL) e->prev->next = e->next; else d->head = e->next;
        if (e->next != NULL) e->next->prev = e->prev;
        pthread_mutex_unlock(&d->lock);
        free(e);
        *socket_context = NULL;
    }
}

static void *icmm_reaper(void *arg) {
    struct icmm_deadlines *d = arg;
    icmm_set_thread_name("icmm-deadlines");
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        if (d->stopping) break;
        long long now = icmm_now_seconds();
        for (struct icmm_deadline_entry *e = d->head; e != NULL; e = e->next) {
            if (!e->shut && __atomic_load_n(&e->waiting, __ATOMIC_ACQUIRE) && now >= __atomic_load_n(&e->due, __ATOMIC_ACQUIRE)) {
                shutdown(e->fd, SHUT_RDWR);
                e->shut = 1;
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static struct icmm_deadlines *icmm_deadlines_start(unsigned int seconds, unsigned int keepalive_seconds) {
    struct icmm_deadlines *d = calloc(1, sizeof(*d));
    if (d == NULL) return NULL;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->seconds = seconds;
    d->keepalive_seconds = keepalive_seconds;
    if (pthread_create(&d->reaper, NULL, icmm_reaper, d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

void icmm_mhd_deadlines_stop(void *deadlines) {
    struct icmm_deadlines *d = deadlines;
    if (d == NULL) return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->reaper, NULL);
    /* The daemon stopped first: every connection was closed and removed. */
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}

static struct icmm_deadline_entry *icmm_entry(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : (struct icmm_deadline_entry *)info->socket_context;
}

void icmm_mhd_headers_complete(struct MHD_Connection *connection) {
    struct icmm_deadline_entry *e = icmm_entry(connection);
    if (e != NULL) __atomic_store_n(&e->waiting, 0, __ATOMIC_RELEASE);
}

void icmm_mhd_request_finished(struct MHD_Connection *connection, void *deadlines) {
    struct icmm_deadlines *d = deadlines;
    struct icmm_deadline_entry *e = icmm_entry(connection);
    if (e == NULL || d == NULL) return;
    __atomic_store_n(&e->due, icmm_now_seconds() + d->keepalive_seconds, __ATOMIC_RELEASE);
    __atomic_store_n(&e->waiting, 1, __ATOMIC_RELEASE);
}

struct MHD_Daemon *icmm_mhd_start(const icmm_mhd_config *c) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(c->port);
    if (c->bind_address == NULL || c->bind_address[0] == '\0') {
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, c->bind_address, &addr.sin_addr) != 1) {
        return NULL;
    }

    struct MHD_OptionItem options[20];
    int n = 0;
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    if (c->thread_pool_size > 1)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, c->thread_pool_size, NULL};
    if (c->connection_limit > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, c->connection_limit, NULL};
    if (c->connection_timeout > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout, NULL};
    if (c->connection_memory_limit > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)c->connection_memory_limit, NULL};
    if (c->completed_handler != NULL)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)c->completed_handler, c->completed_context};
    struct icmm_deadlines *deadlines = NULL;
    if (c->connection_handler != NULL) {
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)c->connection_handler, c->connection_context};
    } else if (c->header_deadline_seconds > 0) {
        deadlines = icmm_deadlines_start(c->header_deadline_seconds,
                                         c->keepalive_deadline_seconds > 0 ? c->keepalive_deadline_seconds : c->header_deadline_seconds);
        if (deadlines == NULL) return NULL;
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)icmm_notify_connection, deadlines};
    }
    if (c->per_ip_connection_limit > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_connection_limit, NULL};
    if (c->check_uri)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)icmm_mhd_check_uri,
                                               (void *)(uintptr_t)c->max_query_parameters};
    unsigned int flags = c->flags;
    if (c->tls_cert_pem != NULL && c->tls_key_pem != NULL) {
        flags |= MHD_USE_TLS;
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)c->tls_cert_pem};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)c->tls_key_pem};
        if (c->tls_priorities != NULL)
            options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)c->tls_priorities};
    }
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    struct MHD_Daemon *daemon = MHD_start_daemon(flags, c->port, c->accept_policy, c->accept_policy_context, c->access_handler,
                                                 c->access_context, MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (daemon == NULL) {
        icmm_mhd_deadlines_stop(deadlines);
    } else if (c->deadlines_out != NULL) {
        *c->deadlines_out = deadlines;
    } else {
        /* Nobody to stop it later: cannot happen from HTTPServer, which always asks. */
    }
    return daemon;
}

uint16_t icmm_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

unsigned int icmm_mhd_current_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

int icmm_mhd_peer_gone(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL) return 0;
    struct pollfd p = {.fd = info->connect_fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) != 1) return 0;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

int icmm_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t length) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL || length == 0) return -1;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buffer, (socklen_t)length) ? 0 : -1;
    }
    if (sa->sa_family == AF_INET6) {
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buffer, (socklen_t)length) ? 0 : -1;
    }
    return -1;
}

static __thread void *icmm_thread_context;

void *icmm_thread_context_get(void) { return icmm_thread_context; }

void icmm_thread_context_set(void *context) { icmm_thread_context = context; }

void *icmm_mhd_check_uri(void *cls, const char *uri, struct MHD_Connection *connection) {
    (void)connection;
    if (uri == NULL) return NULL;
    unsigned long max_parameters = (unsigned long)(uintptr_t)cls;
    /* glibc's vectorized searches rather than a loop over every byte (this runs per request). */
    const char *query = strchr(uri, '?');
    size_t path_length = query != NULL ? (size_t)(query - uri) : strlen(uri);
    for (const char *p = memchr(uri, '%', path_length); p != NULL;
         p = memchr(p + 1, '%', path_length - (size_t)(p + 1 - uri))) {
        if (p[1] == '0' && p[2] == '0') return (void *)(uintptr_t)ICMM_URI_NUL;
    }
    unsigned long parameters = 0;
    if (query != NULL) {
        parameters = 1;
        for (const char *p = strchr(query + 1, '&'); p != NULL; p = strchr(p + 1, '&')) parameters++;
    }
    if (max_parameters > 0 && parameters > max_parameters) {
        /* libmicrohttpd 0.9.75 parses the query right after this callback into the connection's
         * memory pool; hundreds of parameters exhaust it, and then it can send no answer at all
         * (the client waits for the timeout). Emptying the query string here, in the request-line
         * buffer this pointer points into (libmicrohttpd's, owned by this connection and this
         * thread), leaves nothing to parse; the access handler then answers 414. */
        if (query[1] != '\0') ((char *)query)[1] = '\0';  /* parameters > 0: there is a '?' */
        return (void *)(uintptr_t)ICMM_URI_TOO_MANY_PARAMETERS;
    }
    return NULL;
}

int icmm_mhd_supports_tls(void) { return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES; }

void icmm_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = '\0';
    pthread_setname_np(pthread_self(), truncated);
}

int icmm_mhd_get_headers_and_query(struct MHD_Connection *connection, MHD_KeyValueIterator iterator, void *iterator_cls) {
    return MHD_get_connection_values(connection, (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND), iterator, iterator_cls);
}
