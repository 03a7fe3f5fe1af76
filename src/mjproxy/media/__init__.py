"""Images the user owns: download a task's result, split the grid, thumbnail, store, and expire."""
