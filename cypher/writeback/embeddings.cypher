// Purpose: write one batch of vectors (users or movies) into an embedding slot property (not read until the run is switched).
//   Nodes are addressed by internal id (admin/node_ids, read by the same write-back).
// Params:
//   $property  STRING               slot property, 'embedding' or 'embeddingB'
//   $ids       LIST<INTEGER>        internal node ids
//   $vectors   LIST<LIST<FLOAT>>    one vector per id, same order
// Example:
//   :param {property: 'embedding', ids: [0], vectors: [[0.1, -0.2, 0.3]]}
UNWIND range(0, size($ids) - 1) AS i
MATCH (n) WHERE id(n) = $ids[i]
SET n[$property] = $vectors[i]
RETURN count(n) AS written
