// Purpose: second step of a wipe: delete every node but the :Dataset provenance nodes, $batch per
//   inner transaction (their relationships are already gone; DETACH only for stragglers).
//   The :Dataset nodes go last (load/dataset_delete), so an interrupted wipe stays visible.
// Params:
//   $batch  INTEGER  nodes per inner transaction
// Example:
//   :param batch => 10000
MATCH (n)
WHERE NOT n:Dataset
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS deleted
