// Purpose: last step of a wipe: delete the :Dataset provenance nodes once everything else is gone.
// Params: none
// Example:
//   (no parameters)
MATCH (d:Dataset)
DETACH DELETE d
RETURN count(*) AS deleted
