"""Starting and stopping the bot: one start-up (``startup``) for both transports, the HTTP
server (``http``, uvicorn) and Socket Mode (``socket``)."""
