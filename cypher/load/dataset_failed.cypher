// Purpose: a load stopped: mark its :Dataset 'failed' with the reason (never left 'loading'); its checkpoints stay, so a re-run resumes.
// Params:
//   $name    STRING  dataset name
//   $reason  STRING  one line: the exception and its message
// Example:
//   :param {name: 'ml-latest-small', reason: 'LoadVerificationError: counts differ after load'}
MATCH (d:Dataset {name: $name})
WHERE d.status <> 'complete'
SET d.status = 'failed', d.failure = $reason, d.failedAt = datetime()
RETURN d.name AS name
