// Purpose: create the :Genre nodes (idempotent).
// Params:
//   $names  LIST<STRING>  genre names
// Example:
//   :param names => ['Action', 'Comedy']
UNWIND $names AS name
MERGE (:Genre {name: name})
