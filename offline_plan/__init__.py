"""The offline plan: what `pulumi up` would do for a stack, with no CLI, cloud or credentials.

Not infrastructure: tooling that runs the real program under Pulumi's mock runtime.

    __main__.py          the command line (`python -m offline_plan <stack>`), exit statuses
    runtime.py           the runner: the program under Pulumi's mocks, its registrations as a PlanResult
    fakes/               what each provider answers (one module per provider), and the Mocks that dispatch to them
    monitor.py           the recording monitor: each registration under the engine's URN, secrets redacted
    stack_config.py      a stack file's config as the engine hands it to the program
    redaction.py, wire.py  secrets and unknowns as they leave the process; Pulumi's wire-format sentinels
    report.py            renderings of one plan: tree, JSON, manifests
    diffing.py           keyed structural diff of two values (names, not positions; secret digests)
    changes.py           create / update / replace / delete between two plans, protected-data hits
    replace_table.py     which properties force a replacement, generated from the pinned providers
    render.py            the diff as a terminal report and as one pull-request comment
    policy_check.py      the platform's policies (`policy/rules.py`) on a plan
    config_reference.py  the README's config reference, generated from the config models
"""
