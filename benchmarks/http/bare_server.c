/* The reference for the HTTP benchmark: a bare libmicrohttpd server that answers GET /healthz
 * with the same body, the same daemon flags and the same thread pool as `icmm serve`.
 * Build: cc -O2 -o bare_server bare_server.c $(pkg-config --cflags --libs libmicrohttpd) */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] = "{\"status\":\"ok\"}";

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls) {
    (void)cls; (void)version; (void)upload_data; (void)method;
    if (*req_cls == NULL) { *req_cls = (void *)1; return MHD_YES; }
    *upload_data_size = 0;
    int found = strcmp(url, "/healthz") == 0;
    struct MHD_Response *response = MHD_create_response_from_buffer(
        found ? strlen(BODY) : 0, (void *)(found ? BODY : ""), MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    MHD_add_response_header(response, "X-Request-Id", "bare-1");
    enum MHD_Result result = MHD_queue_response(connection, found ? 200 : 404, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv) {
    unsigned short port = argc > 1 ? (unsigned short)atoi(argv[1]) : 8090;
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : 2;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *daemon = threads > 1
        ? MHD_start_daemon(flags, port, NULL, NULL, handle, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
                           MHD_OPTION_CONNECTION_LIMIT, 1024, MHD_OPTION_CONNECTION_TIMEOUT, 30,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024, MHD_OPTION_END)
        : MHD_start_daemon(flags, port, NULL, NULL, handle, NULL, MHD_OPTION_CONNECTION_LIMIT, 1024,
                           MHD_OPTION_CONNECTION_TIMEOUT, 30, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                           MHD_OPTION_END);
    if (daemon == NULL) { fprintf(stderr, "cannot start on port %u\n", port); return 1; }
    sigset_t set; int sig;
    sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigwait(&set, &sig);
    MHD_stop_daemon(daemon);
    return 0;
}
