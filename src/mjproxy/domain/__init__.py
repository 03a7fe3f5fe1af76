"""Pure domain model: tasks, statuses, the state machine, ids, button codec, prompt rules. No I/O."""
