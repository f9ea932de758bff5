// Purpose: first step of a wipe: delete every relationship, $batch per inner transaction, so no
//   transaction holds more than $batch deletions however many relationships a node carries.
//   Resumable: each inner transaction commits, a re-run deletes what is left. Needs an
//   auto-commit transaction (Runner.autocommit).
// Params:
//   $batch  INTEGER  relationships per inner transaction
// Example:
//   :param batch => 10000
MATCH ()-[r]->()
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS deleted
