"""Running the job: the registry of steps (`registry`), the runner that reuses what is up to date
and runs steps side by side (`runner`, `worker`), the harness every script runs in (`harness`), and
the result files (`results`). Library modules never import from here."""
