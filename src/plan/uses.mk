USES_plan := summarize embed store
