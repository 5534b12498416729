/* The reference for the HTTP benchmark: a bare libmicrohttpd server that answers GET /healthz
 * with the same body, the same daemon flags and the same thread pool as `icmm serve`.
 * With a certificate and key (PEM files) it serves HTTPS with the same priority string as `icmm serve --tls-cert`.
 * Build: cc -O2 -o bare_server bare_server.c $(pkg-config --cflags --libs libmicrohttpd)
 * Usage: bare_server PORT THREADS [CERT.pem KEY.pem] */
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

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) { perror(path); exit(1); }
    static char buffers[2][65536];
    static int next = 0;
    char *buffer = buffers[next++];
    size_t n = fread(buffer, 1, sizeof(buffers[0]) - 1, f);
    buffer[n] = '\0';
    fclose(f);
    return buffer;
}

int main(int argc, char **argv) {
    unsigned short port = argc > 1 ? (unsigned short)atoi(argv[1]) : 8090;
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : 2;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem options[8];
    int n = 0;
    if (threads > 1) options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 1024 + 16 * threads, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL};
    if (argc > 4) {
        flags |= MHD_USE_TLS;
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, read_file(argv[3])};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, read_file(argv[4])};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
            "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
            "-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"};
    }
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *daemon = MHD_start_daemon(flags, port, NULL, NULL, handle, NULL, MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (daemon == NULL) { fprintf(stderr, "cannot start on port %u\n", port); return 1; }
    sigset_t set; int sig;
    sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigwait(&set, &sig);
    MHD_stop_daemon(daemon);
    return 0;
}
