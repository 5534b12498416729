#define _GNU_SOURCE
#include <pthread.h>
#include "mhd_shims.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
    if (c->connection_handler != NULL)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)c->connection_handler, c->connection_context};
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

    return MHD_start_daemon(flags, c->port, c->accept_policy, c->accept_policy_context, c->access_handler, c->access_context,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

uint16_t icmm_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

unsigned int icmm_mhd_current_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
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
    unsigned long parameters = 0;
    int in_query = 0;
    for (const char *p = uri; *p != '\0'; p++) {
        if (*p == '?' && !in_query) {
            in_query = 1;
            parameters = 1;
        } else if (in_query && *p == '&') {
            parameters++;
        } else if (!in_query && p[0] == '%' && p[1] == '0' && p[2] == '0') {
            return (void *)(uintptr_t)ICMM_URI_NUL;
        }
    }
    if (max_parameters > 0 && parameters > max_parameters) {
        /* libmicrohttpd 0.9.75 parses the query right after this callback into the connection's
         * memory pool; hundreds of parameters exhaust it, and then it can send no answer at all
         * (the client waits for the timeout). Emptying the query string here, in the request-line
         * buffer this pointer points into (libmicrohttpd's, owned by this connection and this
         * thread), leaves nothing to parse; the access handler then answers 414. */
        char *query = strchr((char *)uri, '?');
        if (query != NULL && query[1] != '\0') query[1] = '\0';
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
