"""What every AWS implementation shares: IAM policy documents, rendered one way.

Every document names specific actions and resources (`*` only where AWS requires it); the tests
run parliament over each one found in the plans.
"""

SNAPSHOT_TAG = "meteor-platform/snapshots"
"""The tag (value: the stack) that puts an EBS volume under the stack's scheduled snapshots (components/aws/snapshots.py)."""
