// HTTP server over libmicrohttpd
