// HTTP server implementation in progress.
