// Purpose: block until every index (constraints' backing indexes, vector indexes) is ONLINE.
// Params:
//   $timeoutSeconds  INTEGER  how long to wait
// Example:
//   :param timeoutSeconds => 300
CALL db.awaitIndexes($timeoutSeconds)
