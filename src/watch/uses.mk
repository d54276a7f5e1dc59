USES_watch := discover
