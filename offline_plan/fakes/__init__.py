"""Provider fakes: what each provider would answer, deterministic per resource name.

mocks.py          PlanMocks: Pulumi's Mocks, dispatching each resource and data source to its fake
answers.py        what a fake is: (context, name, inputs) -> (id, outputs)
deterministic.py  digests, UUIDs and passwords derived from names
digitalocean.py, aws.py, kubernetes.py, docker.py, command.py, tls.py, random.py   one per provider
"""
