USES_status := store
