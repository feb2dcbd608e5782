"""Contract versioning: structural diff and bump policy (policy.py, semver.py), set comparison
(compare.py). Its rules (PV47x) live in pv/rules/versioning_diff.py."""

from pv.diff.policy import Bump, Change, Verdict, Version, actual_bump, diff_contracts, judge, required_bump

__all__ = ["Bump", "Change", "Verdict", "Version", "actual_bump", "diff_contracts", "judge", "required_bump"]
