"""One widget per file; panels only render what the controller emits."""
